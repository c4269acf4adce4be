"""Entity-tracking prompts and their counterfactuals, in the format of Prakash et al. (ICLR 2024).

A prompt has k segments "The X is in Box Y" joined by commas, then a query: "The fig is in Box X, the engine is in
Box T, the radio is in Box A. Box X contains the" -> " fig". Objects and box labels are single tokens of the model's
tokenizer, so the layout is fixed: with `b` = 1 when the tokenizer prepends a BOS token and 0 otherwise, segment i
covers positions b+7i .. b+7i+6, its object sits at b+7i+1 and its label at b+7i+5; the query label is at
last-2 and the answer is predicted at the last token ("the"). Prompts whose tokenisation breaks that layout are
refused with the offending token named.

Counterfactual generators (explicit functions instead of the original's index tricks):

* `path_patching_pairs`: clean prompt and a corrupt prompt from another context that asks about segment
  (j+1) mod k with a query label absent from its context;
* `desideratum_pairs`: base/source pairs and targets for the DCM desiderata `positional`, `object_value`,
  `box_label_value`;
* `mean_ablation_prompts`: one prompt per context with a random query (the mean-ablation reference set);
* `perturbed_positional_pairs`: the additional positional desiderata of the paper's Table 4: a regular base
  prompt and a source prompt from another context that carries one of eleven perturbations (random text, extra
  tokens or boxes, an extra segment, altered order or association, commas); the target stays the base's
  object at the source's queried segment. Perturbed prompts break the fixed layout, so `tokenize_prompts`
  finds their objects and labels by scanning the token ids.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Literal

import torch

from tinkerlab.core.errors import InputError

# 84 common, concrete nouns (the original's list is 84 BNC-frequent nouns; this list was written for tinkerlab).
OBJECTS: tuple[str, ...] = tuple(
    [
        "book",
        "car",
        "paper",
        "letter",
        "map",
        "key",
        "cup",
        "bag",
        "ring",
        "coin",
        "hat",
        "shoe",
        "box",
        "bell",
        "fig",
        "engine",
        "radio",
        "watch",
        "plate",
        "phone",
        "glass",
        "drum",
        "lamp",
        "bottle",
        "ticket",
        "brick",
        "clock",
        "file",
        "camera",
        "shirt",
        "apple",
        "boat",
        "bread",
        "chair",
        "coat",
        "dress",
        "fan",
        "flower",
        "guitar",
        "kite",
        "knife",
        "leaf",
        "lock",
        "milk",
        "piano",
        "pen",
        "plane",
        "rock",
        "sock",
        "spoon",
        "stone",
        "table",
        "toy",
        "train",
        "tree",
        "wheel",
        "cake",
        "egg",
        "fish",
        "gift",
        "bus",
        "bike",
        "ball",
        "bed",
        "bowl",
        "card",
        "crown",
        "disk",
        "door",
        "horse",
        "hammer",
        "jar",
        "mirror",
        "note",
        "shell",
        "string",
        "sword",
        "whistle",
        "wire",
        "rope",
        "brush",
        "sheet",
    ]
)
LABELS: tuple[str, ...] = tuple(string.ascii_uppercase)
SEGMENT_LEN = 7
Desideratum = Literal["positional", "object_value", "box_label_value"]
DESIDERATA: tuple[str, ...] = ("positional", "object_value", "box_label_value")
Perturbation = Literal[
    "random_text_start",
    "random_text_end",
    "tokens_between_box_and_object",
    "seg_start",
    "seg_end",
    "boxes_before_correct_segment",
    "incorrect_segment",
    "altered_order",
    "altered_association",
    "no_comma",
    "add_comma",
]
PERTURBATIONS: tuple[str, ...] = (
    "random_text_start",
    "random_text_end",
    "tokens_between_box_and_object",
    "seg_start",
    "seg_end",
    "boxes_before_correct_segment",
    "incorrect_segment",
    "altered_order",
    "altered_association",
    "no_comma",
    "add_comma",
)
_FILLER = " Here is a short story about some boxes and what they hold"
_EXTRA_BOXES = "there are three additional boxes, Box PP, Box BB and Box AA, "


@dataclass(frozen=True)
class EntityPrompt:
    """One context and query: `objects[i]` is in box `labels[i]`; the query asks about box `query_label`.

    `perturbation` is "" for a regular prompt or one of `PERTURBATIONS` (see `build_text`); an extra
    segment (`seg_start`, `seg_end`) is an ordinary entry of `objects` and `labels`.
    """

    objects: tuple[str, ...]
    labels: tuple[str, ...]
    query: int  # segment whose box is asked about (index into labels), or -1 for a label absent from the context
    query_label: str
    answer: str
    perturbation: str = ""

    def text(self) -> str:
        return build_text(self)


def _segment(obj: str, label: str, perturbation: str, queried: bool) -> str:
    """The text of one segment, "the fig is in Box X" unless the perturbation rewrites it."""
    if perturbation == "add_comma":
        return f"the {obj}, is in Box {label}"
    if not queried:
        return f"the {obj} is in Box {label}"
    rewritten = {
        "tokens_between_box_and_object": f"the {obj} is contained in the Box {label}",
        "boxes_before_correct_segment": f"{_EXTRA_BOXES}the {obj} is in Box {label}",
        "altered_order": f"Box {label} contains the {obj}",
        "altered_association": f"the {obj} is not in Box {label}",
    }
    return rewritten.get(perturbation, f"the {obj} is in Box {label}")


def build_text(prompt: EntityPrompt) -> str:
    """The prompt string (without the answer), with the prompt's perturbation applied.

    The text of each perturbation is tabled in `perturbed_positional_pairs`.

    Raises:
        InputError: an unknown perturbation.
    """
    perturbation = prompt.perturbation
    if perturbation and perturbation not in PERTURBATIONS:
        raise InputError(f"unknown perturbation {perturbation!r}: expected one of {', '.join(PERTURBATIONS)}")
    parts = [
        _segment(o, lab, perturbation, i == prompt.query)
        for i, (o, lab) in enumerate(zip(prompt.objects, prompt.labels, strict=False))
    ]
    text = (" " if perturbation == "no_comma" else ", ").join(parts)
    text = text[0].upper() + text[1:] + "."
    if perturbation == "random_text_start":
        text = _FILLER.strip() + ". " + text
    if perturbation == "random_text_end":
        text = text + _FILLER + "."
    return text + f" Box {prompt.query_label} contains the"


_TENSOR_FIELDS = ("input_ids", "answer_ids", "last", "query_label_pos", "prev_label_pos", "object_pos", "label_pos")


@dataclass
class EntityBatch:
    """Tokenised prompts of one layout (equal length) and the positions every method needs.

    Attributes:
        prompts: the prompts.
        input_ids: [N, S] token ids.
        answer_ids: [N] id of the correct object (first token of " obj").
        last: [N] last position (the answer is predicted here).
        query_label_pos: [N] position of the query label (last - 2).
        prev_label_pos: [N] position of the queried box's label in the context (its previous occurrence);
            for a query label absent from the context: a random label position.
        object_pos: [N, k] positions of the objects; label_pos: [N, k] positions of the box labels.
    """

    prompts: list[EntityPrompt]
    input_ids: torch.Tensor
    answer_ids: torch.Tensor
    last: torch.Tensor
    query_label_pos: torch.Tensor
    prev_label_pos: torch.Tensor
    object_pos: torch.Tensor
    label_pos: torch.Tensor
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prompts)

    def select(self, index) -> EntityBatch:
        index = torch.as_tensor(index, dtype=torch.long)
        return EntityBatch(
            [self.prompts[int(i)] for i in index],
            self.input_ids[index],
            self.answer_ids[index],
            self.last[index],
            self.query_label_pos[index],
            self.prev_label_pos[index],
            self.object_pos[index],
            self.label_pos[index],
            dict(self.meta),
        )

    def to(self, device) -> EntityBatch:
        """The batch with its tensors on `device` (the model's: inputs and indices must live beside it)."""
        t = {name: getattr(self, name).to(device) for name in _TENSOR_FIELDS}
        return EntityBatch(self.prompts, **t, meta=dict(self.meta))

    def position(self, name: str) -> torch.Tensor:
        """[N] a named position: 'last', 'query_label' (last - 2), 'prev_label' (its previous occurrence), or
        'last-K' for any K >= 0 (the query region is last-4 '.', last-3 ' Box', last-2 label, last-1 ' contains',
        last ' the')."""
        named = {"last": self.last, "query_label": self.query_label_pos, "prev_label": self.prev_label_pos}
        if name in named:
            return named[name]
        if name.startswith("last-") and name[5:].isdigit() and int(name[5:]) <= int(self.last.min()):
            return self.last - int(name[5:])
        raise InputError(f"unknown position {name!r}: expected last, query_label, prev_label or last-K (K >= 0)")

    def group_position(self, group: str) -> torch.Tensor:
        """[N] position at which a head group acts: VF/PT last token, PD query label, SR its previous occurrence;
        a group named 'NAME:POSITION' (e.g. 'QR:last-1', a query-region group) acts at that named position."""
        if ":" in group:
            return self.position(group.split(":", 1)[1])
        positions = {"VF": self.last, "PT": self.last, "PD": self.query_label_pos, "SR": self.prev_label_pos}
        if group not in positions:
            raise InputError(f"unknown head group {group!r}: expected one of VF, PT, PD, SR or NAME:POSITION")
        return positions[group]


def single_token_id(tokenizer, word: str) -> int:
    """Id of ' word' (with its leading space), refusing words that split into several tokens."""
    ids = tokenizer(" " + word, add_special_tokens=False).input_ids
    if len(ids) != 1:
        pieces = tokenizer.convert_ids_to_tokens(ids)
        raise InputError(f"{word!r} must be one token for this tokenizer, got {len(ids)}: {pieces}")
    return ids[0]


def check_vocabulary(tokenizer, objects=OBJECTS, labels=LABELS) -> None:
    """Refuse objects or labels that are not single tokens (the fixed layout depends on it)."""
    for word in list(objects) + list(labels):
        single_token_id(tokenizer, word)


def _bos(tokenizer) -> list[int]:
    ids = tokenizer("x", add_special_tokens=True).input_ids
    plain = tokenizer("x", add_special_tokens=False).input_ids
    return ids[: len(ids) - len(plain)]


def _layout_positions(prompt: EntityPrompt, bos: int) -> tuple[list[int], list[int]]:
    """Object and label positions of a regular prompt (the fixed layout)."""
    k = len(prompt.objects)
    return [bos + SEGMENT_LEN * i + 1 for i in range(k)], [bos + SEGMENT_LEN * i + 5 for i in range(k)]


def _scan_positions(tokenizer, prompt: EntityPrompt, ids: list[int]) -> tuple[list[int], list[int]]:
    """Object and label positions of a perturbed prompt, found in its token ids.

    Segment by segment, the object and the label are each the first occurrence of their token after the
    previous segment (so a repeated token cannot be taken for an earlier segment's); the query is not
    searched.

    Args:
        tokenizer: the tokenizer that produced `ids`.
        prompt: the prompt.
        ids: its token ids.

    Returns:
        (object positions, label positions), one per segment.

    Raises:
        InputError: an object or label that is not one token, or is not found (names the prompt and the word).
    """
    context_end = len(ids) - 3  # the query label sits at last - 2

    def find(word: str, start: int) -> int:
        want = single_token_id(tokenizer, word)
        for pos in range(start, context_end):
            if ids[pos] == want:
                return pos
        raise InputError(f"prompt {prompt.text()!r}: cannot find {' ' + word!r} at or after position {start}")

    objects, labels, start = [], [], 0
    for obj, label in zip(prompt.objects, prompt.labels, strict=False):
        objects.append(find(obj, start))
        labels.append(find(label, start))
        start = max(objects[-1], labels[-1]) + 1
    return objects, labels


def tokenize_prompts(tokenizer, prompts: list[EntityPrompt], rng: random.Random | None = None) -> EntityBatch:
    """Tokenise prompts that share one layout and check it.

    Regular prompts must follow the fixed layout; the objects and labels of perturbed prompts are found by
    scanning their token ids (`_scan_positions`). Every prompt must hold its query label at last - 2.

    Args:
        tokenizer: a Hugging Face tokenizer.
        prompts: prompts of one length (one batch is one perturbation type).
        rng: draws `prev_label_pos` for prompts whose query label is absent from the context.

    Returns:
        The batch.

    Raises:
        InputError: no prompts; a regular prompt's tokens differ from the fixed layout (names the offending
            token and position); a perturbed prompt lacks an object or label token; a query label is not at
            last - 2; or the prompts differ in length.
    """
    if not prompts:
        raise InputError("no prompts to tokenise")
    rng = rng or random.Random(0)
    bos = len(_bos(tokenizer))
    rows, answers, lasts, qpos, prev, opos, lpos = [], [], [], [], [], [], []
    for prompt in prompts:
        ids = tokenizer(prompt.text(), add_special_tokens=True).input_ids
        tokens = tokenizer.convert_ids_to_tokens(ids)
        expected = {}
        if prompt.perturbation:
            objects, labels = _scan_positions(tokenizer, prompt, ids)
        else:
            objects, labels = _layout_positions(prompt, bos)
            expected = {p: " " + o for p, o in zip(objects, prompt.objects, strict=False)}
            expected.update({p: " " + lab for p, lab in zip(labels, prompt.labels, strict=False)})
        expected[len(ids) - 3] = " " + prompt.query_label
        for pos, word in sorted(expected.items()):
            want = single_token_id(tokenizer, word.strip())
            if pos >= len(ids) or ids[pos] != want:
                got = tokens[pos] if pos < len(ids) else "<end of prompt>"
                raise InputError(
                    f"prompt {prompt.text()!r} breaks the fixed layout: expected {word!r} at position {pos}, "
                    f"got token {got!r}"
                )
        rows.append(ids)
        answers.append(single_token_id(tokenizer, prompt.answer))
        last = len(ids) - 1
        lasts.append(last)
        qpos.append(last - 2)
        prev.append(labels[prompt.query] if prompt.query >= 0 else rng.choice(labels))
        opos.append(objects)
        lpos.append(labels)
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise InputError(f"prompts of one batch must share one length, got lengths {sorted(lengths)}")

    def t(x):
        return torch.tensor(x, dtype=torch.long)

    return EntityBatch(prompts, t(rows), t(answers), t(lasts), t(qpos), t(prev), t(opos), t(lpos))


def _context(rng: random.Random, n_boxes: int, objects=OBJECTS, labels=LABELS) -> tuple[tuple, tuple]:
    return tuple(rng.sample(objects, n_boxes)), tuple(rng.sample(labels, n_boxes))


def random_prompts(n: int, *, n_boxes: int = 7, seed: int = 0, objects=OBJECTS, labels=LABELS) -> list[EntityPrompt]:
    """`n` prompts from distinct random contexts, each with a random query.

    Args:
        n: number of prompts.
        n_boxes: segments per context (the paper uses 7).
        seed: sampling seed.
    """
    if not 1 <= n_boxes <= min(len(objects), len(labels)):
        raise InputError(f"n_boxes must be in [1, {min(len(objects), len(labels))}], got {n_boxes}")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        objs, labs = _context(rng, n_boxes, objects, labels)
        q = rng.randrange(n_boxes)
        out.append(EntityPrompt(objs, labs, q, labs[q], objs[q]))
    return out


def entity_batch(tokenizer, n: int, *, n_boxes: int = 7, seed: int = 0) -> EntityBatch:
    """Tokenised random prompts (see `random_prompts`)."""
    return tokenize_prompts(tokenizer, random_prompts(n, n_boxes=n_boxes, seed=seed), random.Random(seed))


def mean_ablation_prompts(tokenizer, n: int = 500, *, n_boxes: int = 7, seed: int = 1) -> EntityBatch:
    """The mean-ablation reference set: one prompt per context, each with a random query label."""
    return entity_batch(tokenizer, n, n_boxes=n_boxes, seed=seed + 10_000)


def path_patching_pairs(tokenizer, n: int, *, n_boxes: int = 7, seed: int = 0) -> tuple[EntityBatch, EntityBatch]:
    """Clean prompts and corrupt prompts for path patching.

    The corrupt prompt comes from another context, asks about segment (j+1) mod k, and its query label is replaced
    by a capital letter absent from its context (so the label carries no segment information).

    Returns:
        (clean, corrupt) batches of identical layout; `corrupt.prev_label_pos` is a random label position.
    """
    rng = random.Random(seed + 1)
    clean = random_prompts(n, n_boxes=n_boxes, seed=seed)
    corrupt = []
    for prompt in clean:
        objs, labs = _context(rng, n_boxes)
        query = (prompt.query + 1) % n_boxes
        absent = rng.choice([c for c in LABELS if c not in labs])
        corrupt.append(EntityPrompt(objs, labs, -1, absent, objs[query]))
    return tokenize_prompts(tokenizer, clean, rng), tokenize_prompts(tokenizer, corrupt, rng)


def desideratum_pairs(
    tokenizer, n: int, desideratum: Desideratum, *, n_boxes: int = 7, seed: int = 0
) -> tuple[EntityBatch, EntityBatch, torch.Tensor]:
    """Base/source pairs and the target token after patching a head set from source into base.

    | desideratum       | source                                    | target                              |
    |-------------------|-------------------------------------------|-------------------------------------|
    | `positional`      | another context, query segment p_s != p_b | base's object at segment p_s        |
    | `object_value`    | (same pairs)                              | source's object at p_s (its answer) |
    | `box_label_value` | query label = a base label at p_x != p_b, | base's object at p_x                |
    |                   | placed at a source segment p_s != p_x     |                                     |

    Returns:
        (base, source, target_ids [n]).

    Raises:
        InputError: an unknown desideratum.
    """
    if desideratum not in DESIDERATA:
        raise InputError(f"unknown desideratum {desideratum!r}: expected one of {', '.join(DESIDERATA)}")
    if n_boxes < 3:
        raise InputError(f"desiderata need at least 3 boxes, got {n_boxes}")
    rng = random.Random(seed + 7)
    bases, sources, targets = [], [], []
    for _ in range(n):
        b_objs, b_labs = _context(rng, n_boxes)
        p_b = rng.randrange(n_boxes)
        bases.append(EntityPrompt(b_objs, b_labs, p_b, b_labs[p_b], b_objs[p_b]))
        if desideratum == "box_label_value":
            p_x = rng.choice([i for i in range(n_boxes) if i != p_b])
            label = b_labs[p_x]
            p_s = rng.choice([i for i in range(n_boxes) if i != p_x])
            s_objs = tuple(rng.sample(OBJECTS, n_boxes))
            others = rng.sample([c for c in LABELS if c != label], n_boxes - 1)
            s_labs = tuple(others[:p_s] + [label] + others[p_s:])
            sources.append(EntityPrompt(s_objs, s_labs, p_s, label, s_objs[p_s]))
            targets.append(b_objs[p_x])
            continue
        s_objs, s_labs = _context(rng, n_boxes)
        p_s = rng.choice([i for i in range(n_boxes) if i != p_b])
        sources.append(EntityPrompt(s_objs, s_labs, p_s, s_labs[p_s], s_objs[p_s]))
        targets.append(b_objs[p_s] if desideratum == "positional" else s_objs[p_s])
    target_ids = torch.tensor([single_token_id(tokenizer, t) for t in targets], dtype=torch.long)
    return tokenize_prompts(tokenizer, bases, rng), tokenize_prompts(tokenizer, sources, rng), target_ids


def perturbed_positional_pairs(
    tokenizer, n: int, perturbation: Perturbation, *, n_boxes: int = 7, seed: int = 0
) -> tuple[EntityBatch, EntityBatch, torch.Tensor]:
    """The additional positional desiderata (paper Table 4): the source's surface changes, not the target.

    The base is a regular prompt asking about segment p_b. The source comes from another context, asks about
    its segment p_s != p_b (counted in its own segments, not counting an inserted one) and carries the
    perturbation. Patching the source's positional information into the base should make the model answer the
    base's object at segment p_s; for the `incorrect_segment` control the target is the base's object at
    (p_s + 1) mod k (never the base's own answer).

    | perturbation                    | source text ("the fig is in Box X" is the queried segment)    |
    |---------------------------------|---------------------------------------------------------------|
    | `random_text_start`             | "Here is a short story about some boxes and what they hold."  |
    |                                 | before the context                                            |
    | `random_text_end`               | the same sentence after the context, before the query         |
    | `tokens_between_box_and_object` | "the fig is contained in the Box X"                           |
    | `seg_start`                     | an extra segment (unused object and label) before the first   |
    | `seg_end`                       | an extra segment (unused object and label) after the last     |
    | `boxes_before_correct_segment`  | "there are three additional boxes, Box PP, Box BB and Box AA, |
    |                                 | the fig is in Box X"                                          |
    | `incorrect_segment`             | unchanged (control: the target is the base's object at p_s+1) |
    | `altered_order`                 | "Box X contains the fig"                                      |
    | `altered_association`           | "the fig is not in Box X"                                     |
    | `no_comma`                      | segments joined by " " instead of ", "                        |
    | `add_comma`                     | every segment reads "the fig, is in Box X"                    |

    Args:
        tokenizer: a Hugging Face tokenizer.
        n: number of pairs.
        perturbation: one of `PERTURBATIONS`.
        n_boxes: segments per base context (the source has one more for `seg_start` and `seg_end`).
        seed: sampling seed.

    Returns:
        (base, source, target_ids [n]); `source.prev_label_pos` is the label of its queried segment.

    Raises:
        InputError: an unknown perturbation, fewer than 2 boxes, or prompts the tokenizer cannot lay out.
    """
    if perturbation not in PERTURBATIONS:
        raise InputError(f"unknown perturbation {perturbation!r}: expected one of {', '.join(PERTURBATIONS)}")
    if n_boxes < 3:
        raise InputError(f"perturbed pairs need at least 3 boxes, got {n_boxes}")
    extra = 1 if perturbation in ("seg_start", "seg_end") else 0
    shift = 1 if perturbation == "seg_start" else 0  # the source's segment p_s sits at index p_s + shift
    rng = random.Random(seed + 11)
    bases, sources, targets = [], [], []
    for _ in range(n):
        b_objs, b_labs = _context(rng, n_boxes)
        p_b = rng.randrange(n_boxes)
        bases.append(EntityPrompt(b_objs, b_labs, p_b, b_labs[p_b], b_objs[p_b]))
        s_objs, s_labs = _context(rng, n_boxes + extra)
        # the control's target must not be the base's own answer, which an unpatched model already gives
        p_s = rng.choice(
            [
                i
                for i in range(n_boxes)
                if i != p_b and (perturbation != "incorrect_segment" or (i + 1) % n_boxes != p_b)
            ]
        )
        q = p_s + shift
        sources.append(EntityPrompt(s_objs, s_labs, q, s_labs[q], s_objs[q], perturbation))
        targets.append(b_objs[(p_s + 1) % n_boxes if perturbation == "incorrect_segment" else p_s])
    target_ids = torch.tensor([single_token_id(tokenizer, t) for t in targets], dtype=torch.long)
    return tokenize_prompts(tokenizer, bases, rng), tokenize_prompts(tokenizer, sources, rng), target_ids
