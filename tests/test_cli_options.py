"""The command tree as a whole: shared option names mean one thing everywhere, modes are choices, inputs are
positional (with the old option spellings kept as hidden aliases), and each package's CLI is named after it."""

from __future__ import annotations

import enum
import importlib
import re
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tinkerlab import cli_options
from tinkerlab.cli import PACKAGES, app
from tinkerlab.cli_options import CommaList, NonBlank, Spec, model_help, parse_device
from tinkerlab.core.errors import TinkerlabError

SHARED = ("--model", "--out", "--overwrite", "--device", "--executor", "--workers", "--seed")
# Options that pick one of a few behaviours: each must be a choice (a Literal) or a checked Spec, never free text.
MODE_OPTIONS = (
    "--preset",
    "--mode",
    "--entity-readout",
    "--interpreter",
    "--executor",
    "--kind",
    "--step",
    "--evaluator",
    "--recognizer",
    "--categories",
    "--only",
    "--relaxation",
)


def _commands():
    """(package or '', command path, click command) for every leaf command of `tinkerlab`."""
    root = typer.main.get_command(app)

    def walk(command, path):
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                yield from walk(child, (*path, name))
        else:
            yield path, command

    return list(walk(root, ()))


def _annotation_and_parser(param):
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None:  # pragma: no cover - typer before 0.22 builds click types instead
        pytest.skip("this typer version does not expose type descriptors")
    return descriptor.annotation, descriptor.parameter_info.parser


def _is_choice(annotation, parser) -> bool:
    if typing.get_origin(annotation) is typing.Literal:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    return isinstance(parser, Spec) and parser.check


COMMANDS = _commands()


def test_the_tree_has_the_packages_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in ("find score", "find run", "circuits report", "pyramid sample", "sketch draw", "demo"):
        assert expected in names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_shared_option_names_are_the_shared_options(path, command):
    for param in command.params:
        if param.param_type_name != "option" or getattr(param, "hidden", False):
            continue  # hidden options are the old spellings of inputs (e.g. `circuits report --out RUN`)
        names = set(param.opts) | set(param.secondary_opts)
        shared = names & set(SHARED)
        if not shared:
            continue
        (name,) = shared
        annotation, parser = _annotation_and_parser(param)
        where = f"{' '.join(path)} {name}"
        if name == "--model":
            assert isinstance(parser, Spec), where
            assert param.help == model_help(parser), where
            assert "-m" in names and param.metavar == "SPEC" and annotation is str, where
            assert set(parser.forms) <= set(cli_options.CHAT_MODEL_FORMS) or parser.check, where
        elif name == "--out":
            assert annotation is Path and "-o" in names and param.metavar == "PATH", where
            assert param.help.startswith(cli_options.OUT_HELP_PREFIX + " "), where
        elif name == "--device":
            assert parser is parse_device and param.help == cli_options.DEVICE_HELP, where
            assert param.default in ("cpu", None), where
        elif name == "--seed":
            assert annotation is int and param.help == cli_options.SEED_HELP and param.min == 0, where
        elif name == "--overwrite":
            assert annotation is bool and param.help == cli_options.OVERWRITE_HELP, where
        elif name == "--executor":
            assert annotation == cli_options.Executor and param.help == cli_options.EXECUTOR_HELP, where
        elif name == "--workers":
            assert annotation is int and param.help == cli_options.WORKERS_HELP and param.min == 1, where


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_modes_are_choices(path, command):
    for param in command.params:
        if param.param_type_name != "option":
            continue
        annotation, parser = _annotation_and_parser(param)
        where = f"{' '.join(path)} {param.opts[0]}"
        if set(param.opts) & set(MODE_OPTIONS):
            assert _is_choice(annotation, parser), f"{where} takes free text; make it a Literal or a Spec"
        elif annotation is str and parser is None:
            # free text whose help lists alternatives ("a | b") is a mode that escaped
            assert not re.search(r"\w \| \w", param.help or ""), f"{where} lists alternatives but is free text"


def test_each_package_cli_is_named_after_its_package():
    registered = {group.name: group.typer_instance for group in app.registered_groups}
    assert registered, "no package CLI is registered"
    for name, instance in registered.items():
        assert name in PACKAGES
        assert instance is importlib.import_module(f"tinkerlab.{name}.cli").app
    for path, command in COMMANDS:
        if path[0] in registered:
            assert command.callback.__module__ == f"tinkerlab.{path[0]}.cli", path


def test_cli_choices_match_the_api():
    from tinkerlab.circuits import cli as circuits_cli
    from tinkerlab.circuits.data import DESIDERATA
    from tinkerlab.circuits.experiment import REQUIRES, STEPS
    from tinkerlab.find import cli as find_cli
    from tinkerlab.find.entities import Readout
    from tinkerlab.find.runner import BASELINES, Executor
    from tinkerlab.find.suite import CATEGORIES
    from tinkerlab.pyramid import cli as pyramid_cli
    from tinkerlab.pyramid.config import PRESETS
    from tinkerlab.sketch import cli as sketch_cli
    from tinkerlab.sketch.agent import preset_config
    from tinkerlab.sketch.runs import Mode

    assert typing.get_args(pyramid_cli.Preset) == PRESETS
    assert typing.get_args(sketch_cli.Mode) == typing.get_args(Mode)
    preset = typing.get_type_hints(preset_config)["preset"]
    assert typing.get_args(sketch_cli.Preset) == typing.get_args(preset)
    assert typing.get_args(find_cli.EntityReadout) == typing.get_args(Readout)
    assert find_cli.CATEGORIES == CATEGORIES
    assert set(find_cli.INTERPRETERS.forms) == {"baseline", *BASELINES, "agent", "agent:SPEC"}
    assert typing.get_args(cli_options.Executor) == typing.get_args(Executor)
    assert circuits_cli.STEPS == STEPS
    assert typing.get_args(circuits_cli.Kind) == ("plain", "path-patching", *DESIDERATA)
    for step, needs in REQUIRES.items():  # the pipeline's order runs every prerequisite first
        assert all(STEPS.index(need) < STEPS.index(step) for need in needs), step


def test_spec_parsers():
    spec = Spec(("baseline", "agent:SPEC"))
    assert spec(" agent:openai:gpt-4o ") == "agent:openai:gpt-4o" and spec("baseline") == "baseline"
    for bad in ("agent:", "agent", "bogus", ""):
        with pytest.raises(typer.BadParameter, match="expected baseline | agent:SPEC"):
            spec(bad)
    assert Spec(("local",), check=False)("anything") == "anything"
    assert CommaList(("numeric", "strings"))("numeric, strings") == "numeric, strings"
    with pytest.raises(typer.BadParameter, match="comma-separated subset"):
        CommaList(("numeric", "strings"))("numeric,bogus")
    assert NonBlank("a concept")("  a   house ") == "a house"
    with pytest.raises(typer.BadParameter, match="expected a concept"):
        NonBlank("a concept")("   ")
    for good in ("cpu", "cuda", "cuda:1", "auto", "mps", "CUDA:0"):
        assert parse_device(good) == good.lower()
    for bad in ("gpu", "cuda:", "cuda:x", "cuda1", ""):
        with pytest.raises(typer.BadParameter, match="cuda:N"):
            parse_device(bad)


def _invoke(args: list[str]):
    return CliRunner().invoke(app, args)


@pytest.mark.parametrize(
    "new,old",
    [
        (["find", "score", "{x}"], ["find", "score", "--run", "{x}"]),
        (["find", "run", "{x}"], ["find", "run", "--suite", "{x}"]),
        (["circuits", "report", "{x}"], ["circuits", "report", "--out", "{x}"]),
        (["pyramid", "sample", "{x}", "--out", "{x}/s"], ["pyramid", "sample", "{x}", "--out-dir", "{x}/s"]),
    ],
)
def test_inputs_are_positional_and_old_spellings_still_work(tmp_path, new, old):
    """The positional form and its hidden old option reach the same place (here: the same error, for a folder
    that holds nothing, so nothing heavy runs)."""
    folder = str(tmp_path / "nothing")
    first = _invoke([a.replace("{x}", folder) for a in new])
    second = _invoke([a.replace("{x}", folder) for a in old])
    assert first.exit_code != 0 and second.exit_code != 0
    assert isinstance(first.exception, TinkerlabError), first.output
    assert str(first.exception) == str(second.exception)
    hidden = [p for _, c in COMMANDS for p in c.params if getattr(p, "hidden", False)]
    assert {o for p in hidden for o in p.opts} >= {"--run", "--suite", "--out", "--out-dir", "--lm"}


def test_find_build_takes_the_lm_as_model_or_its_old_name(tmp_path):
    import json

    for flag in ("--model", "--lm"):
        out = tmp_path / flag.strip("-")
        args = ["find", "build", "--out", str(out), "--small", "--categories", "numeric", flag, "local:my-lm"]
        result = _invoke(args)
        assert result.exit_code == 0, result.output
        assert json.loads((out / "suite.json").read_text())["lm"] == "local:my-lm"
    result = _invoke(["find", "build", "--out", str(tmp_path / "x"), "--lm", "openai:gpt-4o"])
    assert result.exit_code != 0 and "local | local:PATH" in result.output


def test_interpreter_and_model_combine():
    from tinkerlab.core.errors import InputError
    from tinkerlab.find.cli import _interpreter

    assert _interpreter(None, None) == "baseline"
    assert _interpreter(None, "openai:gpt-4o") == "agent:openai:gpt-4o"
    assert _interpreter("agent", None) == "agent:local"
    assert _interpreter("agent:scripted:r.json", None) == "agent:scripted:r.json"
    assert _interpreter("agent:local", "local") == "agent:local"
    with pytest.raises(InputError, match="baseline"):
        _interpreter("fit", "local")
    with pytest.raises(InputError, match="two models"):
        _interpreter("agent:local", "openai:gpt-4o")


CONNECTION = {
    "--base-url": cli_options.BASE_URL_HELP,
    "--timeout": cli_options.TIMEOUT_HELP,
    "--retries": cli_options.RETRIES_HELP,
    "--api-key-env": cli_options.API_KEY_ENV_HELP,
}


def _takes_chat_models(command) -> bool:
    for param in command.params:
        if "--model" in getattr(param, "opts", ()):
            _, parser = _annotation_and_parser(param)
            return set(parser.forms) == set(cli_options.CHAT_MODEL_FORMS)
    return False


def test_commands_on_chat_models_take_the_connection_options():
    chat_commands = [(path, command) for path, command in COMMANDS if _takes_chat_models(command)]
    names = {" ".join(path) for path, _ in chat_commands}
    assert {"llm chat", "sketch draw", "sketch edit", "sketch serve", "sketch evaluate", "find run"} <= names
    for path, command in chat_commands:
        options = {opt: param for param in command.params for opt in getattr(param, "opts", ())}
        for name, help_text in CONNECTION.items():
            where = f"{' '.join(path)} {name}"
            assert name in options, where
            assert options[name].help == help_text and options[name].default is None, where
        assert _annotation_and_parser(options["--base-url"])[1] is cli_options.parse_base_url


def test_connection_options_reach_the_models_and_are_restored(monkeypatch):
    import os

    from tinkerlab.llm.loader import load_chat_model

    for name in cli_options.CONNECTION_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    with cli_options.connection_environment(timeout=7.5, retries=1, api_key_env="MY_KEY"):
        assert os.environ["TINKERLAB_LLM_TIMEOUT"] == "7.5" and os.environ["TINKERLAB_LLM_RETRIES"] == "1"
        monkeypatch.setenv("MY_KEY", "k")
        model = load_chat_model("openai:m", base_url="http://127.0.0.1:9/v1")
        assert model.timeout_s == 7.5 and model.policy.max_retries == 1 and model.key_variable == "MY_KEY"
    assert not any(name in os.environ for name in cli_options.CONNECTION_VARIABLES.values())
    for bad in ("not-a-url", "localhost:8000", "ftp://x"):
        with pytest.raises(typer.BadParameter, match="server URL"):
            cli_options.parse_base_url(bad)
    with pytest.raises(typer.BadParameter, match="environment variable"):
        cli_options.parse_variable_name("sk-abc def")
