"""Benchmark the embedded chat model (SmolLM2-135M-Instruct): cold versus cached load, and generation speed.

    .venv/bin/python benchmarks/llm_local.py [--tokens 32] [--repeats 3]

Figures, each against a baseline measured in the same run:
- load: the cold load (dequantising the packaged GGUF and saving the float32 copy, forced by an empty temporary
  cache folder) against loading that saved copy; the cache must make the later load at least 5x faster.
- generation: greedy tokens per second with the KV cache against recomputing the whole prefix each step.
- response cache: answering a repeated temperature-0 request from the SQLite cache against generating it.
- peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REQUIRED_LOAD_SPEEDUP = 5.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def generation_rate(model, tokenizer, prompt: str, tokens: int, use_cache: bool) -> float:
    import torch

    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    start = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            **encoded,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            use_cache=use_cache,
            pad_token_id=tokenizer.pad_token_id,
        )
    seconds = time.perf_counter() - start
    produced = output.shape[1] - encoded["input_ids"].shape[1]
    return produced / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32, help="tokens generated per timing")
    parser.add_argument("--repeats", type=int, default=3, help="cached loads to time (the median is reported)")
    args = parser.parse_args()

    from tinkerlab.core.assets import smollm2_gguf
    from tinkerlab.core.progress import quiet_transformers
    from tinkerlab.llm import Message, ResponseCache
    from tinkerlab.llm.local import LocalChatModel, load_local_model

    gguf = smollm2_gguf()
    print(f"model: {gguf.name} ({gguf.stat().st_size / 2**20:.0f} MiB GGUF)")
    scratch = Path(tempfile.mkdtemp(prefix="tinkerlab-bench-llm-"))
    try:
        import transformers  # noqa: F401  (imports are not part of the load timings)
        import transformers.modeling_gguf_pytorch_utils  # noqa: F401

        cold = load_local_model(cache_root=scratch)
        if cold.from_cache:
            raise RuntimeError(f"expected a cold load in the empty folder {scratch}")
        cold_seconds = cold.load_seconds
        del cold
        cached_times = []
        for _ in range(args.repeats):
            again = load_local_model(cache_root=scratch)
            if not again.from_cache:
                raise RuntimeError("the dequantised copy was not reused")
            cached_times.append(again.load_seconds)
            del again
        cached_seconds = statistics.median(cached_times)
        speedup = cold_seconds / cached_seconds
        print(f"load  cold (dequantise GGUF + save copy): {cold_seconds:7.2f} s")
        print(f"load  cached copy (median of {args.repeats}):      {cached_seconds:7.2f} s")
        verdict = "PASS" if speedup >= REQUIRED_LOAD_SPEEDUP else "FAIL"
        print(f"load  speed-up cold/cached: {speedup:.1f}x  (required >= {REQUIRED_LOAD_SPEEDUP:.0f}x: {verdict})")

        chat = LocalChatModel(cache=ResponseCache(scratch / "responses.sqlite"), model_cache_root=scratch)
        messages = [Message.user("Write a short paragraph about the history of bicycles.")]
        prompt = chat.prompt_text(messages)
        model, tokenizer = chat.model, chat.tokenizer
        with quiet_transformers():
            generation_rate(model, tokenizer, prompt, 4, True)  # warm-up
            with_cache = generation_rate(model, tokenizer, prompt, args.tokens, True)
            without_cache = generation_rate(model, tokenizer, prompt, args.tokens, False)
        prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        print(f"generate {args.tokens} tokens after a {prompt_tokens}-token prompt, greedy:")
        print(f"  with KV cache:            {with_cache:6.2f} tokens/s")
        print(f"  recomputing the prefix:   {without_cache:6.2f} tokens/s (baseline)")
        print(f"  KV cache speed-up: {with_cache / without_cache:.2f}x")

        start = time.perf_counter()
        first = chat.complete(messages, max_tokens=args.tokens)
        generated_seconds = time.perf_counter() - start
        start = time.perf_counter()
        second = chat.complete(messages, max_tokens=args.tokens)
        cached_reply_seconds = time.perf_counter() - start
        if not (second.cached and second.text == first.text):
            raise RuntimeError("the repeated temperature-0 request was not answered from the response cache")
        print(
            f"reply generated: {generated_seconds:.2f} s; from the response cache: {cached_reply_seconds * 1000:.1f} ms"
            f" ({generated_seconds / cached_reply_seconds:.0f}x faster)"
        )
        print(f"peak RSS: {peak_rss_mib():.0f} MiB")
        print("note: the 2-core CPU was shared with other work while this ran; absolute times are noisy.")
        return 0 if speedup >= REQUIRED_LOAD_SPEEDUP else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
