"""Models for the `tinkerlab.patching` engine: any transformers causal-LM folder, and tiny random models.

`load_pretrained(path)` loads a model folder (a user's own weights, or a cached copy) frozen, in eval mode.
`tiny_model(family)` builds a tiny randomly initialised causal LM of every architecture family the engine maps;
they run in milliseconds, so the engine's tests (and the systems' tests) check every intervention on Llama (with
grouped-query attention), Gemma-3, GPT-2 and GPT-NeoX layouts without any download.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import nn

from tinkerlab.core.errors import InputError, require

Family = Literal["llama", "gemma3", "gpt2", "gpt_neox"]
FAMILIES: tuple[str, ...] = ("llama", "gemma3", "gpt2", "gpt_neox")


def load_pretrained(path: str | Path, *, device: str = "cpu", with_tokenizer: bool = False):
    """A transformers causal LM from a local folder, float32, frozen and in eval mode.

    Args:
        path: a folder with config.json and weights (as written by `save_pretrained`).
        device: where the weights go.
        with_tokenizer: also load the folder's tokenizer and return (model, tokenizer).

    Raises:
        InputError: the folder does not exist or holds no config.json.
    """
    require("transformers", extra="patching")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    if not (path / "config.json").is_file():
        raise InputError(
            f"{path} is not a transformers model folder: expected {path / 'config.json'} and weights "
            "(save one with model.save_pretrained(folder))"
        )
    from tinkerlab.core.progress import quiet_transformers

    with quiet_transformers():
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(device)
        tokenizer = AutoTokenizer.from_pretrained(path) if with_tokenizer else None
    model.eval()
    model.requires_grad_(False)
    return (model, tokenizer) if with_tokenizer else model


def tiny_model(
    family: Family, *, seed: int = 0, n_layers: int = 3, n_heads: int = 4, d_model: int = 32, vocab: int = 64
) -> nn.Module:
    """A tiny randomly initialised causal LM of a supported family (for tests and examples).

    Args:
        family: 'llama' (with grouped-query attention, 2 key/value heads), 'gemma3', 'gpt2' or 'gpt_neox'.
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
        raise InputError(f"unknown family {family!r}: expected llama, gemma3, gpt2 or gpt_neox")
    torch.manual_seed(seed)
    model = cls(config)
    model.eval()
    model.requires_grad_(False)
    return model
