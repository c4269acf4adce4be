"""Desiderata specs: YAML loading, kinds, and the errors that name the file, line, desideratum and item."""

from __future__ import annotations

import pytest

from tinkerlab.core.errors import InputError
from tinkerlab.desiderata.spec import (
    EXAMPLE_SPEC,
    KINDS,
    Desideratum,
    DesideratumKind,
    Item,
    Spec,
    check_spec,
    load_spec,
    register_kind,
)
from tinkerlab.desiderata.tasks import BindingTask, check_numbers, desideratum_items

GOOD = """\
desiderata:
  - name: change
    kind: value_change
    items:
      - {original: "A3 B5 op1", alternate: "A7 B5 op1", target: "8"}
      - {original: "A2 B5 op0", alternate: "A4 B5 op0", target: "4", split: heldout}
  - name: same
    kind: invariance
    weight: 0.5
    items:
      - {original: "A3 B5 op1", alternate: "A3 B5 op2", target: "4"}
mask: {relaxation: hard_concrete, seeds: 2}
"""


def _write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def tokenizer():
    pytest.importorskip("transformers")
    from tinkerlab.desiderata.toy import toy_tokenizer

    return toy_tokenizer()


def test_a_good_spec_loads_with_lines_kinds_and_weights(tmp_path, tokenizer):
    spec = load_spec(_write(tmp_path, GOOD))
    change, same = spec.desiderata
    assert (change.kind, same.kind, same.weight) == ("value_change", "invariance", 0.5)
    assert [i.line for i in change.items] == [5, 6] and change.items[1].split == "heldout"
    assert spec.mask.relaxation == "hard_concrete" and spec.mask.seeds == 2
    check_spec(spec, tokenizer)


def test_the_example_spec_generates_its_items(tmp_path):
    spec = load_spec(_write(tmp_path, EXAMPLE_SPEC))
    assert [d.name for d in spec.desiderata] == ["value_change", "variable_invariance", "operation_invariance"]
    assert all(len(d.items) == 180 and len(d.split("heldout")) == 60 for d in spec.desiderata)
    assert spec.task.heldout_ops == ("min",)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("kind: invariance", "kind: sameness", r"spec.yaml line 7, desideratum 'same': unknown kind 'sameness'"),
        ('target: "8"}', 'target: "88"}', None),  # a target that is no token of this vocabulary is <unk>: one token
        ("mask: {relaxation: hard_concrete", "mask: {relaxation: soft", r"spec.yaml line 12: .*relaxation"),
        ("    weight: 0.5", "    weight: -1", r"line 7, desideratum 'same': weight must be a positive number"),
        ('      - {original: "A3 B5 op1", alternate: "A3 B5 op2"', '      - {original: "A3 B5 op1"', "item 0"),
        ("desiderata:", "desideratas:", r"unknown top-level key\(s\) desideratas"),
        ("mask: {", "mask: {colour: red, ", r"unknown mask key\(s\) colour"),
        ('    items:\n      - {original: "A3 B5 op1", alternate: "A3 B5 op2"', "    itemz:\n      - {a: 1", "itemz"),
    ],
)
def test_bad_specs_are_refused_with_the_line(tmp_path, tokenizer, old, new, expected):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    if expected is None:
        check_spec(load_spec(_write(tmp_path, text)), tokenizer)
        return
    with pytest.raises(InputError, match=expected):
        check_spec(load_spec(_write(tmp_path, text)), tokenizer)


def test_a_multi_token_target_names_the_item_and_line(tmp_path, tokenizer):
    path = _write(tmp_path, GOOD.replace('target: "8"}', 'target: "8 9"}', 1))
    with pytest.raises(InputError, match=r"spec.yaml line 5, desideratum 'change', item 0: target '8 9' is 2 tokens"):
        check_spec(load_spec(path), tokenizer)


def test_unequal_lengths_are_refused_where_the_kind_needs_them(tmp_path, tokenizer):
    path = _write(tmp_path, GOOD.replace('alternate: "A7 B5 op1"', 'alternate: "A7 B5 op1 op2"', 1))
    with pytest.raises(InputError, match=r"line 5, desideratum 'change', item 0: kind 'value_change' needs .* 4 and 5"):
        check_spec(load_spec(path), tokenizer)
    # an invariance may have alternates of another length, unless every position is patched
    spec = load_spec(_write(tmp_path, GOOD.replace('alternate: "A3 B5 op2"', 'alternate: "A3 B5 op2 op3"', 1)))
    check_spec(spec, tokenizer)
    with pytest.raises(InputError, match=r"desideratum 'same', item 0: patching every position needs"):
        check_spec(spec, tokenizer, positions="all")


def test_yaml_syntax_errors_name_the_line(tmp_path):
    with pytest.raises(InputError, match=r"spec.yaml line \d+: not valid YAML"):
        load_spec(_write(tmp_path, GOOD.replace("kind: value_change", "kind: [value_change", 1)))


def test_generate_needs_a_task_and_a_known_desideratum(tmp_path):
    text = "desiderata:\n  - name: vc\n    kind: value_change\n    generate: {n: 4}\n"
    with pytest.raises(InputError, match=r"line 4, desideratum 'vc': `generate` needs a `task`"):
        load_spec(_write(tmp_path, text))
    text = "task: {n_vars: 3}\n" + text
    with pytest.raises(InputError, match=r"the task makes value_change"):
        load_spec(_write(tmp_path, text))


def test_user_defined_kinds_plug_in_with_their_own_check(tokenizer):
    kind = register_kind(
        DesideratumKind(
            "no_bos_change",
            "the first real token must not change",
            check=lambda o, a, t: None if o[1] == a[1] else f"first tokens differ ({o[1]} vs {a[1]})",
        )
    )
    try:
        good = Desideratum("d", "no_bos_change", (Item("A3 B5 op1", "A3 B6 op1", "4"),))
        check_spec(Spec((good,)), tokenizer)
        bad = Desideratum("d", "no_bos_change", (Item("A3 B5 op1", "A4 B6 op1", "4"),))
        with pytest.raises(InputError, match=r"desideratum 'd', item 0: first tokens differ"):
            check_spec(Spec((bad,)), tokenizer)
    finally:
        KINDS.pop(kind.name)
    with pytest.raises(InputError, match="unknown kind 'no_bos_change'"):
        Desideratum("d", "no_bos_change", (Item("a", "b", "c"),))


class _PairDigits:
    """A tokenizer stand-in that writes 10..19 as one token and every other character as its own."""

    def __call__(self, text, add_special_tokens=True):
        out, i = [], 0
        while i < len(text):
            if text[i] == "1" and i + 1 < len(text) and text[i + 1].isdigit():
                out.append(text[i : i + 2])
                i += 2
            else:
                out.append(text[i])
                i += 1

        class Encoded:
            input_ids = [hash(piece) % 1000 for piece in out]

        return Encoded()


def test_numbers_must_be_single_tokens():
    check_numbers(_PairDigits(), 19)
    with pytest.raises(InputError, match=r"20, 21.* are not; use max_value <= 19"):
        check_numbers(_PairDigits(), 25)


def test_binding_items_follow_their_desideratum():
    task = BindingTask(n_vars=3, train_ops=("add", "sub", "max"), heldout_ops=("min",))
    for item in desideratum_items(task, "value_change", 30, seed=1):
        assert item["original"] != item["alternate"] and len(item["original"]) == len(item["alternate"])
        assert item["original"].split(".")[1] == item["alternate"].split(".")[1]  # same query
    for item in desideratum_items(task, "operation_invariance", 30, seed=1, heldout=True):
        assert "min(" in item["original"] and item["split"] == "heldout"
        assert item["original"].split(".")[0] == item["alternate"].split(".")[0]  # same assignments
        context = dict(kv.split("=") for kv in item["original"].split(".")[0].split(", "))
        x, y = item["original"].split("(")[1].split(")")[0].split(",")
        assert item["target"] == str(min(int(context[x]), int(context[y])))
    for item in desideratum_items(task, "variable_invariance", 30, seed=1):
        assert item["original"].split(".")[1] == item["alternate"].split(".")[1]
    with pytest.raises(InputError, match="n_vars >= 3"):
        desideratum_items(BindingTask(n_vars=2), "variable_invariance", 3)
    with pytest.raises(InputError, match="heldout_ops"):
        BindingTask(train_ops=("add",), heldout_ops=("add",))
