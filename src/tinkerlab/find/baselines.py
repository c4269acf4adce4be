"""Interpreters for FIND that need no chat model: reference points beside the LLM agent.

- `NumericFitInterpreter`: queries the black box on a grid over [-128, 128], fits every atomic family (closed
  form or a grid over the nonlinear parameters plus least squares), picks one by BIC, then looks for a run of
  outliers (a corrupted interval) and models it as a constant. Writes description, domain and code.
- `StringSearchInterpreter`: program search over the primitive operations (and pairs of them) for one that
  reproduces the black box on probe inputs.
- `ExemplarInterpreter` (entities, relations): queries the hint words plus a small vocabulary and describes the
  function by its top exemplars (entities) or example mappings and 'undefined' inputs (relations), as
  MILAN-style exemplar descriptions do.
- `InterpolationInterpreter`: writes code that linearly interpolates the queried grid; no description. It shows
  how far a memorising answer gets on the numeric code metric.

Controls and references, which never call the function:

- `HintsInterpreter` (entities, relations): answers with the spec's search-initialisation words (``initial``) only,
  so it shows how much a description gets from the hint words alone.
- `TruthInterpreter` (every category): the suite's own ground-truth description (and, for numeric and strings,
  its ground-truth code): the ceiling a judge can give.
- `VacuousInterpreter` (strings, entities, relations): one fixed content-free description (`VACUOUS_DESCRIPTION`)
  and no code: the floor a judge gives to a description that says nothing.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import numpy as np

from tinkerlab.find.protocol import BlackBox, Interpretation

# ------------------------------------------------------------------------------------------- numeric fitting
GRID = np.array([v for v in np.arange(-128.0, 128.0 + 1e-9, 0.5) if v != 0.0])  # 512 query points, 0 left out


def _lstsq(features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    if not np.isfinite(features).all():
        return np.zeros(features.shape[1]), math.inf
    try:
        coef, *_ = np.linalg.lstsq(features, y, rcond=None)
    except np.linalg.LinAlgError:
        return np.zeros(features.shape[1]), math.inf
    resid = y - features @ coef
    return coef, float(np.mean(resid**2))


def _best_batched(features: np.ndarray, y: np.ndarray) -> tuple[int, np.ndarray, float]:
    """Least squares for many candidate feature sets at once: features (M, n, k) -> best index, coef, mse."""
    gram = np.einsum("mnk,mnj->mkj", features, features) + 1e-9 * np.eye(features.shape[2])  # (M, k, k)
    rhs = np.einsum("mnk,n->mk", features, y)  # (M, k)
    coef = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]  # (M, k)
    resid = y[None, :] - np.einsum("mnk,mk->mn", features, coef)  # (M, n)
    mse = np.mean(resid**2, axis=1)
    best = int(np.argmin(mse))
    return best, coef[best], float(mse[best])


def _fmt(v: float) -> str:
    return repr(round(float(v), 6))


class _Fit:
    def __init__(self, name: str, k: int, mse: float, expr: str, text: str) -> None:
        self.name, self.k, self.mse, self.expr, self.text = name, k, mse, expr, text


def _candidates(x: np.ndarray, y: np.ndarray) -> list[_Fit]:
    """Fit every family on (x, y); each yields a NumPy expression of x and a description."""
    fits: list[_Fit] = []
    ones = np.ones_like(x)
    for degree in range(0, 6):
        coef, _ = _lstsq(np.stack([x**p for p in range(degree, -1, -1)], 1), y)
        mse = float(np.mean((np.polyval(coef, x) - y) ** 2))
        name = {0: "constant", 1: "linear"}.get(degree, f"polynomial of degree {degree}")
        fits.append(
            _Fit(
                name,
                degree + 1,
                mse,
                f"np.polyval({[round(float(c), 8) for c in coef]}, x)",
                f"a {name} with coefficients {[round(float(c), 3) for c in coef]} (highest power first)",
            )
        )
    coef, mse = _lstsq(np.stack([np.abs(x), ones], 1), y)
    fits.append(
        _Fit(
            "absolute",
            2,
            mse,
            f"{_fmt(coef[0])} * np.abs(x) + {_fmt(coef[1])}",
            f"{coef[0]:.3g} times |x| plus {coef[1]:.3g}",
        )
    )
    coef, mse = _lstsq(np.stack([np.maximum(x, 0), np.minimum(x, 0), ones], 1), y)
    fits.append(
        _Fit(
            "relu",
            3,
            mse,
            f"np.where(x > 0, {_fmt(coef[0])} * x, {_fmt(coef[1])} * x) + {_fmt(coef[2])}",
            f"a piecewise linear (leaky-ReLU-like) function with slope {coef[0]:.3g} for x > 0 and "
            f"{coef[1]:.3g} for x < 0, offset {coef[2]:.3g}",
        )
    )
    coef, mse = _lstsq(np.stack([np.cbrt(x), ones], 1), y)
    fits.append(
        _Fit(
            "cube root",
            2,
            mse,
            f"{_fmt(coef[0])} * np.cbrt(x) + {_fmt(coef[1])}",
            f"{coef[0]:.3g} times the cube root of x plus {coef[1]:.3g}",
        )
    )
    coef, mse = _lstsq(np.stack([1.0 / x, ones], 1), y)
    fits.append(
        _Fit(
            "reciprocal",
            2,
            mse,
            f"{_fmt(coef[0])} / x + {_fmt(coef[1])}",
            f"a reciprocal {coef[0]:.3g} / x plus {coef[1]:.3g}",
        )
    )
    # step: best threshold between sorted points
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    csum, csq = np.cumsum(ys), np.cumsum(ys**2)
    n = len(ys)
    left_n = np.arange(1, n)
    left_mean = csum[:-1] / left_n
    right_mean = (csum[-1] - csum[:-1]) / (n - left_n)
    sse = (csq[:-1] - left_n * left_mean**2) + ((csq[-1] - csq[:-1]) - (n - left_n) * right_mean**2)
    best = int(np.argmin(sse))
    t = (xs[best] + xs[best + 1]) / 2
    fits.append(
        _Fit(
            "step",
            3,
            float(sse[best] / n),
            f"np.where(x > {_fmt(t)}, {_fmt(right_mean[best])}, {_fmt(left_mean[best])})",
            f"a step function: {left_mean[best]:.3g} for x below {t:.3g} and {right_mean[best]:.3g} above",
        )
    )
    # periodic: grid over periods, linear in (sin, cos, 1)
    periods = np.concatenate([np.linspace(1.5, 20, 186), np.linspace(20.5, 90, 140)])
    phase = 2 * np.pi * x[None, :] / periods[:, None]  # (M, n)
    i, coef, mse = _best_batched(np.stack([np.sin(phase), np.cos(phase), np.ones_like(phase)], 2), y)
    period = periods[i]
    amp = math.hypot(coef[0], coef[1])
    fits.append(
        _Fit(
            "sinusoid",
            4,
            mse,
            f"{_fmt(coef[0])} * np.sin(2 * np.pi * x / {_fmt(period)}) + "
            f"{_fmt(coef[1])} * np.cos(2 * np.pi * x / {_fmt(period)}) + {_fmt(coef[2])}",
            f"a sinusoid with amplitude {amp:.3g}, period {period:.3g} and offset {coef[2]:.3g}",
        )
    )
    # square wave: grid over period and shift
    # the original's periods (1-10) are multiples of 0.1 and need that exact period; the easy ranges' go to 40
    fine = [(p, s) for p in np.round(np.arange(1.0, 10.05, 0.1), 1) for s in np.round(np.arange(0.0, p, 0.1), 1)]
    coarse = [(p, s) for p in np.linspace(10.5, 40, 60) for s in np.linspace(0, p, 24, endpoint=False)]
    grid = np.array(fine + coarse)
    waves = np.where(np.sin(2 * np.pi * (x[None, :] - grid[:, 1:2]) / grid[:, 0:1]) > 0, 1.0, -1.0)  # (M, n)
    i, coef, mse = _best_batched(np.stack([waves, np.ones_like(waves)], 2), y)
    period, shift = grid[i]
    fits.append(
        _Fit(
            "square wave",
            4,
            mse,
            f"{_fmt(coef[0])} * np.where(np.sin(2 * np.pi * (x - {_fmt(shift)}) / {_fmt(period)}) > 0, 1.0, -1.0)"
            f" + {_fmt(coef[1])}",
            f"a square wave of amplitude {abs(coef[0]):.3g}, period {period:.3g} and offset {coef[1]:.3g}",
        )
    )
    # bumps: gaussian and rectangle, grid over centre and width
    centres = np.arange(-70.0, 70.5, 1.0)
    grid = np.array([(c, w) for c in centres for w in (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 10, 13, 16, 20, 25)])
    bumps = np.exp(-0.5 * ((x[None, :] - grid[:, 0:1]) / grid[:, 1:2]) ** 2)  # (M, n)
    i, coef, mse = _best_batched(np.stack([bumps, np.ones_like(bumps)], 2), y)
    centre, width = grid[i]
    fits.append(
        _Fit(
            "gaussian",
            4,
            mse,
            f"{_fmt(coef[0])} * np.exp(-0.5 * ((x - {_fmt(centre)}) / {_fmt(width)}) ** 2) + {_fmt(coef[1])}",
            f"a Gaussian bump of height {coef[0]:.3g} at {centre:.3g} with width {width:.3g}, offset {coef[1]:.3g}",
        )
    )
    grid = np.array([(c, w) for c in centres for w in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 18, 24, 30, 36, 42)])
    boxes = (np.abs(x[None, :] - grid[:, 0:1]) <= grid[:, 1:2] / 2).astype(float)  # (M, n)
    i, coef, mse = _best_batched(np.stack([boxes, np.ones_like(boxes)], 2), y)
    centre, width = grid[i]
    fits.append(
        _Fit(
            "rectangle",
            4,
            mse,
            f"np.where(np.abs(x - {_fmt(centre)}) <= {_fmt(width / 2)}, {_fmt(coef[0] + coef[1])}, {_fmt(coef[1])})",
            f"a rectangle of height {coef[0]:.3g} and width {width:.3g} centred at {centre:.3g}, offset {coef[1]:.3g}",
        )
    )
    # tanh: grid over centre and scale
    grid = np.array([(c, p) for c in np.arange(-20.0, 20.5, 1.0) for p in (4, 6, 8, 12, 16, 24, 32, 45, 60)])
    ramps = np.tanh(2 * np.pi * (x[None, :] - grid[:, 0:1]) / grid[:, 1:2])  # (M, n)
    i, coef, mse = _best_batched(np.stack([ramps, np.ones_like(ramps)], 2), y)
    centre, period = grid[i]
    fits.append(
        _Fit(
            "tanh",
            4,
            mse,
            f"{_fmt(coef[0])} * np.tanh(2 * np.pi * (x - {_fmt(centre)}) / {_fmt(period)}) + {_fmt(coef[1])}",
            f"a tanh with amplitude {coef[0]:.3g}, centre {centre:.3g}, scale {period:.3g}, offset {coef[1]:.3g}",
        )
    )
    # rational: linearised P(x) - y Q(x) = 0 with Q's constant fixed to 1
    for num_deg, den_deg in ((0, 1), (1, 1), (0, 2), (1, 2), (2, 3)):
        cols = [x**i for i in range(num_deg + 1)] + [-y * x**j for j in range(1, den_deg + 1)]
        coef, _ = _lstsq(np.stack(cols, 1), y)
        num = coef[: num_deg + 1]
        den = np.concatenate([[1.0], coef[num_deg + 1 :]])
        with np.errstate(all="ignore"):
            pred = np.polyval(num[::-1], x) / np.polyval(den[::-1], x)
        mse = float(np.mean((pred - y) ** 2)) if np.isfinite(pred).all() else math.inf
        fits.append(
            _Fit(
                "rational",
                num_deg + den_deg + 1,
                mse,
                f"np.polyval({[round(float(c), 8) for c in num[::-1]]}, x)"
                f" / np.polyval({[round(float(c), 8) for c in den[::-1]]}, x)",
                f"a rational function of degrees {num_deg}/{den_deg}",
            )
        )
    if (x > 0).all():
        coef, mse = _lstsq(np.stack([np.log(x), ones], 1), y)
        fits.append(
            _Fit(
                "logarithm",
                2,
                mse,
                f"{_fmt(coef[0])} * np.log(x) + {_fmt(coef[1])}",
                f"{coef[0]:.3g} times the natural logarithm of x plus {coef[1]:.3g}",
            )
        )
    if (x >= 0).all():
        coef, mse = _lstsq(np.stack([np.sqrt(x), ones], 1), y)
        fits.append(
            _Fit(
                "square root",
                2,
                mse,
                f"{_fmt(coef[0])} * np.sqrt(x) + {_fmt(coef[1])}",
                f"{coef[0]:.3g} times the square root of x plus {coef[1]:.3g}",
            )
        )
    return fits


def _choose(fits: list[_Fit], n: int) -> _Fit:
    def bic(fit: _Fit) -> float:
        return n * math.log(max(fit.mse, 1e-12)) + fit.k * math.log(n) if math.isfinite(fit.mse) else math.inf

    return min(fits, key=bic)


def _outlier_run(x: np.ndarray, resid: np.ndarray) -> tuple[int, int] | None:
    """The longest run (in sorted x) of residuals far outside the rest, as index bounds [start, end)."""
    scale = 1.4826 * np.median(np.abs(resid - np.median(resid))) + 1e-9
    bad = np.abs(resid) > 6 * scale
    best, start = None, None
    for i, flag in enumerate(list(bad) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best is None or best[1] - best[0] < 6:
        return None
    return best


class NumericFitInterpreter:
    """Parametric fitting over the numeric families (see the module docstring)."""

    name = "fit"

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        x = GRID.copy()
        y = np.asarray(box.evaluate(list(x)), dtype=float)
        keep = np.isfinite(y)
        x, y = x[keep], y[keep]
        result = Interpretation(function_id=spec["id"], category="numeric", rounds=1, queries=1)
        if len(x) < 8:
            result.error = "too few finite outputs to fit"
            return result
        with np.errstate(all="ignore"):
            best = _choose(_candidates(x, y), len(x))
        interval = None
        namespace: dict[str, Any] = {"np": np}
        with np.errstate(all="ignore"):
            pred = eval(best.expr, namespace, {"x": x})  # noqa: S307 - our own generated expression
        run = _outlier_run(x, y - pred)
        if run is not None and len(x) - (run[1] - run[0]) >= 20:
            inside = np.zeros(len(x), dtype=bool)
            inside[run[0] : run[1]] = True
            with np.errstate(all="ignore"):
                refit = _choose(_candidates(x[~inside], y[~inside]), int((~inside).sum()))
            level = float(np.mean(y[inside]))
            low = float(x[run[0]] - 0.25)
            high = float(x[run[1] - 1] + 0.25)
            interval = (low, high, level)
            best = refit
        lines = [
            "import numpy as np",
            "",
            "",
            "def f(x):",
            "    x = np.asarray(x, dtype=float)",
            f"    y = {best.expr}",
        ]
        domain = (
            "The function is defined on the whole tested range [-128, 128]"
            if keep.all()
            else (
                f"The function gives no finite output for {int((~keep).sum())} of {len(keep)} tested points "
                f"(defined for x in [{x.min():g}, {x.max():g}])"
            )
        )
        if interval is not None:
            lines.append(f"    y = np.where((x >= {interval[0]!r}) & (x <= {interval[1]!r}), {interval[2]!r}, y)")
            domain += (
                f". Between {interval[0]:g} and {interval[1]:g} it behaves differently: the output stays "
                f"near {interval[2]:.3g}."
            )
        else:
            domain += ", with no interval of unexpected behavior."
        lines.append("    return y")
        result.code = "\n".join(lines) + "\n"
        result.description = f"f(x) is approximately {best.text}."
        result.domain = domain
        result.answer = f"[DESCRIPTION]: {result.description}\n[DOMAIN]: {result.domain}\n[CODE]:\n{result.code}"
        return result


class InterpolationInterpreter:
    """Memorises the black box on a grid and interpolates (code only)."""

    name = "interp"

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        x = GRID
        y = np.asarray(box.evaluate(list(x)), dtype=float)
        keep = np.isfinite(y)
        code = (
            "import numpy as np\n\nX = np.array(" + repr([float(v) for v in x[keep]]) + ")\n"
            "Y = np.array(" + repr([round(float(v), 6) for v in y[keep]]) + ")\n\n\n"
            "def f(x):\n    return np.interp(x, X, Y)\n"
        )
        description = "f(x) is given by a table of measured values, linearly interpolated."
        return Interpretation(
            spec["id"],
            "numeric",
            description=description,
            code=code,
            rounds=1,
            queries=1,
            answer=f"[DESCRIPTION]: {description}\n[CODE]:\n{code}",
        )


# ------------------------------------------------------------------------------------------ string search
_PROBES = [
    "hello",
    "World",
    "abc123",
    "Programming",
    "x",
    "AEIOUaeiou",
    "zebra42",
    "Mississippi",
    "ab",
    "Q7rT",
]
_PARAM_VALUES: dict[str, list[Any]] = {
    "k": [1, 2, 3, 4, 5],
    "i": [0, 1, 2, 3],
    "m": [7, 10, 13, 26, 100],
    "c": list("aeiourstlnmxyz"),
    "left": ["(", "[", "<", "{", "*", "_"],
    "right": [")", "]", ">", "}", "*", "_"],
}


def _enumerate_ops(include_pairs_params: bool) -> list[dict[str, Any]]:
    from tinkerlab.find.strings import PRIMITIVES

    ops = []
    for name, primitive in sorted(PRIMITIVES.items()):
        params = primitive.params
        if any(p in ("word", "src", "dst") for p in params):
            continue
        if params == ("a", "b"):
            if not include_pairs_params:
                continue
            values = [(a, b) for a in _PARAM_VALUES["c"] for b in _PARAM_VALUES["c"] if a != b]
            ops += [{"op": name, "params": {"a": a, "b": b}} for a, b in values]
            continue
        grids = [_PARAM_VALUES[p] for p in params]
        for combo in itertools.product(*grids):
            ops.append({"op": name, "params": dict(zip(params, combo, strict=False))})
    return ops


def _callable(ops: list[dict[str, Any]]):
    from tinkerlab.find.strings import ground_truth_code, string_function

    return string_function({"ops": ops, "code": ground_truth_code({"ops": ops})})


def _apply(fn, text: str) -> str:
    try:
        return str(fn(text))
    except Exception:  # noqa: BLE001
        return "error"


def _affix_guess(inputs: list[str], outputs: list[str]) -> list[dict[str, Any]]:
    """Guess append/prepend/insert_middle words from how outputs extend inputs."""
    guesses = []
    i0, o0 = inputs[0], outputs[0]
    if o0.startswith(i0) and len(o0) > len(i0):
        guesses.append({"op": "append", "params": {"word": o0[len(i0) :]}})
    if o0.endswith(i0) and len(o0) > len(i0):
        guesses.append({"op": "prepend", "params": {"word": o0[: len(o0) - len(i0)]}})
    half = len(i0) // 2
    if len(o0) > len(i0) and o0.startswith(i0[:half]) and o0.endswith(i0[half:]):
        guesses.append({"op": "insert_middle", "params": {"word": o0[half : len(o0) - (len(i0) - half)]}})
    return guesses


class StringSearchInterpreter:
    """Program search over primitives and pairs of primitives (see the module docstring).

    Args:
        time_budget_s: stop the pair search after this many seconds.
    """

    name = "search"

    def __init__(self, time_budget_s: float = 3.0) -> None:
        self.time_budget_s = time_budget_s
        self._singles = _enumerate_ops(include_pairs_params=True)
        self._pair_ops = _enumerate_ops(include_pairs_params=False)
        self._fns = {id(op): _callable([op]) for op in self._singles}

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        from tinkerlab.find.strings import describe, ground_truth_code

        target = box.evaluate(_PROBES)
        result = Interpretation(spec["id"], "strings", rounds=1, queries=1)
        found: list[dict[str, Any]] | None = None
        for op in self._singles + _affix_guess(_PROBES, target):
            fn = self._fns.get(id(op)) or _callable([op])
            if all(_apply(fn, p) == t for p, t in zip(_PROBES, target, strict=False)):
                found = [op]
                break
        if found is None:
            found = self._pair_search(target)
        if found is None:
            result.error = "no program of one or two primitives reproduces the probes"
            result.description = "The function could not be identified; it maps e.g. " + ", ".join(
                f"{p!r} -> {t!r}" for p, t in list(zip(_PROBES, target, strict=False))[:4]
            )
            result.code = "def f(x):\n    return x\n"
        else:
            program = {"ops": found}
            result.description = describe(program)
            result.code = ground_truth_code(program)
        result.answer = f"[DESCRIPTION]: {result.description}\n[CODE]:\n{result.code}"
        return result

    def _pair_search(self, target: list[str]) -> list[dict[str, Any]] | None:
        start = time.perf_counter()
        # first stage outputs, deduplicated by their signature on the probes
        stage: dict[tuple[str, ...], dict[str, Any]] = {}
        for op in self._pair_ops:
            fn = self._fns[id(op)] if id(op) in self._fns else _callable([op])
            signature = tuple(_apply(fn, p) for p in _PROBES)
            stage.setdefault(signature, op)
        for signature, first in stage.items():
            for guess in _affix_guess(list(signature), target):
                fn = _callable([guess])
                if all(_apply(fn, s) == t for s, t in zip(signature, target, strict=False)):
                    return [first, guess]
        for second in self._pair_ops:
            if time.perf_counter() - start > self.time_budget_s:
                return None
            fn = self._fns[id(second)] if id(second) in self._fns else _callable([second])
            for signature, first in stage.items():
                if _apply(fn, signature[0]) != target[0]:
                    continue
                if all(_apply(fn, s) == t for s, t in zip(signature, target, strict=False)):
                    return [first, second]
        return None


# ----------------------------------------------------------------------------------------- exemplar search
_VOCABULARY = "table river computer music doctor winter king money church science".split()
"""Generic words queried beside the hint words (kept short: every word costs an LM forward pass)."""


class ExemplarInterpreter:
    """Exemplar descriptions for entity and relation functions (see the module docstring).

    Args:
        top: how many exemplars the description names.
    """

    name = "exemplar"

    def __init__(self, top: int = 5) -> None:
        self.top = top

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        words = list(dict.fromkeys(list(spec.get("initial", [])) + _VOCABULARY))
        outputs = box.evaluate(words)
        result = Interpretation(spec["id"], spec["category"], rounds=1, queries=1)
        if spec["category"] == "entities":
            ranked = sorted(zip(words, outputs, strict=False), key=lambda p: -float(p[1]))
            top = [w for w, _ in ranked[: self.top]]
            result.description = "The function is selective for inputs like " + ", ".join(top) + "."
        else:
            defined = [(w, o) for w, o in zip(words, outputs, strict=False) if o.lower() != "undefined"]
            undefined = [w for w, o in zip(words, outputs, strict=False) if o.lower() == "undefined"]
            result.description = "The function maps " + "; ".join(f"{w} -> {o}" for w, o in defined[: self.top])
            result.domain = "It returns 'undefined' for inputs like " + ", ".join(undefined[: self.top]) + "."
        result.answer = f"[DESCRIPTION]: {result.description}" + (
            f"\n[DOMAIN]: {result.domain}" if result.domain else ""
        )
        return result


# ------------------------------------------------------------------------------------- controls and references
VACUOUS_DESCRIPTION = "The function maps its input to an output."
"""The content-free description `VacuousInterpreter` gives for every function."""


def _answer_without_calls(spec: dict[str, Any], description: str, code: str | None = None) -> Interpretation:
    answer = f"[DESCRIPTION]: {description}" + (f"\n[CODE]:\n{code}" if code else "")
    return Interpretation(
        spec["id"], spec["category"], description=description, code=code or "", rounds=0, queries=0, answer=answer
    )


class HintsInterpreter:
    """The hints-only control (entities, relations): the hint words as the answer; the function is never called.

    The description names every one of the spec's ``initial`` words, in the phrase `ExemplarInterpreter` uses, so
    the two differ only in what calling the function adds. Numeric and string specs have no hint words: the runner
    skips those categories for this interpreter.
    """

    name = "hints"

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        words = ", ".join(str(w) for w in spec.get("initial", []))
        if spec["category"] == "entities":
            description = f"The function is selective for inputs like {words}."
        else:
            description = f"The function maps inputs like {words}."
        return _answer_without_calls(spec, description)


class TruthInterpreter:
    """The ground-truth reference: the suite's own description (and code, where the category has one)."""

    name = "truth"

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        return _answer_without_calls(spec, spec["description"], spec.get("code"))


class VacuousInterpreter:
    """The vacuous reference: `VACUOUS_DESCRIPTION` for every function, and no code."""

    name = "vacuous"

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        return _answer_without_calls(spec, VACUOUS_DESCRIPTION)
