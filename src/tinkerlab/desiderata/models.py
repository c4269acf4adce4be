"""Models for `tinkerlab.desiderata`: the packaged SmolLM2-135M, its variable-binding fine-tune, any causal LM by path.

Part of `tinkerlab.desiderata` (Davies et al., 2023). Names: `smollm2` (the packaged GGUF, dequantised and cached by
`tinkerlab.llm`), `binding` (made by `tinkerlab desiderata finetune`, cached in the user cache directory); anything
else is a transformers folder (config.json and weights) or a .gguf file of a family the patching engine maps.
"""

from __future__ import annotations

from pathlib import Path

from tinkerlab.core.errors import InputError, MissingAssetError, require

MODEL_NAMES: tuple[str, ...] = ("smollm2", "binding")


def is_model_path(spec: str) -> bool:
    path = Path(spec)
    return (path / "config.json").is_file() or (path.suffix == ".gguf" and path.is_file())


def resolve_model(spec: str) -> str:
    """A model name or an absolute path (so a run records where its model is).

    Raises:
        InputError: neither a known name nor a model on disk.
    """
    if spec in MODEL_NAMES:
        return spec
    if is_model_path(spec):
        return str(Path(spec).resolve())
    raise InputError(
        f"--model: expected {' | '.join(MODEL_NAMES)} or PATH (a transformers folder with config.json, or a .gguf "
        f"file), got {spec!r}"
    )


def load_model(spec: str = "binding", *, device: str = "cpu", dtype: str = "float32"):
    """(model, tokenizer), frozen and in eval mode.

    Raises:
        MissingAssetError: `binding` has not been made yet.
        InputError: an unknown name or path.
    """
    require("transformers", extra="patching")
    import torch

    from tinkerlab.desiderata.finetune import is_cached, model_dir
    from tinkerlab.patching.models import DTYPES, load_pretrained

    spec = resolve_model(spec)
    if spec == "smollm2":
        from tinkerlab.core.seeding import choose_device
        from tinkerlab.llm.local import load_local_model

        loaded = load_local_model()
        model = loaded.model.requires_grad_(False).eval()
        if device != "cpu" or dtype != "float32":
            model = model.to(choose_device(device), DTYPES.get(dtype, torch.float32))
        return model, loaded.tokenizer
    if spec == "binding":
        if not is_cached():
            raise MissingAssetError("the variable-binding SmolLM2 fine-tune", "tinkerlab desiderata finetune")
        spec = str(model_dir())
    return load_pretrained(spec, with_tokenizer=True, device=device, dtype=dtype)
