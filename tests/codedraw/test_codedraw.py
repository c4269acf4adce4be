"""Vision Check-up (`tinkerlab.codedraw`): sandboxed rendering, the turtle shim, the feedback loop and recognition
with scripted replies, metrics, datasets, SSL on tiny data, and the CLI's errors."""

from __future__ import annotations

import json
import math
import turtle as stdlib_turtle

import numpy as np
import pytest
from PIL import Image

from tinkerlab.codedraw import concepts, draw, metrics, render, runs, ssl, turtle_shim
from tinkerlab.core.errors import InputError
from tinkerlab.llm import ScriptedChatModel

GOOD = {
    "matplotlib": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
        "ax.add_patch(plt.Circle((0.5, 0.5), 0.3, color='red'))\nax.set_aspect('equal')\nplt.show()\n"
    ),
    "svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect x="20" y="20" width="60" '
    'height="40" fill="blue"/></svg>',
    "turtle": "import turtle\nt = turtle.Turtle()\nfor _ in range(4):\n    t.forward(150)\n    t.left(90)\n",
}
FAILING = {
    "matplotlib": "import matplotlib.pyplot as plt\nplt.plot(1 / 0)\n",
    "svg": '<svg xmlns="http://www.w3.org/2000/svg"><use href="#missing"/><rect width="-5" height="x"/></svg>',
    "turtle": "import turtle\nturtle.forward(undefined_name)\n",
}
ENDLESS = {
    "matplotlib": "import matplotlib.pyplot as plt\nwhile True:\n    pass\n",
    "turtle": "import turtle\nwhile True:\n    turtle.left(1)\n",
}
BLANK = {
    "matplotlib": "import matplotlib.pyplot as plt\nfig = plt.figure()\n",
    "svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"></svg>',
    "turtle": "import turtle\nturtle.penup()\nturtle.forward(100)\n",
}


@pytest.fixture(scope="module")
def renderer():
    with render.Renderer(timeout_s=4.0) as warm:
        yield warm


@pytest.mark.parametrize("language", ["matplotlib", "svg", "turtle"])
def test_good_programs_render_to_a_fixed_size(renderer, language):
    result = renderer.render(GOOD[language], language)
    assert result.status == "ok", result.error
    assert result.image.size == (render.SIZE, render.SIZE)
    pixels = np.asarray(result.image)
    assert (np.abs(pixels.astype(int) - 255).max(axis=2) > 60).mean() > 0.005


def test_rendered_colours_are_the_programs(renderer):
    red = np.asarray(renderer.render(GOOD["matplotlib"], "matplotlib").image).reshape(-1, 3)
    assert ((red[:, 0] > 200) & (red[:, 1] < 60)).mean() > 0.05
    blue = np.asarray(renderer.render(GOOD["svg"], "svg").image).reshape(-1, 3)
    assert ((blue[:, 2] > 200) & (blue[:, 0] < 60)).mean() > 0.1


@pytest.mark.parametrize("language", ["matplotlib", "turtle"])
def test_failing_python_programs_keep_the_traceback(renderer, language):
    result = renderer.render(FAILING[language], language)
    assert result.status == "error"
    assert "<program>" in result.error and ("ZeroDivisionError" in result.error or "NameError" in result.error)


def test_a_failing_svg_is_an_error_not_a_crash(renderer):
    result = renderer.render(FAILING["svg"], "svg")
    assert result.status in ("error", "blank")


@pytest.mark.parametrize("language", ["matplotlib", "turtle"])
def test_endless_programs_are_killed_and_recorded(language):
    with render.Renderer(timeout_s=1.5) as quick:
        result = quick.render(ENDLESS[language], language)
        assert result.status == "timeout"
        assert quick.render(GOOD[language], language).status == "ok"  # the worker came back


@pytest.mark.parametrize("language", ["matplotlib", "svg", "turtle"])
def test_blank_programs_are_blank(renderer, language):
    assert renderer.render(BLANK[language], language).status == "blank"


def test_refusals_before_running():
    assert render.precheck(None, "svg").status == "no-code"
    assert render.precheck("import matplotlib.pyplot as plt\nplt.plot([1", "matplotlib").status == "syntax"
    assert render.precheck("<svg><rect></svg>", "svg").status == "syntax"
    wrong = render.precheck(GOOD["svg"], "matplotlib")
    assert wrong.status == "wrong-language" and "svg" in wrong.error
    assert render.precheck(GOOD["turtle"], "matplotlib").status == "wrong-language"


def test_an_unknown_language_lists_the_supported_ones():
    with pytest.raises(InputError, match="matplotlib, svg, turtle, tikz"):
        render.check_language("processing")


def test_a_fresh_process_per_program_gives_the_same_picture(renderer):
    with render.Renderer(fresh=True) as fresh:
        once = fresh.render(GOOD["svg"], "svg")
    assert once.status == "ok"
    assert np.array_equal(np.asarray(once.image), np.asarray(renderer.render(GOOD["svg"], "svg").image))


@pytest.mark.skipif(render.tikz_engine() is None, reason="pdflatex/tectonic and pdftoppm are not installed")
def test_tikz_renders_when_latex_is_installed():
    with render.Renderer(timeout_s=60) as tikz:
        assert tikz.render("\\begin{tikzpicture}\\draw (0,0) circle (1);\\end{tikzpicture}", "tikz").ok


def test_tikz_without_latex_says_what_to_install(monkeypatch):
    monkeypatch.setattr(render, "tikz_engine", lambda: None)
    with render.Renderer() as renderer, pytest.raises(InputError, match="pdflatex"):
        renderer.render("\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}", "tikz")


def test_extracting_programs_from_replies():
    reply = "Here you go:\n```python\nimport turtle\nturtle.forward(10)\n```\nEnjoy!"
    assert render.extract_program(reply, "turtle") == "import turtle\nturtle.forward(10)"
    assert render.extract_program("no code here, sorry", "matplotlib") is None
    svg = render.extract_program('Sure! <svg viewBox="0 0 1 1"><circle r="1"/></svg> done', "svg")
    assert svg.startswith("<svg") and svg.endswith("</svg>")


# --- the turtle shim -------------------------------------------------------------------------------------------


def _same_path(commands):
    """Run the commands on the standard module's headless navigator and on the shim; compare positions."""
    reference = stdlib_turtle.TNavigator()
    turtle_shim.reset()
    shim = turtle_shim.Turtle()
    for name, args in commands:
        getattr(reference, name)(*args)
        getattr(shim, name)(*args)
        assert math.isclose(reference.xcor(), shim.xcor(), abs_tol=1e-9), name
        assert math.isclose(reference.ycor(), shim.ycor(), abs_tol=1e-9), name
        assert math.isclose(reference.heading() % 360, shim.heading() % 360, abs_tol=1e-9), name


def test_turtle_shim_moves_like_the_standard_module():
    _same_path([("forward", (100,)), ("left", (90,)), ("forward", (50,)), ("right", (30,)), ("backward", (20,))])
    _same_path([("goto", (30, -40)), ("setheading", (135,)), ("forward", (10,)), ("home", ())])
    _same_path([("circle", (50,)), ("circle", (-30, 90)), ("circle", (40, 200, 7)), ("left", (10,))])
    _same_path([("circle", (80, -120)), ("setx", (5,)), ("sety", (-7,))])


def test_turtle_shim_draws_a_known_square_and_fill():
    turtle_shim.reset()
    t = turtle_shim.Turtle()
    t.color("red", "yellow")
    t.begin_fill()
    for _ in range(4):
        t.forward(100)
        t.left(90)
    t.end_fill()
    elements = turtle_shim.drawing_elements()
    kinds = [e[0] for e in elements]
    assert kinds == ["fill", "line"]
    line = elements[1][1]
    assert [tuple(round(c, 9) for c in p) for p in line] == [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]
    assert elements[0][2] == "#ffff00" and elements[1][2] == "#ff0000"
    svg = turtle_shim.to_svg(200)
    assert "<polygon" in svg and "<polyline" in svg


def test_turtle_module_functions_and_screen_calls_do_not_need_tk():
    turtle_shim.reset()
    screen = turtle_shim.Screen()
    screen.bgcolor("black")
    screen.setup(500, 500)
    turtle_shim.colormode(255)
    turtle_shim.pencolor(0, 128, 255)
    turtle_shim.forward(10)
    turtle_shim.dot(5)
    turtle_shim.write("hi")
    turtle_shim.done()
    kinds = [e[0] for e in turtle_shim.drawing_elements()]
    assert kinds == ["line", "dot", "text"]
    assert turtle_shim.drawing_elements()[0][2] == "#0080ff"
    assert 'fill="#000000"' in turtle_shim.to_svg()


# --- the loop and recognition with scripted replies -------------------------------------------------------------


def test_feedback_loop_keeps_every_round_and_never_shows_the_render(renderer):
    failing = "```python\nimport matplotlib.pyplot as plt\nplt.plot([1, 2]\n```"
    good = "```python\n" + GOOD["matplotlib"] + "```"
    model = ScriptedChatModel([failing, good, good])
    drawing = draw.draw("a red ball", "matplotlib", model, renderer, rounds=3)
    assert [r.status for r in drawing.rounds] == ["syntax", "ok", "ok"]
    assert "to draw a red ball" in drawing.rounds[0].prompt
    assert "Improve your drawing of a red ball" in drawing.rounds[1].prompt
    third = model.requests[2]
    assert all(not m.images for m in third)  # text-only: the render is never sent
    assert [m.role for m in third] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "plt.plot([1, 2]" in third[2].text  # the model sees its own earlier program


def test_errors_are_passed_back_only_when_asked(renderer):
    failing = "```python\nimport matplotlib.pyplot as plt\nplt.plot(1/0)\n```"
    model = ScriptedChatModel([failing, failing])
    drawing = draw.draw("x", "matplotlib", model, renderer, rounds=2, show_errors=True)
    assert "ZeroDivisionError" in drawing.rounds[1].prompt
    quiet = draw.draw("x", "matplotlib", ScriptedChatModel([failing, failing]), renderer, rounds=2)
    assert "failed" not in quiet.rounds[1].prompt


def test_image_feedback_attaches_the_render_and_needs_an_image_model(renderer):
    good = "```python\n" + GOOD["matplotlib"] + "```"
    with pytest.raises(InputError, match="takes images"):
        draw.draw("x", "matplotlib", ScriptedChatModel([good]), renderer, rounds=2, feedback="image")
    model = ScriptedChatModel([good, good], supports_images=True)
    draw.draw("x", "matplotlib", model, renderer, rounds=2, feedback="image")
    assert len(model.requests[1][-1].images) == 1


def test_skeleton_prompting_completes_the_given_lines(renderer):
    continuation = "Circle((5, 5), 3, color='green'))\nthis line is prose, not code\n"
    model = ScriptedChatModel([continuation])
    drawing = draw.draw("a green circle", "matplotlib", model, renderer, skeleton_prompt=True)
    assert model.requests[0][-1].role == "assistant"  # the skeleton is the prefill
    first = drawing.rounds[0]
    assert first.code.startswith("import matplotlib.pyplot as plt")
    assert "prose" not in first.code  # cut where the continuation stops parsing
    assert first.status == "ok", first.error


def test_skeleton_svg_keeps_the_well_formed_elements(renderer):
    continuation = 'circle cx="128" cy="128" r="60" fill="red"/>\n  <rect x="1" y="1" width="9" height="9"/>\nAnd then'
    model = ScriptedChatModel([continuation])
    drawing = draw.draw("a red circle", "svg", model, renderer, skeleton_prompt=True)
    code = drawing.rounds[0].code
    assert "And then" not in code and code.rstrip().endswith("</svg>") and "<rect" in code
    assert drawing.rounds[0].status == "ok", drawing.rounds[0].error


def test_skeleton_continuation_that_closes_the_block_keeps_the_code_before_it(renderer):
    reply = "forward(100)\nt.left(90)\nt.forward(100)\n```\n\nThis program draws a corner of a square."
    drawing = draw.draw("a corner", "turtle", ScriptedChatModel([reply]), renderer, skeleton_prompt=True)
    assert drawing.rounds[0].code.rstrip().endswith("t.forward(100)")
    assert drawing.rounds[0].status == "ok", drawing.rounds[0].error


def test_skeleton_with_nothing_usable_is_a_failure_not_a_crash(renderer):
    model = ScriptedChatModel(["I am sorry, I cannot draw."])
    drawing = draw.draw("a cat", "turtle", model, renderer, skeleton_prompt=True)
    assert drawing.rounds[0].status == "syntax"


def test_continuing_a_drawing_replays_its_rounds(renderer, tmp_path):
    good = "```python\n" + GOOD["matplotlib"] + "```"
    first = draw.draw("a ball", "matplotlib", ScriptedChatModel([good]), renderer)
    runs.save_drawing(first, tmp_path)
    again = draw.Drawing.from_record(json.loads((tmp_path / "drawing.json").read_text()), tmp_path)
    assert again.rounds[0].image is not None
    model = ScriptedChatModel([good])
    more = draw.draw("a ball", "matplotlib", model, renderer, rounds=1, previous=again)
    assert [r.round for r in more.rounds] == [0, 1]
    assert [m.role for m in model.requests[0]] == ["system", "user", "assistant", "user"]


def test_recognition_open_ended_and_multiple_choice():
    code = GOOD["svg"]
    assert draw.recognize(code, "svg", "rectangle", ScriptedChatModel(["A blue rectangle."])).correct
    assert not draw.recognize(code, "svg", "rectangle", ScriptedChatModel(["a circle"])).correct
    pool = ["cat", "dog", "house", "tree", "car"]
    model = ScriptedChatModel(["?"])
    probe = draw.recognize(code, "svg", "rectangle", model, distractors=pool, choices=4, source="s")
    options = probe.options
    assert len(options) == 4 and "rectangle" in options and probe.picked is None and not probe.correct
    letter = chr(65 + options.index("rectangle"))
    right = draw.recognize(
        code, "svg", "rectangle", ScriptedChatModel([f"{letter})"]), distractors=pool, choices=4, source="s"
    )
    assert right.correct and right.options == options  # the same seed and source give the same options
    with pytest.raises(InputError, match="choice among 9"):
        draw.recognize(code, "svg", "rectangle", ScriptedChatModel(["A"]), distractors=pool, choices=9)


def test_simplified_openclipart_code_still_draws(renderer):
    text = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
        'viewBox="0 0 10 10"><metadata>lots</metadata><sodipodi:namedview xmlns:sodipodi="http://x/s"/>'
        '<rect inkscape:label="r" x="1.23456" y="1" width="8" height="8" fill="#333"/></svg>'
    )
    simple = runs.simplify_svg(text)
    assert "metadata" not in simple and "inkscape" not in simple and 'x="1.2"' in simple
    assert renderer.render(simple, "svg").ok


def test_simplified_svg_renames_identifiers_that_would_name_the_drawing(renderer):
    text = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="AppleSkin">'
        '<stop offset="0" stop-color="red"/><stop offset="1" stop-color="green"/></linearGradient></defs>'
        '<circle id="apple_body" cx="5" cy="5" r="4" fill="url(#AppleSkin)"/></svg>'
    )
    simple = runs.simplify_svg(text)
    assert "apple" not in simple.lower() and 'fill="url(#i1)"' in simple and 'id="i2"' in simple
    pixels = np.asarray(renderer.render(simple, "svg").image).reshape(-1, 3)
    assert ((pixels[:, 0] > 150) & (pixels[:, 1] < 100)).any()  # the gradient still resolves


def test_openclipart_code_without_the_svg_namespace_keeps_its_shapes():
    simple = runs.simplify_svg('<svg width="10" height="10"><metadata>m</metadata><path d="M 1.25,1 L 9,9"/></svg>')
    assert "<path" in simple and "metadata" not in simple and "1.2," in simple
    assert runs.draws_vectors(simple)
    assert not runs.draws_vectors('<svg><image href="photo.png"/><rect/></svg>')  # a raster picture, not code


# --- metrics, concepts, datasets --------------------------------------------------------------------------------


class RednessRecognizer:
    """A transparent recogniser for tests: 'red' concepts score the share of red pixels, 'snow' the share of white
    ones, anything else 0.1."""

    name = "redness"

    def scores(self, images, concepts_):
        rows = []
        for image in images:
            pixels = np.asarray(image.convert("RGB"))
            red = float(((pixels[..., 0] > 200) & (pixels[..., 1] < 80)).mean())
            white = float((pixels.min(axis=2) > 230).mean())
            rows.append([red if "red" in c else white if c == "snow" else 0.1 for c in concepts_])
        return np.array(rows)


def test_fidelity_counts_failures_as_misses_and_diversity_is_measured():
    red = Image.new("RGB", (32, 32), (255, 0, 0))
    white = Image.new("RGB", (32, 32), (255, 255, 255))
    items = [
        metrics.Item("red ball", "objects", "svg", "ok", red),
        metrics.Item("red ball", "objects", "svg", "ok", red),
        metrics.Item("snow", "objects", "svg", "ok", white),
        metrics.Item("snow", "objects", "svg", "syntax", None),
    ]

    def features(images):
        return np.array([np.asarray(i, dtype=float).mean(axis=(0, 1)) for i in images])

    (cell,) = metrics.score_items(items, {"objects": ["red ball", "snow", "tree"]}, RednessRecognizer(), features)
    assert cell.count == 4 and cell.failure_rate == 0.25 and cell.statuses == {"ok": 3, "syntax": 1}
    assert cell.top1 == 0.75  # both red balls and the white snow are first; the failed one is last
    assert cell.mean_rank == pytest.approx((1 + 1 + 1 + 3) / 4)
    assert cell.diversity == pytest.approx(0.0, abs=1e-12)  # the two red balls are identical
    assert "| objects | svg | 4 | 0.25 |" in metrics.markdown_table([cell])


def test_concept_lists_and_their_errors(tmp_path):
    levels = concepts.load_levels()
    assert len(levels["shapes"]) >= 50 and len(levels["objects"]) >= 100 and len(levels["scenes"]) >= 50
    bad = tmp_path / "c.txt"
    bad.write_text("cat\ndog\n# fine\ncat\n")
    with pytest.raises(InputError, match="line 4"):
        concepts.load_concepts(bad)
    bad.write_text("cat\n" + "x" * 300 + "\n")
    with pytest.raises(InputError, match="line 2"):
        concepts.load_concepts(bad)
    with pytest.raises(InputError, match="expected a level"):
        concepts.resolve_concepts("animals")


def test_dataset_runs_resume_and_report(tmp_path):
    listing = tmp_path / "concepts.txt"
    listing.write_text("red square\nblue square\n")
    replies = tmp_path / "replies.json"
    red = (
        '```svg\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8">'
        '<rect width="4" height="4" fill="red"/></svg>\n```'
    )
    replies.write_text(json.dumps([red, "I cannot draw."]))
    config = runs.DatasetConfig(concepts=str(listing), languages=("svg",), model=f"scripted:{replies}")
    records, run = runs.dataset_run(config, tmp_path / "data", progress=False)
    assert [(r["concept"], r["status"]) for r in records] == [("red square", "ok"), ("blue square", "no-code")]
    again, _ = runs.dataset_run(config, tmp_path / "data", progress=False)  # nothing left to draw: no reply needed
    assert len(again) == 2
    scored = metrics.score_items(
        [metrics.Item(r["concept"], r["level"], r["language"], r["status"], runs.final_render(r)) for r in again],
        config.concept_lists,
        RednessRecognizer(),
    )
    assert scored[0].failure_rate == 0.5 and scored[0].top1 == 0.5


def test_report_writes_tables_chart_and_gallery(tmp_path, monkeypatch):
    import tinkerlab.vision.recognition as recognition
    from tinkerlab.codedraw.report import report

    listing = tmp_path / "concepts.txt"
    listing.write_text("red square\nblue square\n")
    replies = tmp_path / "replies.json"
    red = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="4" height="4" fill="red"/></svg>'
    replies.write_text(json.dumps([red, "no"]))
    config = runs.DatasetConfig(concepts=str(listing), languages=("svg",), model=f"scripted:{replies}")
    runs.dataset_run(config, tmp_path / "data", progress=False)
    monkeypatch.setattr(recognition, "load_recognizer", lambda spec: RednessRecognizer())
    result = report(tmp_path / "data", diversity=False)
    assert result["cells"][0]["failure rate"] == 0.5 and result["recognizer"] == "redness"
    for name in ("report.md", "report.json", "failures.png", "gallery.png"):
        assert (tmp_path / "data" / "outputs" / name).is_file()


def test_recognising_a_dataset_reports_the_position_baseline(tmp_path):
    listing = tmp_path / "concepts.txt"
    listing.write_text("red square\nblue square\n")
    square = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="4" height="4" fill="%s"/></svg>'
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([square % "red", square % "blue"]))
    config = runs.DatasetConfig(concepts=str(listing), languages=("svg",), model=f"scripted:{replies}")
    runs.dataset_run(config, tmp_path / "data", progress=False)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(["A", "A"]))
    recognition = runs.RecognizeConfig(source=str(tmp_path / "data"), model=f"scripted:{answers}", choices=2)
    summary, run = runs.recognize_run(recognition, tmp_path / "recog", progress=False)
    assert summary["count"] == 2 and summary["picked_positions"] == {"A": 2, "B": 0}
    assert summary["best_fixed_position_baseline"] >= 0.5
    assert summary["accuracy"] in (0.0, 0.5, 1.0)
    again, _ = runs.recognize_run(recognition, tmp_path / "recog", progress=False)  # all answered: no model call
    assert again == summary


def test_several_samples_need_a_temperature():
    with pytest.raises(InputError, match="temperature"):
        runs.DatasetConfig(concepts="shapes", samples=3)


# --- self-supervised learning ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["moco", "simclr"])
def test_ssl_training_step_on_tiny_data(method):
    images = ssl.procedural_images(16, size=16, seed=1)
    assert images.shape == (16, 16, 16, 3) and images.dtype == np.uint8
    config = ssl.SSLConfig(method=method, image_size=16, width=4, epochs=2, batch_size=8, queue=16, projection=8)
    encoder, losses = ssl.train_ssl(images, config, progress=False)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    features = ssl.encode(encoder, images, size=16)
    assert features.shape == (16, 32) and np.isfinite(features).all()


def test_augmentations_keep_shape_and_range():
    import torch

    batch = torch.rand(6, 3, 20, 20)
    out = ssl.augment(batch, torch.Generator().manual_seed(0))
    assert out.shape == batch.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert not torch.allclose(out, batch)


def test_linear_probe_separates_separable_classes():
    rng = np.random.default_rng(0)
    dark = rng.integers(0, 60, (20, 16, 16, 3)).astype(np.uint8)
    light = rng.integers(190, 255, (20, 16, 16, 3)).astype(np.uint8)
    images = np.concatenate([dark, light])
    labels = np.array([0] * 20 + [1] * 20)
    order = rng.permutation(40)
    images, labels = images[order], labels[order]
    encoder = ssl.random_encoder(ssl.SSLConfig(width=4, image_size=16))
    accuracy = ssl.linear_probe(encoder, (images[:20], labels[:20]), (images[20:], labels[20:]), size=16)
    assert accuracy >= 0.9


def test_digits_probe_set_is_offline():
    train_x, train_y, test_x, test_y = ssl.probe_set("digits", size=64)
    assert train_x.shape[1:] == (64, 64, 3) and len(set(train_y)) == 10 and len(test_x) >= 800


def test_ssl_config_errors():
    with pytest.raises(InputError, match="moco, simclr"):
        ssl.SSLConfig(method="byol")


# --- the command line ---------------------------------------------------------------------------------------------


def test_cli_refuses_an_unknown_language(capsys):
    from tinkerlab.cli import main

    with pytest.raises(SystemExit):
        main(["codedraw", "draw", "cat", "--lang", "processing", "--out", "/tmp/never"])
    assert "matplotlib | svg | turtle | tikz" in capsys.readouterr().err


def test_cli_draws_with_scripted_replies(tmp_path, capsys):
    from tinkerlab.cli import main

    replies = tmp_path / "r.json"
    replies.write_text(json.dumps(["```python\n" + GOOD["turtle"] + "```", "nothing"]))
    main(
        [
            "codedraw",
            "draw",
            "a square",
            "--lang",
            "turtle",
            "--model",
            f"scripted:{replies}",
            "--rounds",
            "2",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    printed = capsys.readouterr().out
    assert "round 0: ok" in printed and "round 1: no-code" in printed
    assert (tmp_path / "run" / "outputs" / "round_0.png").is_file()
    assert (tmp_path / "run" / "outputs" / "rounds.png").is_file()
