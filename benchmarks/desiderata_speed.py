"""Speed of desiderata mask training on SmolLM2-135M, as a ratio to a plain forward + backward of the model.

Same run, same batch of variable-binding prompts (`BindingTask()`, 3 variables, 16-18 tokens):

(a) baseline: a plain forward of the originals through the whole model and a backward pass to the input
    embeddings (the model is frozen; the gradient flows through every layer, as a mask step's does);
(b) one mask-training step of the engine (`train_joint_mask`'s inner step: forward with every head and MLP blended
    by the mask, -target logit + L1, backward, Adam) over the 300 components at the final token, reusing the
    clean keys and values of the earlier positions (prefix reuse);
(c) the same step patching every position (`positions: all`), which recomputes the whole prompt.

Prints seconds per step (median of --repeats after one warm-up), steps per second, the ratio to (a), and peak
memory (maxrss, model included). Threads: 1 (on a shared CPU one thread is fastest, see core.seeding).

Run: .venv/bin/python benchmarks/desiderata_speed.py [--model binding|smollm2|PATH] [--batch 32] [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="binding (default when cached), smollm2, or a model folder")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from tinkerlab.desiderata.finetune import is_cached
    from tinkerlab.desiderata.models import load_model
    from tinkerlab.desiderata.tasks import BindingTask, desideratum_items, encode
    from tinkerlab.patching.masks import HeadMask, _objective_logits, all_components, make_objective

    name = args.model or ("binding" if is_cached() else "smollm2")
    model, tokenizer = load_model(name)
    items = desideratum_items(BindingTask(), "value_change", 4 * args.batch, seed=0)
    length = len(encode(tokenizer, items[0]["original"]))
    items = [i for i in items if len(encode(tokenizer, i["original"])) == length][: args.batch]
    original = torch.tensor([encode(tokenizer, i["original"]) for i in items])
    alternate = torch.tensor([encode(tokenizer, i["alternate"]) for i in items])
    targets = torch.tensor([encode(tokenizer, i["target"], special=False)[0] for i in items])
    components = all_components(model)
    print(f"model {name}: {len(components)} components, batch {original.shape[0]} x {original.shape[1]} tokens")

    def plain() -> None:
        embeds = model.get_input_embeddings()(original).detach().requires_grad_(True)
        logits = model(inputs_embeds=embeds, use_cache=False).logits[:, -1]
        (-logits.gather(1, targets.unsqueeze(1)).mean()).backward()

    def mask_step(objective):
        mask = HeadMask(len(components), "clamp")
        optimizer = torch.optim.Adam(mask.parameters(), lr=0.1)

        def step() -> None:
            m = mask()
            logits = _objective_logits(model, components, objective, 1 - m)
            loss = -logits.gather(1, objective.targets.unsqueeze(1)).mean() + 0.01 * mask.penalty()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            mask.project()

        return step

    base = timed(plain, args.repeats)
    print(f"(a) plain forward + backward       {base:7.3f} s/step  {1 / base:6.2f} steps/s  1.00x")
    for label, positions in (
        ("(b) mask step, final token        ", "final"),
        ("(c) mask step, every position     ", "all"),
    ):
        objective = make_objective(model, components, original, alternate, targets, positions=positions)
        seconds = timed(mask_step(objective), args.repeats)
        print(f"{label}{seconds:7.3f} s/step  {1 / seconds:6.2f} steps/s  {seconds / base:.2f}x")
    print(f"peak memory (maxrss, model included) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
