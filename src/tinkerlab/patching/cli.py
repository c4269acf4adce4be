"""`tinkerlab patching sites MODEL`: the architecture map of a Hugging Face causal LM in the engine's site grammar.

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)

MODEL_HELP = (
    "A transformers model folder (config.json and weights), or tiny:FAMILY "
    "(llama, gemma2, gemma3, phi3, gpt2, gpt_neox)."
)


@app.callback()
def _group() -> None:
    """Interventions on Hugging Face LMs: the site grammar every patching method speaks."""


@app.command()
def sites(
    model: Annotated[str, typer.Argument(metavar="MODEL", help=MODEL_HELP)],
    layer: Annotated[int, typer.Option("--layer", min=0, help="Show the modules behind the sites of this layer.")] = 0,
) -> None:
    """Print a model's family, sizes, and the canonical activation names with their shapes and modules."""
    from pathlib import Path

    from tinkerlab.core.errors import InputError
    from tinkerlab.patching.archmap import SITE_SUFFIXES, arch_map
    from tinkerlab.patching.models import FAMILIES, load_pretrained, tiny_model

    if model.startswith("tiny:"):
        family = model.split(":", 1)[1]
        if family not in FAMILIES:
            raise InputError(f"expected tiny:FAMILY with FAMILY one of {', '.join(FAMILIES)}, got {model!r}")
        network = tiny_model(family)  # type: ignore[arg-type]
    else:
        network = load_pretrained(Path(model))
    amap = arch_map(network)
    if layer >= amap.n_layers:
        raise InputError(f"--layer must be in [0, {amap.n_layers - 1}] for this model, got {layer}")
    typer.echo(
        f"{amap.family.name} ({amap.model_type}): {amap.n_layers} layers, {amap.n_heads} heads "
        f"({amap.n_kv_heads} key/value heads), head size {amap.head_dim}, d_model {amap.d_model}, "
        f"{amap.residual} residual"
    )
    shapes = {
        "head_out": f"[B, S, {amap.n_heads}, {amap.head_dim}]",
        "q": f"[B, S, {amap.n_heads}, {amap.head_dim}]",
        "k": f"[B, S, {amap.n_kv_heads}, {amap.head_dim}]",
        "v": f"[B, S, {amap.n_kv_heads}, {amap.head_dim}]",
        "pattern": f"[B, S, {amap.n_heads}, S_k]",
    }
    names = {module: name for name, module in network.named_modules()}
    for suffix, kind in SITE_SUFFIXES.items():
        site = f"layers.{layer}.{suffix}"
        module = names.get(amap.module_for(network, layer, kind), "?")
        typer.echo(f"  {site:<28} {shapes.get(kind, f'[B, S, {amap.d_model}]'):<18} {module}")
