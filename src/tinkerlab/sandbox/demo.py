"""Gallery demo of the sandbox: a figure drawn by sandboxed code, and how failures come back as data."""

from __future__ import annotations

FIGURE_CODE = """\
import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(0)
x = np.linspace(0, 4 * np.pi, 200)
fig, (left, right) = plt.subplots(1, 2, figsize=(7, 2.8), dpi=80)
left.plot(x, np.sin(x), label="sin")
left.plot(x, np.cos(x) * np.exp(-x / 8), label="damped cos")
left.legend(loc="upper right")
left.set_title("drawn inside the sandbox")
right.hist(rng.normal(size=2000), bins=40, color="tab:green")
right.set_title("2000 normal samples")
fig.tight_layout()
print("mean of samples:", round(float(rng.normal(size=2000).mean()), 4))
"""

FAILURES = {
    "endless loop (timeout 1 s)": ("while True:\n    pass\n", {"timeout_s": 1.0}),
    "8 GB allocation (limit 512 MB)": ("buffer = bytearray(8 * 1024**3)\n", {"memory_mb": 512}),
    "division by zero": ("def ratio(a, b):\n    return a / b\n\nratio(1, 0)\n", {}),
    "read OPENAI_API_KEY": ("import os\nprint(os.environ.get('OPENAI_API_KEY'))\n", {}),
}


def run_demo(ctx) -> None:
    """Run a plotting snippet and four failing snippets in the sandbox; show the figure and the outcomes."""
    import os

    from tinkerlab.sandbox import run

    ctx.section.title = "sandbox: model-written code with limits"
    outcome = run(FIGURE_CODE, timeout_s=30)
    where = (
        "in a bubblewrap jail (its own user, pid, network and mount namespaces; the scratch folder is the only "
        "writable place)"
        if outcome.isolation == "bubblewrap"
        else "in a plain child process (bubblewrap is not usable on this machine)"
    )
    ctx.section.description = (
        f"Each snippet runs {where}, with a memory limit, a timeout that kills the whole process group, a disk "
        "budget and an environment without API keys. Figures come back as images."
    )
    ctx.section.add_code("sandboxed code", FIGURE_CODE)
    for image in outcome.images:
        ctx.section.add_image("figure returned by the sandbox", image, caption=f"stdout: {outcome.stdout.strip()}")
    if outcome.error:
        ctx.section.add_text("error", outcome.error)

    # A stand-in key is set in this process for the last snippet (and removed afterwards): the sandbox must not see it.
    previous_key = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = previous_key or "sk-demo-not-a-real-key"
    rows = []
    try:
        for title, (code, limits) in FAILURES.items():
            result = run(code, **{"timeout_s": 10.0, **limits})
            summary = (result.error or result.stdout).strip().splitlines()
            # A traceback is summed up by its last line (the exception), anything else by its first.
            first = (summary[-1] if summary[0].startswith("Traceback") else summary[0]) if summary else ""
            rows.append([title, "yes" if result.ok else "no", f"{result.duration_s:.2f}", first])
    finally:
        if previous_key is None:
            del os.environ["OPENAI_API_KEY"]
    ctx.section.add_table(
        "failures come back as data",
        ["snippet", "ok", "seconds", "first line of error / stdout"],
        rows,
        caption="A crash shows the traceback with the snippet's own line numbers (first line shown here).",
    )
