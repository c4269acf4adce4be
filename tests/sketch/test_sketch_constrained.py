"""Constrained decoding in the stroke language: the grammar, the logits processor, and the local model with it.

The central property: whatever the model's scores, a reply decoded under the constraint parses (strictly) into a
sketch, within its token budget.
"""

from __future__ import annotations

import random

import pytest

from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.sketch.constrained import StrokeGrammar, StrokeLogitsProcessor, stroke_constraint
from tinkerlab.sketch.language import parse_sketch

STROKE = "<s1>\n<points>'x12y22', 'x17y17'</points>\n<t_values>0.00, 1.00</t_values>\n<id>left ear</id>\n</s1>"
DRAW_PREFILL = "<answer>\n<concept>cat</concept>\n<strokes>\n<s1>\n<points>'x"
PREFILLS = [
    DRAW_PREFILL,
    "<thinking>",
    "",
    "<answer>\n<strokes>\n<s1>\n<points>'x3y4'</points>\n<t_values>0.1, 0.2</t_values>\n</s1>\n",  # a person's
    "<answer>\n<strokes>\n<s4>\n<points>'x",  # an edit numbers its strokes on
]


def test_grammar_accepts_the_canonical_language_and_nothing_else():
    grammar = StrokeGrammar()
    body = grammar.feed(grammar.start(), "<strokes>\n" + STROKE + "\n</strokes>\n</answer>")
    assert grammar.finished(body) and body[0] == "end"
    for wrong in (
        "<strokes>\n<s1>\n<points>'x51y1'",  # off the grid
        "<strokes>\n<s1>\n<points>'x0y1'",
        "<strokes>\n<s1>\n<points>'x1y1' is the bottom-left",  # a quote of the prompt
        "<strokes>\n<s1>\n<points>'x1y1'</points>",  # one cell: the grammar asks for lines
        "<strokes>\n<s1>\n<points>'x1y1', 'x2y2'</points>\n<t_values>0, 0.5, 1",  # more t-values than cells
        "<strokes>\n<s1>\n<points>'x1y1', 'x2y2'</points>\n<t_values>1.5",
        "<strokes>\n" + STROKE + "\n<s3>",  # strokes count up by one
        "<strokes>\n</strokes>",  # at least one stroke
    ):
        assert grammar.feed(grammar.start(), wrong) is None, wrong
    with pytest.raises(InputError, match="min_cells"):
        StrokeGrammar(min_cells=5, max_cells=3)


def test_the_shortest_ending_from_any_state_parses():
    grammar = StrokeGrammar()
    text = "<strokes>\n" + STROKE + "\n<s2>\n<points>'x40y4', 'x41y9'</points>\n<t_values>0.25, 1.0</t_values>"
    text += "\n<id>tail</id>\n</s2>\n</strokes>\n</answer>"
    state = grammar.start()
    for end in range(len(text)):
        state = grammar.step(state, text[end])
        assert state is not None
        ending = grammar.closing(state)
        finished = grammar.feed(state, ending)
        assert finished is not None and (not grammar.constrained(finished) or finished[0] == "end")
        if grammar.constrained(state):
            assert len(parse_sketch(text[: end + 1] + ending, strict=True)) >= 1


class CharTokenizer:
    """A small tokenizer: every printable ASCII character, some longer pieces, a word and an end token."""

    def __init__(self) -> None:
        pieces = [chr(c) for c in range(32, 127)] + ["\n", "',", " '", "</", "points", "strokes", ">\n", "12", "ear"]
        pieces += ["</s1>", "t_values", "é", "hello world"]
        self.vocab = pieces + ["<eos>"]
        self.eos_token_id = len(pieces)
        self.all_special_ids = [self.eos_token_id]

    def __len__(self) -> int:
        return len(self.vocab)

    def decode(self, ids) -> str:
        return "".join(self.vocab[i] for i in ids if i < self.eos_token_id)  # padding ids decode to nothing


def sample_reply(tokenizer, prefill: str, budget: int, seed: int, stop=()) -> tuple[str, int]:
    """Greedy decoding of random scores under the constraint; returns the reply and how many tokens it took."""
    torch = pytest.importorskip("torch")
    processor = stroke_constraint(50)(
        tokenizer=tokenizer, prefill=prefill, prompt_length=3, max_new_tokens=budget, stop=list(stop)
    )
    generator = torch.Generator().manual_seed(seed)
    ids = torch.zeros((1, 3), dtype=torch.long)
    for _ in range(budget):
        scores = processor(ids, torch.randn(1, len(tokenizer) + 5, generator=generator))
        token = int(scores[0].argmax())
        ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
        if token == tokenizer.eos_token_id:
            break
    return tokenizer.decode(ids[0, 3:].tolist()), ids.shape[1] - 3


@pytest.mark.parametrize("prefill", PREFILLS)
def test_every_constrained_reply_parses_whatever_the_scores(prefill):
    tokenizer = CharTokenizer()
    for seed in range(6):
        budget = random.Random(seed).choice([140, 200, 400])
        reply, used = sample_reply(tokenizer, prefill, budget, seed)
        assert used <= budget
        sketch = parse_sketch(prefill + reply, strict=True)
        before = prefill.count("</s1>")  # strokes the prefill holds (any t-values); the reply may end after them
        assert len(sketch) >= max(before, 1) and all(len(s.points) == len(s.t_values) for s in sketch.strokes[before:])


def test_a_stroke_reply_closes_before_its_stop_string_within_a_small_budget():
    tokenizer = CharTokenizer()
    prefill = "<answer>\n<strokes>\n" + STROKE + "\n<s2>\n<points>'x"
    for seed in range(5):
        reply, used = sample_reply(tokenizer, prefill, 60, seed, stop=["</s2>"])
        assert "</s2>" in reply and used <= 60
        assert len(parse_sketch(prefill + reply, strict=True)) == 2


@pytest.fixture(scope="module")
def smollm_tokenizer():
    pytest.importorskip("transformers", reason="transformers (the llm extra) is needed for the local model")
    import transformers

    from tinkerlab.llm.local import dequantised_cache_path, load_local_model

    try:
        from tinkerlab.core.assets import smollm2_gguf

        cached = dequantised_cache_path(smollm2_gguf())
    except MissingAssetError as exc:
        pytest.skip(f"the embedded model is not installed: {exc}")
    if (cached / "tokenizer_config.json").exists():  # the tokenizer alone, without loading the model
        return transformers.AutoTokenizer.from_pretrained(cached)
    return load_local_model().tokenizer


def test_every_reply_parses_with_the_embedded_models_vocabulary(smollm_tokenizer):
    for seed, prefill in enumerate(PREFILLS):
        reply, used = sample_reply(smollm_tokenizer, prefill, 120, seed)
        assert used <= 120
        assert len(parse_sketch(prefill + reply, strict=True)) >= 1


def test_an_unfollowable_prefill_leaves_the_reply_free(smollm_tokenizer):
    processor = StrokeLogitsProcessor(
        smollm_tokenizer, StrokeGrammar(), prefill="<strokes>\n<s1>\n<points>banana", prompt_length=0, max_new_tokens=9
    )
    assert processor.start is None


@pytest.mark.slow
def test_every_local_reply_under_constrained_decoding_parses(smollm_tokenizer):
    """The real embedded model with the tiny preset: whole drawings, an edit, and stroke-by-stroke drawing."""
    from tinkerlab.llm import load_chat_model
    from tinkerlab.sketch.agent import SketchAgent, preset_config

    model = load_chat_model("local", cache=False)
    agent = SketchAgent(model, preset_config("local", max_strokes=2))
    assert agent.constrained
    drawn = agent.draw("bicycle")
    assert drawn.failures == [] and len(drawn.replies) == 1
    assert len(parse_sketch(drawn.replies[0], strict=True)) >= 1
    edited = agent.edit(drawn.sketch, "add a sun in the top right corner")
    assert edited.failures == [] and edited.changes["added"]
    strokes = agent.draw_stroke_by_stroke("cup")
    assert strokes.failures == [] and len(strokes.sketch) >= 1, strokes.replies
    assert model.logits_processor_factory is None  # only the calls that hold strokes were constrained


def test_near_the_time_limit_only_the_shortest_ending_is_written():
    torch = pytest.importorskip("torch")
    tokenizer = CharTokenizer()
    processor = stroke_constraint(50)(
        tokenizer=tokenizer, prefill=DRAW_PREFILL, prompt_length=1, max_new_tokens=500, max_time=1e-9
    )
    ids = torch.zeros((1, 1), dtype=torch.long)
    for _ in range(200):
        token = int(processor(ids, torch.randn(1, len(tokenizer)))[0].argmax())
        ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
        if token == tokenizer.eos_token_id:
            break
    reply = tokenizer.decode(ids[0, 1:].tolist())
    shortest = StrokeGrammar().closing(StrokeGrammar().resume(DRAW_PREFILL))
    assert reply.startswith("1y1', 'x1y1'</points>") and len(reply) <= len(shortest)
    assert len(parse_sketch(DRAW_PREFILL + reply, strict=True)) == 1
