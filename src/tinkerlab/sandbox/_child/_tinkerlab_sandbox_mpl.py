"""A matplotlib backend for sandboxed code: Agg rendering, and `plt.show()` captures the open figures as PNG bytes
and closes them (as a notebook does), so a loop of plot-and-show yields one picture per figure.

The sandbox selects it with `MPLBACKEND=module://_tinkerlab_sandbox_mpl`; it is imported only when the code uses
pyplot. The bootstrap takes the captured pictures with `take_shown()` after each call.
"""

from __future__ import annotations

import io

from matplotlib import pyplot as _plt
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

# The same budget as the parent's (tinkerlab/sandbox/scratch.py): pictures per call and pixels in all.
MAX_PICTURES = 32
MAX_TOTAL_PIXELS = 48 * 2**20

_SHOWN: list[bytes] = []
_USED = {"pixels": 0, "skipped": 0}


def figure_pixels(figure) -> int:
    """Width x height in pixels the figure renders at."""
    width, height = figure.get_size_inches() * figure.dpi
    return int(round(width)) * int(round(height))


def within_budget(figure) -> bool:
    """True (and the pixels counted) when one more picture of `figure` fits this call's budget."""
    pixels = figure_pixels(figure)
    if len(_SHOWN) >= MAX_PICTURES or _USED["pixels"] + pixels > MAX_TOTAL_PIXELS:
        _USED["skipped"] += 1
        return False
    _USED["pixels"] += pixels
    return True


def figure_png(figure) -> bytes:
    """The PNG bytes of one matplotlib figure, rendered at its own size and dpi."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def show(*args, **kwargs) -> None:
    """Capture every open figure (within the budget) as PNG bytes, then close them."""
    for number in _plt.get_fignums():
        figure = _plt.figure(number)
        if within_budget(figure):
            _SHOWN.append(figure_png(figure))
    _plt.close("all")


def capture(figure) -> bytes | None:
    """The PNG of a figure still open at the end of a call, or None when it is over the budget."""
    if not within_budget(figure):
        return None
    picture = figure_png(figure)
    _SHOWN.append(picture)
    return picture


def take_shown() -> tuple[list[bytes], int]:
    """The pictures captured since the last call, oldest first, and how many were over the budget; resets it."""
    taken = list(_SHOWN)
    skipped = _USED["skipped"]
    _SHOWN.clear()
    _USED.update(pixels=0, skipped=0)
    return taken, skipped
