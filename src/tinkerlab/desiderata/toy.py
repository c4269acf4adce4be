"""A hand-built two-layer Llama with a planted binding head and a planted result MLP, for tests and the demo.

Part of `tinkerlab.desiderata` (Davies et al., 2023). The toy task reads 'A3 B5 op1' (the queried variable's value 3,
another variable's value 5, operation 1) and answers (3 + 1) mod 10 = '4': operation k adds k. The weights are set
by hand so that the ground truth is known:

* `L0H0` (the binding head) attends uniformly and copies the A value into a 'carried value' channel of the final
  token's residual stream; no other head and no layer-0 MLP writes anything;
* `L1 MLP` (the result MLP) has one hidden unit per (operation, value) pair; it reads the carried value and the
  operation token and writes the answer; the unembedding reads that answer.

Patching `L0H0` from an alternate carries the alternate's value into the computation (value change) and keeps the
original's operation (operation invariance). Patching `L1 MLP` also satisfies value change (it carries the
alternate's *result*), but it breaks operation invariance: it is the distractor that only the invariance desideratum
can rule out.
"""

from __future__ import annotations

import random

VALUES = 10
OPS = 6
TRAIN_OPS = (0, 1, 2, 3)
HELDOUT_OPS = (4, 5)
BINDING = "L0H0"
DISTRACTOR = "L1 MLP"


def toy_vocabulary() -> list[str]:
    words = ["<s>", "<pad>", "<unk>"]
    words += [f"A{v}" for v in range(VALUES)] + [f"B{v}" for v in range(VALUES)] + [f"op{o}" for o in range(OPS)]
    words += [str(v) for v in range(VALUES)]
    return words


def toy_tokenizer():
    """A word-level tokenizer over the toy vocabulary that prepends '<s>'."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(toy_vocabulary())}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", pad_token="<pad>", unk_token="<unk>")


def planted_model():
    """The hand-built model (frozen, eval mode): a transformers Llama with 2 layers x 4 heads, d_model 64."""
    import torch
    import transformers as tf

    vocab = toy_vocabulary()
    ids = {w: i for i, w in enumerate(vocab)}
    d, heads, dh = 64, 4, 16
    config = tf.LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=d,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=32,
        rms_norm_eps=1e-6,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=1,
        tie_word_embeddings=False,
        attn_implementation="sdpa",
    )
    model = tf.LlamaForCausalLM(config)
    a_dim, b_dim, op_dim, const, carried, answer = 0, 10, 20, 63, 30, 40
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
        emb = model.model.embed_tokens.weight
        emb[:, const] = 1.0
        for v in range(VALUES):
            emb[ids[f"A{v}"], a_dim + v] = 1.0
            emb[ids[f"B{v}"], b_dim + v] = 1.0
        for o in range(OPS):
            emb[ids[f"op{o}"], op_dim + o] = 1.0
        # layer 0: q = k = 0, so every head attends uniformly over the prefix; head 0 reads the A channel
        attn = model.model.layers[0].self_attn
        scale = 32.0**0.5  # the A token's normalised feature (RMS over 64 dims of two ones)
        n_tokens = 4  # '<s> A B op': the final token averages the A value over 4 positions
        for v in range(VALUES):
            attn.v_proj.weight[v, a_dim + v] = 1.0  # head 0, dims 0..9
            attn.o_proj.weight[carried + v, v] = n_tokens / scale  # carried value of size 1
        # other heads read the B channel and the op channel but write nothing (o_proj columns stay 0)
        for v in range(VALUES):
            attn.v_proj.weight[dh + v, b_dim + v] = 1.0
        # layer 1 MLP: unit (o, v) fires when the carried value is v and the operation is o
        mlp = model.model.layers[1].mlp
        norm = (64 / 3) ** 0.5  # features of the final token (op, const, carried) after RMS normalisation
        gain = 2.0
        fired = gain * norm
        silu = fired / (1 + torch.exp(torch.tensor(-fired))).item()
        for o in range(OPS):
            for v in range(VALUES):
                unit = o * VALUES + v
                mlp.gate_proj.weight[unit, carried + v] = gain
                mlp.gate_proj.weight[unit, op_dim + o] = gain
                mlp.gate_proj.weight[unit, const] = -gain
                mlp.up_proj.weight[unit, const] = 1.0 / norm
                mlp.down_proj.weight[answer + (v + o) % VALUES, unit] = 1.0 / silu
        for v in range(VALUES):
            model.lm_head.weight[ids[str(v)], answer + v] = 5.0
    model.eval()
    model.requires_grad_(False)
    return model


def toy_prompt(a: int, b: int, op: int) -> str:
    return f"A{a} B{b} op{op}"


def toy_answer(a: int, op: int) -> str:
    return str((a + op) % VALUES)


def toy_items(desideratum: str, n: int, *, seed: int = 0, heldout: bool = False) -> list[dict]:
    """Items of 'value_change', 'variable_invariance' or 'operation_invariance' on the toy task."""
    rng = random.Random(f"toy-{seed}-{desideratum}-{heldout}")
    ops = HELDOUT_OPS if heldout else TRAIN_OPS
    out = []
    for _ in range(n):
        a, b, op = rng.randrange(VALUES), rng.randrange(VALUES), rng.choice(ops)
        if desideratum == "value_change":
            new = rng.choice([x for x in range(VALUES) if x != a])
            alternate, target = toy_prompt(new, b, op), toy_answer(new, op)
        elif desideratum == "variable_invariance":
            alternate, target = toy_prompt(a, rng.choice([x for x in range(VALUES) if x != b]), op), toy_answer(a, op)
        elif desideratum == "operation_invariance":
            other = rng.choice([x for x in (HELDOUT_OPS + TRAIN_OPS if heldout else TRAIN_OPS) if x != op])
            alternate, target = toy_prompt(a, b, other), toy_answer(a, op)
        else:
            raise ValueError(f"unknown toy desideratum {desideratum!r}")
        out.append(
            {
                "original": toy_prompt(a, b, op),
                "alternate": alternate,
                "target": target,
                "split": "heldout" if heldout else "train",
            }
        )
    return out


def toy_spec(desiderata=("value_change", "operation_invariance"), *, n: int = 64, heldout: int = 32, **mask):
    """A `Spec` of toy desiderata (kinds from `tasks.DESIDERATA_KINDS`); `mask` sets `MaskSettings` fields."""
    from tinkerlab.desiderata.spec import Desideratum, Item, MaskSettings, Spec
    from tinkerlab.desiderata.tasks import DESIDERATA_KINDS

    entries = []
    for name in desiderata:
        rows = toy_items(name, n) + toy_items(name, heldout, heldout=True)
        items = tuple(Item(r["original"], r["alternate"], r["target"], r["split"]) for r in rows)
        entries.append(Desideratum(name, DESIDERATA_KINDS[name], items))
    return Spec(tuple(entries), MaskSettings(**mask))
