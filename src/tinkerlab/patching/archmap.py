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
| `layers.{l}.attn.out`       | [B, S, D]             | attention block output (after W_O)                      |
| `layers.{l}.mlp.out`        | [B, S, D]             | MLP output                                              |
| `layers.{l}.resid_pre`      | [B, S, D]             | residual stream entering block l                        |
| `layers.{l}.resid_post`     | [B, S, D]             | residual stream leaving block l                         |

A family map (`FamilyMap`) says which submodule holds each of these. Supported families: Llama-style (Llama,
SmolLM2, Mistral, Qwen2/3), Gemma-3 text, GPT-2 and GPT-NeoX. To add a family, write one `FamilyMap` (the module
paths of the layer list, attention, its output projection, q/k/v (or the fused qkv and its layout) and the MLP)
and register it with `register_family(model_type, family_map)`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from tinkerlab.core.errors import InputError

QKVLayout = Literal["separate", "gpt2_fused", "neox_fused"]
ResidualLayout = Literal["sequential", "sandwich", "parallel"]
SiteKind = Literal["head_out", "q", "k", "v", "attn_out", "mlp_out", "resid_pre", "resid_post"]

SITE_SUFFIXES: dict[str, SiteKind] = {
    "attn.head_out": "head_out",
    "attn.q": "q",
    "attn.k": "k",
    "attn.v": "v",
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
        qkv_layout: 'separate' (q_proj/k_proj/v_proj), 'gpt2_fused' (c_attn = [q | k | v]) or 'neox_fused'
            (query_key_value viewed as [..., H, 3 * Dh]).
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
    "gemma3_text": GEMMA3,
    "gpt2": GPT2,
    "gpt_neox": GPT_NEOX,
}


def register_family(model_type: str, family: FamilyMap) -> None:
    """Teach the package a new `config.model_type` (see the module docstring for what a map holds)."""
    FAMILIES[model_type] = family


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
        return 0

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
        if kind == "attn_out":
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
    family = FAMILIES[model_type]
    n_heads = int(_config_value(config, "num_attention_heads", "n_head"))
    d_model = int(_config_value(config, "hidden_size", "n_embd"))
    n_kv = int(_config_value(config, "num_key_value_heads", default=n_heads))
    head_dim = int(_config_value(config, "head_dim", default=d_model // n_heads))
    n_layers = int(_config_value(config, "num_hidden_layers", "n_layer"))
    residual = family.residual
    if residual == "parallel" and not getattr(config, "use_parallel_residual", True):
        residual = "sequential"
    amap = ArchMap(family, model_type, n_layers, n_heads, n_kv, head_dim, d_model, residual)
    model._tinkerlab_archmap = amap  # plain attribute: resolved once per model object
    return amap
