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

_SHOWN: list[bytes] = []


def figure_png(figure) -> bytes:
    """The PNG bytes of one matplotlib figure, rendered at its own size and dpi."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def show(*args, **kwargs) -> None:
    """Capture every open figure as PNG bytes, then close them."""
    for number in _plt.get_fignums():
        _SHOWN.append(figure_png(_plt.figure(number)))
    _plt.close("all")


def take_shown() -> list[bytes]:
    """The pictures captured by `show()` since the last call, oldest first."""
    taken = list(_SHOWN)
    _SHOWN.clear()
    return taken
