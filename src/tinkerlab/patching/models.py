"""Models for the `tinkerlab.patching` engine: any transformers causal-LM folder, and tiny random models.

`load_pretrained(path)` loads a model folder (a user's own weights, or a cached copy) frozen, in eval mode.
`tiny_model(family)` builds a tiny randomly initialised causal LM of every architecture family the engine maps;
they run in milliseconds, so the engine's tests (and the systems' tests) check every intervention on Llama (with
grouped-query attention), Gemma-2, Gemma-3, Phi-3 (fused qkv), GPT-2 and GPT-NeoX layouts without any download.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from tinkerlab.core.errors import InputError, require

Family = Literal["llama", "gemma2", "gemma3", "phi3", "gpt2", "gpt_neox"]
FAMILIES: tuple[str, ...] = ("llama", "gemma2", "gemma3", "phi3", "gpt2", "gpt_neox")
DType = Literal["float32", "bfloat16", "float16"]
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's input embedding (where its input ids must go; with `device_map="auto"` the other
    layers may sit elsewhere, and the engine's edits follow each activation's own device)."""
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    parameter = next(embeddings.parameters()) if embeddings is not None else next(model.parameters())
    return parameter.device


def load_pretrained(
    path: str | Path, *, device: str = "cpu", dtype: DType | str = "float32", with_tokenizer: bool = False
):
    """A transformers causal LM from a local folder or GGUF file, frozen and in eval mode.

    Args:
        path: a folder with config.json and weights (as written by `save_pretrained`), or a `.gguf` file
            (dequantised by transformers; needs the `gguf` package).
        device: where the weights go: 'cpu', 'cuda', 'cuda:N', 'mps', or 'auto' (with several GPUs and
            `accelerate` installed, `device_map="auto"` spreads a model that does not fit one device over them;
            else the one GPU, or the CPU).
        dtype: 'float32' (the default), 'bfloat16' or 'float16'.
        with_tokenizer: also load the tokenizer and return (model, tokenizer).

    Raises:
        InputError: the path is neither a model folder nor a GGUF file, or an unknown dtype.
    """
    require("transformers", extra="patching")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    path = Path(path)
    extra: dict = {}
    folder = path
    if path.suffix == ".gguf" and path.is_file():
        folder, extra = path.parent, {"gguf_file": path.name}
    elif not (path / "config.json").is_file():
        raise InputError(
            f"{path} is not a transformers model folder (nor a .gguf file): expected {path / 'config.json'} and "
            "weights (save one with model.save_pretrained(folder)), or a .gguf file"
        )
    from tinkerlab.core.progress import quiet_transformers
    from tinkerlab.core.seeding import choose_device

    spread = device == "auto" and torch.cuda.device_count() > 1 and importlib.util.find_spec("accelerate") is not None
    placement = {"device_map": "auto"} if spread else {}
    with quiet_transformers():
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=DTYPES[dtype], **placement, **extra)
        if not spread:
            model = model.to(choose_device(device))
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra) if with_tokenizer else None
    model.eval()
    model.requires_grad_(False)
    return (model, tokenizer) if with_tokenizer else model


def tiny_model(
    family: Family, *, seed: int = 0, n_layers: int = 3, n_heads: int = 4, d_model: int = 32, vocab: int = 64
) -> nn.Module:
    """A tiny randomly initialised causal LM of a supported family (for tests and examples).

    Args:
        family: 'llama' (with grouped-query attention, 2 key/value heads), 'gemma2', 'gemma3', 'phi3' (fused
            qkv, grouped-query), 'gpt2' or 'gpt_neox'.
        seed: initialisation seed.
        n_layers, n_heads, d_model, vocab: sizes.

    Returns:
        The model in eval mode with `attn_implementation='sdpa'`.
    """
    require("transformers", extra="patching")
    import transformers as tf

    common = dict(vocab_size=vocab, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    if family == "llama":
        config = tf.LlamaConfig(
            hidden_size=d_model,
            intermediate_size=2 * d_model,
            num_hidden_layers=n_layers,
            num_attention_heads=n_heads,
            num_key_value_heads=max(1, n_heads // 2),
            max_position_embeddings=128,
            **common,
        )
        cls = tf.LlamaForCausalLM
    elif family == "gemma3":
        config = tf.Gemma3TextConfig(
            hidden_size=d_model,
            intermediate_size=2 * d_model,
            num_hidden_layers=n_layers,
            num_attention_heads=n_heads,
            num_key_value_heads=max(1, n_heads // 2),
            head_dim=d_model // n_heads,
            max_position_embeddings=128,
            sliding_window=64,
            **common,
        )
        cls = tf.Gemma3ForCausalLM
    elif family == "gemma2":
        config = tf.Gemma2Config(
            hidden_size=d_model,
            intermediate_size=2 * d_model,
            num_hidden_layers=n_layers,
            num_attention_heads=n_heads,
            num_key_value_heads=max(1, n_heads // 2),
            head_dim=d_model // n_heads,
            max_position_embeddings=128,
            sliding_window=64,
            **common,
        )
        cls = tf.Gemma2ForCausalLM
    elif family == "phi3":
        config = tf.Phi3Config(
            hidden_size=d_model,
            intermediate_size=2 * d_model,
            num_hidden_layers=n_layers,
            num_attention_heads=n_heads,
            num_key_value_heads=max(1, n_heads // 2),
            max_position_embeddings=128,
            original_max_position_embeddings=128,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attention_dropout=0.0,
            **common,
        )
        cls = tf.Phi3ForCausalLM
    elif family == "gpt2":
        config = tf.GPT2Config(
            n_embd=d_model,
            n_layer=n_layers,
            n_head=n_heads,
            n_positions=128,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            **common,
        )
        cls = tf.GPT2LMHeadModel
    elif family == "gpt_neox":
        config = tf.GPTNeoXConfig(
            hidden_size=d_model,
            intermediate_size=2 * d_model,
            num_hidden_layers=n_layers,
            num_attention_heads=n_heads,
            max_position_embeddings=128,
            **common,
        )
        cls = tf.GPTNeoXForCausalLM
    else:
        raise InputError(f"unknown family {family!r}: expected one of {', '.join(FAMILIES)}")
    torch.manual_seed(seed)
    model = cls(config)
    model.eval()
    model.requires_grad_(False)
    return model
