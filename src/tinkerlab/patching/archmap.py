"""Architecture maps: where per-head outputs, q/k/v, MLP outputs and the residual stream live in a Hugging Face LM.

Part of the `tinkerlab.patching` engine (first written for Prakash et al., "Fine-Tuning Enhances Existing
Mechanisms: A Case Study on Entity Tracking", ICLR 2024). Every method of the engine speaks one activation-name
grammar:

| canonical name              | shape seen by an edit | where it is hooked                                      |
|-----------------------------|-----------------------|---------------------------------------------------------|
| `layers.{l}.attn.head_out`  | [B, S, H, Dh]         | input of the attention output projection (before W_O)   |
| `layers.{l}.attn.q`         | [B, S, H, Dh]         | query projection output (before RoPE)                   |
| `layers.{l}.attn.k`         | [B, S, Hkv, Dh]       | key projection output (grouped-query aware: Hkv heads)  |
| `layers.{l}.attn.v`         | [B, S, Hkv, Dh]       | value projection output                                 |
| `layers.{l}.attn.pattern`   | [B, S, H, S_k]        | attention probabilities (query position second, like    |
|                             |                       | every site; computed eagerly for the hooked layers)     |
| `layers.{l}.attn.out`       | [B, S, D]             | attention block output (after W_O)                      |
| `layers.{l}.mlp.out`        | [B, S, D]             | MLP output                                              |
| `layers.{l}.resid_pre`      | [B, S, D]             | residual stream entering block l                        |
| `layers.{l}.resid_post`     | [B, S, D]             | residual stream leaving block l                         |

A family map (`FamilyMap`) says which submodule holds each of these. Supported families: Llama-style (Llama,
SmolLM2, Mistral, Qwen2/3), Gemma-2, Gemma-3 text, Phi-3 (fused qkv), GPT-2 and GPT-NeoX. To add a family, write
one `FamilyMap` (the module paths of the layer list, attention, its output projection, q/k/v (or the fused qkv and
its layout) and the MLP) and register it with `register_family(model_type, family_map)`: registration runs one
forward of a tiny model of that type and refuses a map whose sites have the wrong shapes or whose block parts do not
rebuild the block's output.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from tinkerlab.core.errors import InputError

QKVLayout = Literal["separate", "gpt2_fused", "neox_fused", "sliced"]
ResidualLayout = Literal["sequential", "sandwich", "parallel"]
SiteKind = Literal["head_out", "q", "k", "v", "pattern", "attn_out", "mlp_out", "resid_pre", "resid_post"]

SITE_SUFFIXES: dict[str, SiteKind] = {
    "attn.head_out": "head_out",
    "attn.q": "q",
    "attn.k": "k",
    "attn.v": "v",
    "attn.pattern": "pattern",
    "attn.out": "attn_out",
    "mlp.out": "mlp_out",
    "resid_pre": "resid_pre",
    "resid_post": "resid_post",
}
_SITE_RE = re.compile(r"^layers\.(\d+)\.(.+)$")


@dataclass(frozen=True)
class FamilyMap:
    """Module paths of one model family, relative to the causal-LM model object.

    Attributes:
        name: the family's display name.
        layers: dotted path of the ModuleList of decoder blocks.
        attn: path of the attention module inside a block.
        out_proj: path of the attention output projection inside the attention module.
        mlp: path of the MLP inside a block.
        qkv_layout: 'separate' (q_proj/k_proj/v_proj), 'gpt2_fused' (GPT-2's Conv1D c_attn = [q | k | v]),
            'neox_fused' (query_key_value viewed as [..., H, 3 * Dh]) or 'sliced' (one Linear whose output is
            [q | k | v] with H * Dh, Hkv * Dh and Hkv * Dh features: Phi-3's qkv_proj).
        q, k, v: paths of the projections inside the attention module ('separate'); for fused layouts `q` names
            the fused projection.
        input_norm: the norm in front of attention, inside a block.
        mlp_norm: the norm in front of the MLP, inside a block.
        final_norm: the norm in front of the unembedding, relative to the model object.
        residual: how a block adds its parts to the residual stream h (a = attention output, m = MLP):
            'sequential' h + a, then + m(mlp_norm(.)) (Llama, GPT-2); 'sandwich' h + post_attn_norm(a), then
            + post_mlp_norm(m(mlp_norm(.))) (Gemma-3); 'parallel' h + a + m(mlp_norm(h)) (GPT-NeoX with
            `use_parallel_residual`, the default).
        post_attn_norm, post_mlp_norm: the extra norms of the 'sandwich' layout.

    The block parts let partial forwards (`tinkerlab.patching.partial`) run a block with its attention output
    given, without recomputing attention.
    """

    name: str
    layers: str
    attn: str
    out_proj: str
    mlp: str
    qkv_layout: QKVLayout
    q: str
    k: str = ""
    v: str = ""
    input_norm: str = "input_layernorm"
    mlp_norm: str = "post_attention_layernorm"
    final_norm: str = "model.norm"
    residual: ResidualLayout = "sequential"
    post_attn_norm: str = ""
    post_mlp_norm: str = ""


LLAMA = FamilyMap(
    "Llama-style (Llama, SmolLM2, Mistral, Qwen2)",
    "model.layers",
    "self_attn",
    "o_proj",
    "mlp",
    "separate",
    "q_proj",
    "k_proj",
    "v_proj",
)
GEMMA2 = FamilyMap(
    "Gemma-2",
    "model.layers",
    "self_attn",
    "o_proj",
    "mlp",
    "separate",
    "q_proj",
    "k_proj",
    "v_proj",
    mlp_norm="pre_feedforward_layernorm",
    residual="sandwich",
    post_attn_norm="post_attention_layernorm",
    post_mlp_norm="post_feedforward_layernorm",
)
PHI3 = FamilyMap("Phi-3", "model.layers", "self_attn", "o_proj", "mlp", "sliced", "qkv_proj")
GEMMA3 = FamilyMap(
    "Gemma-3 (text)",
    "model.layers",
    "self_attn",
    "o_proj",
    "mlp",
    "separate",
    "q_proj",
    "k_proj",
    "v_proj",
    mlp_norm="pre_feedforward_layernorm",
    residual="sandwich",
    post_attn_norm="post_attention_layernorm",
    post_mlp_norm="post_feedforward_layernorm",
)
GPT2 = FamilyMap(
    "GPT-2",
    "transformer.h",
    "attn",
    "c_proj",
    "mlp",
    "gpt2_fused",
    "c_attn",
    input_norm="ln_1",
    mlp_norm="ln_2",
    final_norm="transformer.ln_f",
)
GPT_NEOX = FamilyMap(
    "GPT-NeoX (Pythia)",
    "gpt_neox.layers",
    "attention",
    "dense",
    "mlp",
    "neox_fused",
    "query_key_value",
    final_norm="gpt_neox.final_layer_norm",
    residual="parallel",
)

FAMILIES: dict[str, FamilyMap] = {
    "llama": LLAMA,
    "mistral": LLAMA,
    "qwen2": LLAMA,
    "qwen3": LLAMA,
    "gemma2": GEMMA2,
    "gemma3_text": GEMMA3,
    "phi3": PHI3,
    "gpt2": GPT2,
    "gpt_neox": GPT_NEOX,
}


def register_family(model_type: str, family: FamilyMap, *, model: nn.Module | None = None, check: bool = True) -> None:
    """Teach the package a new `config.model_type` (see the module docstring for what a map holds).

    The map is checked first (`check_family`) with one forward on a tiny input: on `model` when given, else on a
    tiny randomly initialised model of that type built from its transformers config. A map that names a wrong
    module (say OPT's `fc1` as the MLP) is refused here instead of failing later inside a patching run.

    Args:
        model_type: the `config.model_type` the map is for.
        family: the module paths.
        model: a model of that type to check the map on (any size; one 2 x 6 token forward).
        check: False registers without the check (for a type transformers cannot build offline).

    Raises:
        InputError: the map fails the check (every problem is named), or no model of that type can be built.
    """
    if check:
        check_family(model if model is not None else _tiny_of_type(model_type), family)
    FAMILIES[model_type] = family


def _tiny_of_type(model_type: str) -> nn.Module:
    """A tiny random causal LM of a transformers model type (2 layers, width 64), for `register_family`."""
    try:
        from transformers import AutoConfig, AutoModelForCausalLM

        defaults = AutoConfig.for_model(model_type)
        wanted = {
            "vocab_size": 128,
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "ffn_dim": 128,
            "n_inner": 128,
            "head_dim": 16,
            "word_embed_proj_dim": 64,
        }
        if getattr(defaults, "num_key_value_heads", None) is not None:
            wanted["num_key_value_heads"] = 2
        config = AutoConfig.for_model(model_type, **{k: v for k, v in wanted.items() if hasattr(defaults, k)})
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config)
    except (ImportError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"cannot build a tiny {model_type!r} model to check the map on ({exc}); pass model=... "
            "(a model of that type) to register_family"
        ) from None
    return model.eval().requires_grad_(False)


def check_family(model: nn.Module, family: FamilyMap) -> None:
    """Check a family map on a model with one forward of a 2 x 6 token input.

    Checked: every module path resolves; per layer, the output projection's input has H * Dh features, q/k/v (or
    the fused projection) have their head counts' features, the attention module, the MLP and the norms give
    [B, S, D]; and block 0 rebuilt from its parts (`partial.block_with_attention`) equals the block's output.

    Raises:
        InputError: naming every check that failed.
    """
    amap = _resolve(model, family, getattr(model.config, "model_type", "?"))
    problems: list[str] = []
    modules: dict[str, nn.Module] = {}
    block_parts = ["input_norm", "mlp_norm"] + (
        ["post_attn_norm", "post_mlp_norm"] if amap.residual == "sandwich" else []
    )
    try:
        amap.layers(model)
    except (AttributeError, IndexError, TypeError):
        raise InputError(f"{family.name}: no module list at {family.layers!r}") from None
    layer = 0
    for kind in ("head_out", "q", "k", "v", "attn_out", "mlp_out"):
        try:
            modules[kind] = amap.module_for(model, layer, kind)  # type: ignore[arg-type]
        except (AttributeError, IndexError):
            problems.append(f"no module for {kind} (paths {family.attn!r}, {family.out_proj!r}, {family.q!r}, ...)")
    for part in block_parts:
        try:
            modules[part] = amap.block_part(model, layer, part)
        except (AttributeError, IndexError):
            problems.append(f"no block part {part} at {getattr(family, part)!r}")
    try:
        modules["final_norm"] = amap.final_norm(model)
    except AttributeError:
        problems.append(f"no final norm at {family.final_norm!r}")
    if problems:
        raise InputError(f"the {family.name} map does not fit {type(model).__name__}: " + "; ".join(problems))
    seen: dict[str, tuple] = {}
    handles = []

    def record(name: str, use_input: bool):
        def hook(module, args, out):
            value = args[0] if use_input else (out[0] if isinstance(out, tuple) else out)
            seen.setdefault(name, tuple(value.shape))

        return hook

    for name, module in modules.items():
        handles.append(module.register_forward_hook(record(name, name == "head_out")))
    hd, h, hkv, d = amap.head_dim, amap.n_heads, amap.n_kv_heads, amap.d_model
    if family.qkv_layout == "separate":
        expected = {"head_out": h * hd, "q": h * hd, "k": hkv * hd, "v": hkv * hd}
    else:
        fused = 3 * h * hd if family.qkv_layout == "neox_fused" else (h + 2 * hkv) * hd
        expected = {"head_out": h * hd, "q": fused, "k": fused, "v": fused}
    expected.update({name: d for name in ("attn_out", "mlp_out", "final_norm", *block_parts)})
    ids = torch.arange(12).view(2, 6) % max(2, int(getattr(model.config, "vocab_size", 12)))
    ids = ids.to(next(model.parameters()).device)
    try:
        with torch.no_grad():
            model(ids)
    finally:
        for handle in handles:
            handle.remove()
    for name, features in expected.items():
        shape = seen.get(name)
        if shape is None:
            problems.append(f"{name} ({type(modules[name]).__name__}) never ran in a forward")
        elif shape[-1] != features or shape[:2] != (2, 6):
            problems.append(f"{name} ({type(modules[name]).__name__}) gives {list(shape)}, expected [2, 6, {features}]")
    if not problems:
        problems += _block_rebuild_problems(model, amap, ids)
    if problems:
        raise InputError(f"the {family.name} map does not fit {type(model).__name__}: " + "; ".join(problems))


def _block_rebuild_problems(model: nn.Module, amap: ArchMap, ids: torch.Tensor) -> list[str]:
    from tinkerlab.patching.partial import block_with_attention

    captured: dict[str, torch.Tensor] = {}
    block, attn = amap.layers(model)[0], amap.attn(model, 0)

    def pre(module, args, kwargs):
        captured["in"] = (args[0] if args else kwargs["hidden_states"]).detach()

    def post(module, args, out):
        captured["out"] = (out[0] if isinstance(out, tuple) else out).detach()

    def attn_hook(module, args, out):
        captured["attn"] = (out[0] if isinstance(out, tuple) else out).detach()

    handles = [
        block.register_forward_pre_hook(pre, with_kwargs=True),
        block.register_forward_hook(post),
        attn.register_forward_hook(attn_hook),
    ]
    try:
        with torch.no_grad():
            model(ids)
            rebuilt = block_with_attention(model, 0, captured["in"], captured["attn"], amap)
    finally:
        for handle in handles:
            handle.remove()
    error = float((rebuilt - captured["out"]).abs().max())
    scale = float(captured["out"].abs().max()) + 1e-6
    if error > 1e-4 * max(1.0, scale):
        return [
            f"block 0 rebuilt from its parts (norms {amap.family.input_norm!r}, {amap.family.mlp_norm!r}, MLP "
            f"{amap.family.mlp!r}, {amap.residual} residual) differs from its output by {error:.3g}"
        ]
    return []


def _get(module: nn.Module, path: str) -> nn.Module:
    for part in path.split("."):
        module = module[int(part)] if part.isdigit() else getattr(module, part)
    return module


@dataclass(frozen=True)
class ArchMap:
    """A model's resolved architecture map: head counts and the module behind each canonical site."""

    family: FamilyMap
    model_type: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_model: int
    residual: ResidualLayout = "sequential"

    def kv_head_of(self, head: int | torch.Tensor) -> int | torch.Tensor:
        """The key/value head a query head reads (grouped-query attention)."""
        return head // (self.n_heads // self.n_kv_heads)

    def site_names(self) -> list[str]:
        return [f"layers.{layer}.{suffix}" for layer in range(self.n_layers) for suffix in SITE_SUFFIXES]

    def parse(self, site: str) -> tuple[int, SiteKind]:
        """Split a canonical name into (layer, kind).

        Raises:
            InputError: the name is not canonical or the layer is out of range; names the closest valid names.
        """
        match = _SITE_RE.match(site)
        if match and match.group(2) in SITE_SUFFIXES and int(match.group(1)) < self.n_layers:
            return int(match.group(1)), SITE_SUFFIXES[match.group(2)]
        close = difflib.get_close_matches(site, self.site_names(), n=3, cutoff=0.5)
        hint = f"; closest valid names: {', '.join(close)}" if close else ""
        raise InputError(
            f"unknown activation name {site!r} for this {self.n_layers}-layer {self.family.name} model: expected "
            f"'layers.{{0..{self.n_layers - 1}}}.<{'|'.join(SITE_SUFFIXES)}>'{hint}"
        )

    def n_site_heads(self, kind: SiteKind) -> int:
        """Heads along the head axis of a site (0 for sites without a head axis)."""
        if kind in ("head_out", "q"):
            return self.n_heads
        if kind in ("k", "v"):
            return self.n_kv_heads
        if kind == "pattern":
            return self.n_heads
        return 0

    def qkv_slice(self, kind: SiteKind) -> slice:
        """Features of q, k or v inside a fused [q | k | v] projection output ('gpt2_fused' and 'sliced')."""
        q, kv = self.n_heads * self.head_dim, self.n_kv_heads * self.head_dim
        return {"q": slice(0, q), "k": slice(q, q + kv), "v": slice(q + kv, q + 2 * kv)}[kind]

    def layers(self, model: nn.Module) -> nn.ModuleList:
        return _get(model, self.family.layers)

    def attn(self, model: nn.Module, layer: int) -> nn.Module:
        return _get(self.layers(model)[layer], self.family.attn)

    def module_for(self, model: nn.Module, layer: int, kind: SiteKind) -> nn.Module:
        """The submodule whose hook exposes the site (kind) of layer `layer`."""
        block = self.layers(model)[layer]
        if kind == "head_out":
            return _get(block, f"{self.family.attn}.{self.family.out_proj}")
        if kind in ("q", "k", "v"):
            name = self.family.q if self.family.qkv_layout != "separate" else getattr(self.family, kind)
            return _get(block, f"{self.family.attn}.{name}")
        if kind in ("attn_out", "pattern"):
            return _get(block, self.family.attn)
        if kind == "mlp_out":
            return _get(block, self.family.mlp)
        return block  # resid_pre (pre-hook) and resid_post (hook)

    def block_part(self, model: nn.Module, layer: int, part: str) -> nn.Module:
        """A named part of block `layer`: 'input_norm', 'mlp_norm', 'post_attn_norm', 'post_mlp_norm', 'mlp' or
        'out_proj'."""
        block = self.layers(model)[layer]
        if part == "out_proj":
            return self.module_for(model, layer, "head_out")
        return _get(block, getattr(self.family, part))

    def final_norm(self, model: nn.Module) -> nn.Module:
        return _get(model, self.family.final_norm)

    def out_proj_weight(self, model: nn.Module, layer: int) -> torch.Tensor:
        """W_O as [d_model, H * Dh] (GPT-2's Conv1D stores the transpose)."""
        proj = self.module_for(model, layer, "head_out")
        weight = proj.weight
        return weight.t() if self.family.qkv_layout == "gpt2_fused" else weight


def _config_value(config, *names: str, default=None):
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return value
    return default


def arch_map(model: nn.Module) -> ArchMap:
    """Resolve the architecture map of a Hugging Face causal LM (cached on the model object).

    Raises:
        InputError: the model's family is unknown; the message lists the supported families and how to add one.
    """
    cached = getattr(model, "_tinkerlab_archmap", None)
    if cached is not None:
        return cached
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type not in FAMILIES:
        supported = ", ".join(f"{key} ({fam.name})" for key, fam in FAMILIES.items())
        raise InputError(
            f"no architecture map for model_type {model_type!r} ({type(model).__name__}); supported: {supported}. "
            "To add one, describe its module paths with tinkerlab.patching.archmap.FamilyMap(...) and call "
            f"register_family({model_type!r}, family_map)"
        )
    amap = _resolve(model, FAMILIES[model_type], model_type)
    model._tinkerlab_archmap = amap  # plain attribute: resolved once per model object
    return amap


def _resolve(model: nn.Module, family: FamilyMap, model_type: str) -> ArchMap:
    config = model.config
    n_heads = int(_config_value(config, "num_attention_heads", "n_head"))
    d_model = int(_config_value(config, "hidden_size", "n_embd"))
    n_kv = int(_config_value(config, "num_key_value_heads", default=n_heads))
    head_dim = int(_config_value(config, "head_dim", default=d_model // n_heads))
    n_layers = int(_config_value(config, "num_hidden_layers", "n_layer"))
    residual = family.residual
    if residual == "parallel" and not getattr(config, "use_parallel_residual", True):
        residual = "sequential"
    return ArchMap(family, model_type, n_layers, n_heads, n_kv, head_dim, d_model, residual)
