"""Benchmark the embedded chat model (SmolLM2-135M-Instruct): cold versus cached load, and generation speed.

    .venv/bin/python benchmarks/llm_local.py [--tokens 32] [--repeats 3] [--threads N] [--no-server]

Figures, each against a baseline measured in the same run:
- load: the cold load (dequantising the packaged GGUF and saving the float32 copy, forced by an empty temporary
  cache folder) against loading that saved copy; the cache must make the later load at least 5x faster.
- generation: greedy tokens per second with the KV cache against recomputing the whole prefix each step.
- response cache: answering a repeated temperature-0 request from the SQLite cache against generating it.
- in process against served: the same prompts answered by `load_chat_model("local")` in this process and by
  `load_chat_model("openai:FOLDER", base_url=...)` through a real `transformers serve` on 127.0.0.1 serving the
  same dequantised folder offline (same max tokens, temperature 0, response cache off, same torch thread count),
  with seconds per request, completion tokens per second, the ratio server / in-process and the server's peak
  resident memory (VmHWM from /proc/PID/status). `--no-server` skips this section.
- peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REQUIRED_LOAD_SPEEDUP = 5.0
SERVED_PROMPTS = (
    "Write a short paragraph about the history of bicycles.",
    "Explain in two sentences why the sky is blue.",
    "Give three tips for writing clear code.",
)
"""The prompts answered both in process and through the server (one user turn each, no system message)."""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def time_requests(chat, prompts, tokens: int) -> tuple[list[float], list[int], list[str]]:
    """Seconds, completion tokens and text of one temperature-0 request per prompt (after one short warm-up)."""
    from tinkerlab.llm import Message

    chat.complete([Message.user(prompts[0])], max_tokens=4, temperature=0.0)  # warm-up, not timed
    seconds, produced, texts = [], [], []
    for prompt in prompts:
        start = time.perf_counter()
        reply = chat.complete([Message.user(prompt)], max_tokens=tokens, temperature=0.0)
        seconds.append(time.perf_counter() - start)
        if reply.cached:
            raise RuntimeError("a timed request was answered from the response cache")
        produced.append(reply.usage.completion_tokens)
        texts.append(reply.text)
    return seconds, produced, texts


def report_requests(label: str, seconds: list[float], produced: list[int]) -> tuple[float, float]:
    per_request = statistics.mean(seconds)
    rate = sum(produced) / sum(seconds)
    print(
        f"  {label:<28} {per_request:6.2f} s/request, {rate:6.2f} completion tokens/s"
        f" ({sum(produced)} tokens in {sum(seconds):.1f} s)"
    )
    return per_request, rate


def serve_and_time(folder: Path, prompts, tokens: int, threads: int, start_timeout_s: float, log_path: Path):
    """Start `transformers serve FOLDER` on a free 127.0.0.1 port, time the prompts through `openai:`, stop it.

    Returns (seconds, completion tokens, texts, startup seconds, server VmHWM MiB or None).
    """
    from tinkerlab.llm import load_chat_model
    from tinkerlab.llm.serve import serve_model_folder

    with serve_model_folder(folder, threads=threads, start_timeout_s=start_timeout_s, log_path=log_path) as server:
        served = load_chat_model(
            f"openai:{server.model}", base_url=server.url, cache=False, timeout_s=120, max_retries=0
        )
        seconds, produced, texts = time_requests(served, prompts, tokens)
        peak = server.peak_rss_mib()  # read before the process goes away
    return seconds, produced, texts, server.startup_seconds, peak


def compare_with_server(args, scratch: Path) -> None:
    """The embedded model answering the same prompts in process and through `transformers serve`."""
    from tinkerlab.llm import load_chat_model

    prompts = SERVED_PROMPTS[: args.prompts]
    in_process = load_chat_model("local", cache=False)
    folder = in_process.loaded.cache_path
    local_seconds, local_tokens, local_texts = time_requests(in_process, prompts, args.tokens)
    del in_process  # free its weights before the server loads its own copy
    if args.no_server:
        print(f"in process ({len(prompts)} prompts, max {args.tokens} tokens, temperature 0, {args.threads} threads):")
        report_requests("in process:", local_seconds, local_tokens)
        print("  server part skipped (--no-server)")
        return
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            print(f"in process ({len(prompts)} prompts): server part skipped, {module} is not installed")
            report_requests("in process:", local_seconds, local_tokens)
            return
    served_seconds, served_tokens, served_texts, startup, server_peak = serve_and_time(
        folder, prompts, args.tokens, args.threads, args.server_start_timeout, scratch / "serve.log"
    )
    print(
        f"in process vs transformers serve on 127.0.0.1 ({len(prompts)} prompts, max {args.tokens} tokens,"
        f" temperature 0, {args.threads} torch threads each, one warm-up request each):"
    )
    local_per, local_rate = report_requests("in process (local):", local_seconds, local_tokens)
    served_per, served_rate = report_requests("served (openai: + HTTP):", served_seconds, served_tokens)
    print(
        f"  server / in-process: {served_per / local_per:.2f}x seconds per request,"
        f" {served_rate / local_rate:.2f}x tokens/s"
    )
    same = sum(a == b for a, b in zip(local_texts, served_texts, strict=True))
    print(f"  identical replies: {same}/{len(prompts)}; server ready after {startup:.1f} s")
    peak_text = "unreadable" if server_peak is None else f"{server_peak:.0f} MiB"
    print(f"  server peak RSS (VmHWM): {peak_text}")


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
    parser.add_argument("--threads", type=int, default=None, help="torch threads here and in the server")
    parser.add_argument(
        "--prompts", type=int, default=len(SERVED_PROMPTS), help="prompts for in process vs served (1-3)"
    )
    parser.add_argument("--no-server", action="store_true", help="skip starting transformers serve")
    parser.add_argument("--server-start-timeout", type=float, default=120.0, help="seconds to wait for the server")
    args = parser.parse_args()
    if not 1 <= args.prompts <= len(SERVED_PROMPTS):
        parser.error(f"--prompts must be 1 to {len(SERVED_PROMPTS)}")
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.threads = torch.get_num_threads()

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
        del chat, model, tokenizer
        compare_with_server(args, scratch)
        print(f"peak RSS (this process): {peak_rss_mib():.0f} MiB")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs (other work makes absolute times noisy)")
        return 0 if speedup >= REQUIRED_LOAD_SPEEDUP else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    sys.exit(run_main(main))
