"""Numeric functions of FIND (Schwettmann et al., "FIND: A Function Description Benchmark for Evaluating
Interpretability Methods", NeurIPS 2023 Datasets & Benchmarks).

A numeric function is a JSON-able *spec* (a dict): one atomic term from 16 families, or the sum / product of
two terms; plus the variant the interpreter sees:

- ``clean``: the function itself;
- ``noise``: additive noise, N(0, 1), U(-1, 1) or Poisson(1), drawn afresh at every call;
- ``corrupt``: an interval where the output is replaced by N(mean of f, 0.1): inside (a, b), below a boundary
  (``interval_smaller``) or above it (``interval_larger``);
- ``mlp``: a 1-64-1 ReLU network fitted to the clean function (weights stored in the spec).

Every spec carries a ground-truth description and ground-truth Python code (NumPy), written by this module
from the same parameters that `clean_values` evaluates, so code and evaluator never drift apart.

Parameters follow the original's generator by default (``ranges="original"``, `ORIGINAL_RANGES`); ``"easy"``
keeps this project's earlier, gentler ranges. The spec records which.

Example:
    >>> import numpy as np
    >>> spec = sample_numeric_function(np.random.default_rng(0), "f00000", variant="clean")
    >>> clean_values(spec, np.array([0.5, 1.5])).shape
    (2,)
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

Variant = Literal["clean", "noise", "corrupt", "mlp"]

ATOMIC_FAMILIES: tuple[str, ...] = (
    "linear",
    "polynomial",
    "absolute",
    "root",
    "logarithm",
    "step",
    "relu",
    "tanh",
    "constant",
    "sin",
    "cos",
    "reciprocal",
    "gaussian",
    "rational",
    "rectangle",
    "square_wave",
)
"""The 16 atomic families that single functions are drawn from."""

COMPOSABLE_FAMILIES: tuple[str, ...] = (
    "linear",
    "polynomial",
    "step",
    "relu",
    "constant",
    "ceil",
    "floor",
    "rectangle",
    "square_wave",
)
"""The families that sums and products of two terms are drawn from."""

ALL_FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(ATOMIC_FAMILIES + COMPOSABLE_FAMILIES))

TEST_RANGE = 128
"""The interpreter may query x in [-128, 128]; scoring uses x = i + 0.5 for i in [-128, 128)."""

MLP_HIDDEN = 64


def _r(value: float) -> float:
    """Round a sampled parameter to one decimal, as the original benchmark does."""
    return round(float(value), 1)


def _nonzero(rng: np.random.Generator, low: float, high: float, minimum: float = 0.5) -> float:
    value = 0.0
    while abs(value) < minimum:
        value = _r(rng.uniform(low, high))
    return value


Ranges = Literal["original", "easy"]
RANGES: tuple[str, ...] = ("original", "easy")
"""Parameter ranges a suite can be drawn with: ``original`` follows the original's generator (default),
``easy`` keeps this project's earlier, gentler ranges (slow waves, wide bumps; see docs/find.md)."""

TWO_PI_GRID = np.linspace(0.1, 2 * np.pi, 100)
"""The original draws the period and the phase shift of sin/cos/tanh from this grid, rounded to 0.1."""

AMPLITUDE_GRID = np.linspace(-10, 10, 100)
"""The original draws the amplitude of sin/cos/tanh from this grid, rounded to 0.1."""

ORIGINAL_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "linear": {"m": (-10, 10), "b": (-10, 10)},
    "polynomial": {"degree": (2, 5), "coeffs": (-5, 5)},
    "absolute": {"a": (-30, 30), "b": (-10, 10)},
    "root": {"a": (-30, 30), "b": (-10, 10), "n": (1, 2)},
    "logarithm": {"a": (-30, 30), "b": (-10, 10), "base": (1.1, 10)},
    "step": {"a": (-30, 30), "b": (-10, 10), "t": (0, 0), "h0": (-100, 100)},
    "relu": {"a": (-30, 30), "b": (-10, 10), "leak": (0, 1)},
    "tanh": {"a": (-10, 10), "period": (0.1, 6.3), "shift": (0.1, 6.3), "d": (-10, 10)},
    "sin": {"a": (-10, 10), "period": (0.1, 6.3), "shift": (0.1, 6.3), "d": (-10, 10)},
    "cos": {"a": (-10, 10), "period": (0.1, 6.3), "shift": (0.1, 6.3), "d": (-10, 10)},
    "constant": {"c": (-100, 99)},
    "reciprocal": {"a": (-10, 10)},
    "gaussian": {
        "mean": (-50, 50),
        "std": (1, 10),
        "a": (1 / (10 * math.sqrt(2 * math.pi)), 1 / math.sqrt(2 * math.pi)),
    },
    "rational": {"num_order": (0, 4), "den_order": (1, 5), "num": (-10, 10), "den": (-10, 10)},
    "rectangle": {"h": (1, 1), "center": (0, 0), "width": (1, 10)},
    "square_wave": {"a": (1, 1), "period": (1, 10), "shift": (-5, 5)},
    "ceil": {},
    "floor": {},
}
"""Every parameter's range under ``ranges="original"`` (inclusive), as in the original's generator
(`src/make_functions/make_numeric/math_functions.py`, `sample_single_f`) and its released parameters
(`src/find-dataset/numeric/data.json`). Where the two disagree (the offset ``b``/``d``: ±30 in the code, ±10 in
all 1000 released functions), the released data is followed. ``gaussian.a`` is derived: the peak
1 / (std sqrt(2 pi)) of the normal density."""

ORIGINAL_DOMAIN = 100.0
"""The original generated (corruption mean, MLP training) over [-100, 100], log [1, 100], root [0, 100]: the
released corruption means are the means over exactly that grid (its code's `get_domain` says ±1000)."""


# ----------------------------------------------------------------------------------------------- sampling
def sample_term(rng: np.random.Generator, family: str, ranges: Ranges = "original") -> dict[str, Any]:
    """Sample the parameters of one term of `family`.

    Args:
        rng: the random generator (all randomness comes from it).
        family: one of `ALL_FAMILIES`.
        ranges: ``original`` (the original's generator, `ORIGINAL_RANGES`) or ``easy`` (gentler ranges).

    Returns:
        ``{"family": family, "params": {...}}`` with parameters rounded to one decimal.

    Raises:
        ValueError: unknown family or ranges.
    """
    if family not in ALL_FAMILIES:
        raise ValueError(f"unknown numeric family {family!r}; expected one of {ALL_FAMILIES}")
    if ranges == "original":
        params = _original_params(rng, family)
    elif ranges == "easy":
        params = _easy_params(rng, family)
    else:
        raise ValueError(f"numeric ranges must be one of {RANGES}, got {ranges!r}")
    return {"family": family, "params": params}


def _original_params(rng: np.random.Generator, family: str) -> dict[str, Any]:
    """Parameters as the original's `sample_single_f` draws them (rounded to 0.1), with degenerate draws redrawn:
    a zero slope/scale/amplitude, a logarithm of base 1.0 (undefined) and a zero leading coefficient."""
    u = rng.uniform

    def scale() -> float:
        return _nonzero(rng, -30, 30, 0.1)

    def offset() -> float:
        return _r(u(-10, 10))

    if family == "linear":
        return {"m": _nonzero(rng, -10, 10, 0.1), "b": offset()}
    if family == "polynomial":
        degree = int(rng.integers(2, 6))
        coeffs = [_r(u(-5, 5)) for _ in range(degree + 1)]
        while abs(coeffs[0]) < 0.1:
            coeffs[0] = _r(u(-5, 5))
        return {"coeffs": coeffs}  # highest power first
    if family == "absolute":
        return {"a": scale(), "b": offset()}
    if family == "root":
        return {"a": scale(), "b": offset(), "n": int(rng.integers(1, 3))}
    if family == "logarithm":
        return {"a": scale(), "b": offset(), "base": _nonzero_base(rng)}
    if family == "step":
        return {"a": scale(), "b": offset(), "t": 0.0, "h0": _r(u(-100, 100))}
    if family == "relu":
        return {"a": scale(), "b": offset(), "leak": _r(u(0, 1))}
    if family in ("tanh", "sin", "cos"):
        amplitude = 0.0
        while abs(amplitude) < 0.1:
            amplitude = _r(rng.choice(AMPLITUDE_GRID))
        return {
            "a": amplitude,
            "period": _r(rng.choice(TWO_PI_GRID)),
            "shift": _r(rng.choice(TWO_PI_GRID)),
            "d": offset(),
        }
    if family == "constant":
        return {"c": float(rng.integers(-100, 100))}
    if family == "reciprocal":
        return {"a": _nonzero(rng, -10, 10, 0.1)}
    if family == "gaussian":
        std = _r(u(1, 10))
        return {"a": 1.0 / (std * math.sqrt(2 * math.pi)), "mean": _r(u(-50, 50)), "std": std}
    if family == "rational":
        num_order = int(rng.integers(0, 5))
        den_order = int(rng.integers(num_order + 1, 6))
        num = [_r(u(-10, 10)) for _ in range(num_order + 1)]  # lowest power first
        den = [_r(u(-10, 10)) for _ in range(den_order + 1)]
        while abs(den[-1]) < 0.1:
            den[-1] = _r(u(-10, 10))
        return {"num": num, "den": den}
    if family == "rectangle":
        return {"h": 1.0, "center": 0.0, "width": _r(u(1, 10))}
    if family == "square_wave":
        return {"a": 1.0, "period": _r(u(1, 10)), "shift": _r(u(-5, 5))}
    return {}  # ceil, floor


def _nonzero_base(rng: np.random.Generator) -> float:
    base = 1.0
    while base == 1.0:
        base = _r(rng.uniform(1, 10))
    return base


def _easy_params(rng: np.random.Generator, family: str) -> dict[str, Any]:
    """This project's earlier ranges: slow waves (periods 2-60), scaled Gaussian bumps and rectangles anywhere,
    steps at a threshold in ±60, square and cube roots, rationals of low degree."""
    u = rng.uniform
    if family == "linear":
        return {"m": _nonzero(rng, -10, 10), "b": _r(u(-10, 10))}
    if family == "polynomial":
        degree = int(rng.integers(2, 6))
        coeffs = [_r(u(-5, 5)) for _ in range(degree + 1)]
        if abs(coeffs[0]) < 0.1:
            coeffs[0] = 1.0
        return {"coeffs": coeffs}  # highest power first
    if family == "absolute":
        return {"a": _nonzero(rng, -30, 30), "b": _r(u(-30, 30))}
    if family == "root":
        return {"a": _nonzero(rng, -30, 30), "b": _r(u(-30, 30)), "n": int(rng.integers(2, 4))}
    if family == "logarithm":
        return {"a": _nonzero(rng, -30, 30), "b": _r(u(-30, 30)), "base": _r(u(1.5, 10))}
    if family == "step":
        return {"a": _nonzero(rng, -30, 30, 1.0), "b": _r(u(-30, 30)), "t": _r(u(-60, 60)), "h0": 0.0}
    if family == "relu":
        return {"a": _nonzero(rng, -30, 30, 1.0), "b": _r(u(-30, 30)), "leak": _r(u(0, 0.9))}
    if family in ("tanh", "sin", "cos"):
        return {
            "a": _nonzero(rng, -10, 10),
            "period": _r(u(4, 60)) if family == "tanh" else _r(u(2, 40)),
            "shift": _r(u(-10, 10)),
            "d": _r(u(-10, 10)),
        }
    if family == "constant":
        return {"c": float(rng.integers(-100, 101))}
    if family == "reciprocal":
        return {"a": _nonzero(rng, -10, 10)}
    if family == "gaussian":
        return {"a": _nonzero(rng, -30, 30, 1.0), "mean": _r(u(-50, 50)), "std": _r(u(2, 20))}
    if family == "rational":
        num_order = int(rng.integers(0, 3))
        den_order = int(rng.integers(num_order + 1, 4))
        num = [_r(u(-10, 10)) for _ in range(num_order + 1)]  # lowest power first
        den = [_r(u(-10, 10)) for _ in range(den_order + 1)]
        if abs(den[-1]) < 0.1:
            den[-1] = 1.0
        return {"num": num, "den": den}
    if family == "rectangle":
        return {"h": _nonzero(rng, -20, 20, 1.0), "center": _r(u(-50, 50)), "width": _r(u(4, 40))}
    if family == "square_wave":
        return {"a": _nonzero(rng, -10, 10, 1.0), "period": _r(u(4, 40)), "shift": _r(u(-5, 5))}
    return {}  # ceil, floor


def term_domain(term: dict[str, Any], ranges: Ranges = "original") -> tuple[float, float]:
    """The interval a term is generated over (its corruption mean and MLP are taken there).

    ``original``: [-100, 100], log [1, 100], root [0, 100] (every root, as the original picks the domain by the
    family's name). ``easy``: the test range [-128, 128], log [1, 128], even roots [0, 128].
    """
    family = term["family"]
    high = ORIGINAL_DOMAIN if ranges == "original" else float(TEST_RANGE)
    if family == "logarithm":
        return (1.0, high)
    if family == "root" and (ranges == "original" or term["params"]["n"] % 2 == 0):
        return (0.0, high)
    return (-high, high)


def spec_domain(spec: dict[str, Any]) -> tuple[float, float]:
    """The domain of a function: the intersection of its terms' domains."""
    ranges = spec.get("ranges", "original")
    lows, highs = zip(*(term_domain(t, ranges) for t in spec["terms"]), strict=False)
    return (max(lows), min(highs))


# --------------------------------------------------------------------------------------------- evaluation
def term_values(term: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Evaluate one term on `x` (float array of any shape); NaN/inf outside its domain."""
    p = term["params"]
    family = term["family"]
    with np.errstate(all="ignore"):
        if family == "linear":
            return p["m"] * x + p["b"]
        if family == "polynomial":
            return np.polyval(p["coeffs"], x)
        if family == "absolute":
            return p["a"] * np.abs(x) + p["b"]
        if family == "root":
            root = {1: x, 2: np.sqrt(x), 3: np.cbrt(x)}[p["n"]]
            return p["a"] * root + p["b"]
        if family == "logarithm":
            return p["a"] * np.log(x) / math.log(p["base"]) + p["b"]
        if family == "step":  # a * heaviside(x - t, h0) + b
            at_t = p["a"] * p.get("h0", 0.0) + p["b"]
            return np.where(x > p["t"], p["a"] + p["b"], np.where(x == p["t"], at_t, p["b"]))
        if family == "relu":
            return p["a"] * np.where(x > 0, x, p["leak"] * x) + p["b"]
        if family in ("tanh", "sin", "cos"):
            fn = {"tanh": np.tanh, "sin": np.sin, "cos": np.cos}[family]
            return p["a"] * fn(2 * np.pi * (x - p["shift"]) / p["period"]) + p["d"]
        if family == "constant":
            return np.full_like(x, p["c"], dtype=float)
        if family == "reciprocal":
            return 1.0 / (p["a"] * x)
        if family == "gaussian":
            return p["a"] * np.exp(-0.5 * ((x - p["mean"]) / p["std"]) ** 2)
        if family == "rational":
            return np.polyval(p["num"][::-1], x) / np.polyval(p["den"][::-1], x)
        if family == "rectangle":
            return np.where(np.abs(x - p["center"]) <= p["width"] / 2, p["h"], 0.0)
        if family == "square_wave":
            return np.where(np.sin(2 * np.pi * (x - p["shift"]) / p["period"]) > 0, p["a"], -p["a"])
        if family == "ceil":
            return np.ceil(x)
        if family == "floor":
            return np.floor(x)
    raise ValueError(f"unknown numeric family {family!r}")


def clean_values(spec: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The clean (noise-free, uncorrupted, exact) function on `x`."""
    x = np.asarray(x, dtype=float)
    values = [term_values(t, x) for t in spec["terms"]]
    with np.errstate(all="ignore"):
        if spec["kind"] == "atomic":
            return values[0]
        if spec["kind"] == "sum_two":
            return values[0] + values[1]
        if spec["kind"] == "multiply_two":
            return values[0] * values[1]
    raise ValueError(f"unknown numeric kind {spec['kind']!r}")


def mlp_values(mlp: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The 1-64-1 ReLU network stored in a spec, on `x`."""
    x = np.asarray(x, dtype=float)
    w1, b1 = np.asarray(mlp["w1"]), np.asarray(mlp["b1"])  # (64,), (64,)
    w2, b2 = np.asarray(mlp["w2"]), float(mlp["b2"])  # (64,), ()
    hidden = np.maximum(x[..., None] * w1 + b1, 0.0)  # (..., 64)
    return hidden @ w2 + b2


def corruption_mask(corruption: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Where the corrupted interval is (boolean array like `x`)."""
    kind = corruption["type"]
    if kind == "interval_inside":
        return (x > corruption["a"]) & (x < corruption["b"])
    if kind == "interval_smaller":
        return x <= corruption["a"]
    if kind == "interval_larger":
        return x >= corruption["a"]
    raise ValueError(f"unknown corruption {kind!r}")


def exposed_values(spec: dict[str, Any], x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the black box answers: the variant the interpreter sees, with fresh noise from `rng`.

    Args:
        spec: a numeric function spec.
        x: inputs (float array).
        rng: the source of noise / corrupted values.

    Returns:
        float array like `x`.
    """
    x = np.asarray(x, dtype=float)
    variant = spec["variant"]
    if variant == "mlp":
        return mlp_values(spec["mlp"], x)
    y = clean_values(spec, x)
    if variant == "clean":
        return y
    if variant == "noise":
        kind = spec["noise"]["type"]
        scale = spec["noise"]["scale"]
        if kind == "normal":
            return y + rng.normal(0.0, scale, size=x.shape)
        if kind == "uniform":
            return y + rng.uniform(-scale, scale, size=x.shape)
        if kind == "poisson":
            return y + rng.poisson(scale, size=x.shape)
        raise ValueError(f"unknown noise {kind!r}")
    if variant == "corrupt":
        c = spec["corruption"]
        mask = corruption_mask(c, x)
        return np.where(mask, rng.normal(c["mean"], 0.1, size=x.shape), y)
    raise ValueError(f"unknown numeric variant {variant!r}")


def scoring_inputs() -> np.ndarray:
    """x = i + 0.5 for i in [-128, 128): the 256 points scoring uses."""
    return np.arange(-TEST_RANGE, TEST_RANGE, dtype=float) + 0.5


def ground_truth_values(spec: dict[str, Any]) -> np.ndarray:
    """The ground truth the scorer compares against: the exposed function at the scoring points, with noise
    drawn from a generator seeded by the function's own seed (so scores are reproducible)."""
    return exposed_values(spec, scoring_inputs(), np.random.default_rng(spec["seed"] + 7919))


# ----------------------------------------------------------------------------------------------- language
def _num(value: float) -> str:
    return repr(float(value))


def term_expression(term: dict[str, Any]) -> str:
    """A NumPy expression of `x` for the term (used in the ground-truth code)."""
    p = term["params"]
    family = term["family"]
    n = _num
    if family == "linear":
        return f"{n(p['m'])} * x + {n(p['b'])}"
    if family == "polynomial":
        return f"np.polyval({[float(c) for c in p['coeffs']]}, x)"
    if family == "absolute":
        return f"{n(p['a'])} * np.abs(x) + {n(p['b'])}"
    if family == "root":
        root = {1: "x", 2: "np.sqrt(x)", 3: "np.cbrt(x)"}[p["n"]]
        return f"{n(p['a'])} * {root} + {n(p['b'])}"
    if family == "logarithm":
        return f"{n(p['a'])} * np.log(x) / np.log({n(p['base'])}) + {n(p['b'])}"
    if family == "step":
        at_t = n(p["a"] * p.get("h0", 0.0) + p["b"])
        return f"np.where(x > {n(p['t'])}, {n(p['a'] + p['b'])}, np.where(x == {n(p['t'])}, {at_t}, {n(p['b'])}))"
    if family == "relu":
        return f"{n(p['a'])} * np.where(x > 0, x, {n(p['leak'])} * x) + {n(p['b'])}"
    if family in ("tanh", "sin", "cos"):
        return f"{n(p['a'])} * np.{family}(2 * np.pi * (x - {n(p['shift'])}) / {n(p['period'])}) + {n(p['d'])}"
    if family == "constant":
        return f"np.full_like(x, {n(p['c'])})"
    if family == "reciprocal":
        return f"1.0 / ({n(p['a'])} * x)"
    if family == "gaussian":
        return f"{n(p['a'])} * np.exp(-0.5 * ((x - {n(p['mean'])}) / {n(p['std'])}) ** 2)"
    if family == "rational":
        num = [float(c) for c in p["num"][::-1]]
        den = [float(c) for c in p["den"][::-1]]
        return f"np.polyval({num}, x) / np.polyval({den}, x)"
    if family == "rectangle":
        return f"np.where(np.abs(x - {n(p['center'])}) <= {n(p['width'] / 2)}, {n(p['h'])}, 0.0)"
    if family == "square_wave":
        return f"np.where(np.sin(2 * np.pi * (x - {n(p['shift'])}) / {n(p['period'])}) > 0, {n(p['a'])}, {n(-p['a'])})"
    if family == "ceil":
        return "np.ceil(x)"
    if family == "floor":
        return "np.floor(x)"
    raise ValueError(f"unknown numeric family {family!r}")


def term_description(term: dict[str, Any]) -> str:
    """A plain-language description of one term."""
    p = term["params"]
    family = term["family"]
    if family == "linear":
        return f"a linear function with slope {p['m']} and intercept {p['b']}"
    if family == "polynomial":
        return f"a polynomial of degree {len(p['coeffs']) - 1} with coefficients {p['coeffs']} (highest power first)"
    if family == "absolute":
        return f"{p['a']} times the absolute value of x, plus {p['b']}"
    if family == "root":
        if p["n"] == 1:
            return f"{p['a']} times x (the root of order 1), plus {p['b']}"
        which = "square" if p["n"] == 2 else "cube"
        return f"{p['a']} times the {which} root of x, plus {p['b']}"
    if family == "logarithm":
        return f"{p['a']} times the logarithm of x in base {p['base']}, plus {p['b']}"
    if family == "step":
        at_t = round(p["a"] * p.get("h0", 0.0) + p["b"], 2)
        return (
            f"a step function equal to {p['b']} for x < {p['t']}, {at_t} at x = {p['t']} "
            f"and {round(p['a'] + p['b'], 1)} above it"
        )
    if family == "relu":
        return f"a leaky ReLU with negative slope factor {p['leak']}, scaled by {p['a']} and shifted by {p['b']}"
    if family in ("tanh", "sin", "cos"):
        what = {"tanh": "a hyperbolic tangent", "sin": "a sine wave", "cos": "a cosine wave"}[family]
        return (
            f"{what} with amplitude {p['a']}, period {p['period']}, phase shift {p['shift']} "
            f"and vertical offset {p['d']}"
        )
    if family == "constant":
        return f"the constant {p['c']}"
    if family == "reciprocal":
        return f"the reciprocal 1 / ({p['a']} x)"
    if family == "gaussian":
        if abs(p["a"] * p["std"] * math.sqrt(2 * math.pi) - 1.0) < 1e-9:
            return f"the normal probability density with mean {p['mean']} and std {p['std']} (peak {p['a']:.4g})"
        return f"a Gaussian bump of height {p['a']} centred at {p['mean']} with width (std) {p['std']}"
    if family == "rational":
        return (
            f"a rational function with numerator coefficients {p['num']} and denominator coefficients {p['den']} "
            "(lowest power first)"
        )
    if family == "rectangle":
        return f"a rectangle of height {p['h']} and width {p['width']} centred at {p['center']}, zero elsewhere"
    if family == "square_wave":
        return (
            f"a square wave switching between {p['a']} and {-p['a']} with period {p['period']} and shift {p['shift']}"
        )
    if family == "ceil":
        return "the ceiling of x"
    if family == "floor":
        return "the floor of x"
    raise ValueError(f"unknown numeric family {family!r}")


def _variant_text(spec: dict[str, Any]) -> str:
    variant = spec["variant"]
    if variant == "noise":
        noise = spec["noise"]
        return f" Outputs carry additive {noise['type']} noise (scale {noise['scale']})."
    if variant == "corrupt":
        return " " + corruption_text(spec["corruption"])
    if variant == "mlp":
        return " It is implemented by a 1-64-1 ReLU network that approximates this function."
    return ""


def corruption_text(corruption: dict[str, Any]) -> str:
    mean = round(corruption["mean"], 2)
    kind = corruption["type"]
    if kind == "interval_inside":
        where = f"between {corruption['a']} and {round(corruption['b'], 1)}"
    elif kind == "interval_smaller":
        where = f"for x <= {corruption['a']}"
    else:
        where = f"for x >= {corruption['a']}"
    return f"In the interval {where} the output is replaced by noise around {mean} (std 0.1)."


def describe(spec: dict[str, Any]) -> str:
    """The ground-truth description of a numeric spec."""
    terms = [term_description(t) for t in spec["terms"]]
    if spec["kind"] == "atomic":
        body = terms[0]
    elif spec["kind"] == "sum_two":
        body = f"the sum of {terms[0]} and {terms[1]}"
    else:
        body = f"the product of {terms[0]} and {terms[1]}"
    return f"f(x) is {body}.{_variant_text(spec)}"


def ground_truth_code(spec: dict[str, Any]) -> str:
    """Python code (a function `f(x)`) of the deterministic part of the exposed function.

    Noise is left out; a corrupted interval is replaced by its mean; an MLP is written out with its weights.
    """
    lines = ["import numpy as np", "", "", "def f(x):", "    x = np.asarray(x, dtype=float)"]
    if spec["variant"] == "mlp":
        mlp = spec["mlp"]
        lines += [
            f"    w1 = np.array({[float(v) for v in mlp['w1']]})",
            f"    b1 = np.array({[float(v) for v in mlp['b1']]})",
            f"    w2 = np.array({[float(v) for v in mlp['w2']]})",
            f"    return np.maximum(x[..., None] * w1 + b1, 0.0) @ w2 + {float(mlp['b2'])!r}",
        ]
        return "\n".join(lines) + "\n"
    exprs = [term_expression(t) for t in spec["terms"]]
    if spec["kind"] == "atomic":
        body = exprs[0]
    elif spec["kind"] == "sum_two":
        body = f"({exprs[0]}) + ({exprs[1]})"
    else:
        body = f"({exprs[0]}) * ({exprs[1]})"
    lines.append(f"    y = {body}")
    if spec["variant"] == "corrupt":
        c = spec["corruption"]
        if c["type"] == "interval_inside":
            cond = f"(x > {c['a']!r}) & (x < {c['b']!r})"
        elif c["type"] == "interval_smaller":
            cond = f"x <= {c['a']!r}"
        else:
            cond = f"x >= {c['a']!r}"
        lines.append(f"    y = np.where({cond}, {float(c['mean'])!r}, y)")
    lines.append("    return y")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- variants
NOISE_TYPES = ("normal", "uniform", "poisson")
NOISE_WEIGHTS = (0.342, 0.435, 0.223)
CORRUPTION_TYPES = ("interval_inside", "interval_smaller", "interval_larger")
CORRUPTION_WEIGHTS = (0.491, 0.261, 0.248)


def sample_numeric_function(
    rng: np.random.Generator,
    function_id: str,
    *,
    variant: Variant = "clean",
    composite: bool = False,
    family: str | None = None,
    ranges: Ranges = "original",
) -> dict[str, Any]:
    """Sample one numeric function spec (MLP weights are fitted separately by `fit_mlps`).

    Args:
        rng: the random generator.
        function_id: e.g. 'f00042'.
        variant: which version the interpreter sees.
        composite: a sum or product of two terms instead of one atomic term.
        family: force the atomic family (tests); None samples uniformly.
        ranges: the parameter ranges, ``original`` (the original's generator) or ``easy``.

    Returns:
        The spec dict (JSON-able).
    """
    if composite:
        kind = str(rng.choice(["sum_two", "multiply_two"]))
        terms = [sample_term(rng, str(rng.choice(COMPOSABLE_FAMILIES)), ranges) for _ in range(2)]
    else:
        kind = "atomic"
        terms = [sample_term(rng, family or str(rng.choice(ATOMIC_FAMILIES)), ranges)]
    spec: dict[str, Any] = {
        "id": function_id,
        "category": "numeric",
        "kind": kind,
        "terms": terms,
        "variant": variant,
        "ranges": ranges,
        "seed": int(rng.integers(0, 2**31 - 1)),
        "noise": None,
        "corruption": None,
        "mlp": None,
    }
    spec["domain"] = list(spec_domain(spec))
    if variant == "noise":
        spec["noise"] = {"type": str(rng.choice(NOISE_TYPES, p=NOISE_WEIGHTS)), "scale": 1.0}
    elif variant == "corrupt":
        low, high = spec["domain"]
        grid = np.linspace(low, high, 100)
        values = clean_values(spec, grid)
        finite = values[np.isfinite(values)]
        mean = float(np.mean(finite)) if finite.size else 0.0
        kind_c = str(rng.choice(CORRUPTION_TYPES, p=CORRUPTION_WEIGHTS))
        a = _r(rng.uniform(max(low, -100.0), 100.0))
        corruption: dict[str, Any] = {"type": kind_c, "a": a, "mean": round(mean, 4)}
        if kind_c == "interval_inside":
            corruption["b"] = _r(a + rng.uniform(5, 25))
        spec["corruption"] = corruption
    if variant != "mlp":
        spec["description"] = describe(spec)
        spec["code"] = ground_truth_code(spec)
    return spec


def fit_mlps(specs: list[dict[str, Any]], *, steps: int = 150, points: int = 384, seed: int = 0) -> None:
    """Fit a 1-64-1 ReLU network to each spec's clean function, in place (sets ``mlp``, description, code).

    All networks train together, vectorised over functions: the hidden layer starts with its kinks spread over
    the domain, the output layer is solved by ridge least squares, then all weights take `steps` full-batch
    Adam steps on the mean squared error (in normalised units). Fast: about a second for 150 functions.

    Args:
        specs: numeric specs with ``variant == "mlp"``.
        steps: Adam steps after the least-squares start.
        points: training points per function, evenly spread over its domain.
        seed: seeds the kink signs.
    """
    if not specs:
        return
    rng = np.random.default_rng(seed)
    count = len(specs)
    # inputs, normalised to u = x / 128 in [-1, 1]
    x = np.stack([np.linspace(*_train_range(s), points) for s in specs])  # (F, N)
    y = np.stack([clean_values(s, row) for s, row in zip(specs, x, strict=False)])  # (F, N)
    y = np.where(np.isfinite(y), y, 0.0)
    y_mean = y.mean(axis=1, keepdims=True)  # (F, 1)
    y_std = y.std(axis=1, keepdims=True) + 1e-8  # (F, 1)
    target = (y - y_mean) / y_std  # (F, N)
    u = x / TEST_RANGE  # (F, N)
    # hidden layer: kinks at evenly spaced knots over each function's domain
    knots = np.stack([np.linspace(row[0], row[-1], MLP_HIDDEN + 2)[1:-1] for row in u])  # (F, H)
    w1 = np.where(rng.random((count, MLP_HIDDEN)) < 0.5, -1.0, 1.0) * 4.0  # (F, H)
    b1 = -w1 * knots  # (F, H)
    hidden = np.maximum(u[:, :, None] * w1[:, None, :] + b1[:, None, :], 0.0)  # (F, N, H)
    design = np.concatenate([hidden, np.ones((count, points, 1))], axis=2)  # (F, N, H+1)
    gram = design.transpose(0, 2, 1) @ design + 1e-4 * np.eye(MLP_HIDDEN + 1)  # (F, H+1, H+1)
    rhs = design.transpose(0, 2, 1) @ target[:, :, None]  # (F, H+1, 1)
    solution = np.linalg.solve(gram, rhs)[:, :, 0]  # (F, H+1)
    w2, b2 = solution[:, :MLP_HIDDEN], solution[:, MLP_HIDDEN]  # (F, H), (F,)
    params = [w1, b1, w2, b2]
    moments = [np.zeros_like(p) for p in params]
    velocities = [np.zeros_like(p) for p in params]
    lr, beta1, beta2 = 1e-3, 0.9, 0.999
    for step in range(1, steps + 1):
        pre = u[:, :, None] * w1[:, None, :] + b1[:, None, :]  # (F, N, H)
        hidden = np.maximum(pre, 0.0)
        pred = np.einsum("fnh,fh->fn", hidden, w2) + b2[:, None]  # (F, N)
        err = 2.0 * (pred - target) / points  # (F, N)
        g_w2 = np.einsum("fnh,fn->fh", hidden, err)
        g_b2 = err.sum(axis=1)
        g_hidden = err[:, :, None] * w2[:, None, :] * (pre > 0)  # (F, N, H)
        g_w1 = np.einsum("fnh,fn->fh", g_hidden, u)
        g_b1 = g_hidden.sum(axis=1)
        for i, grad in enumerate([g_w1, g_b1, g_w2, g_b2]):
            moments[i] = beta1 * moments[i] + (1 - beta1) * grad
            velocities[i] = beta2 * velocities[i] + (1 - beta2) * grad**2
            m_hat = moments[i] / (1 - beta1**step)
            v_hat = velocities[i] / (1 - beta2**step)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        w1, b1, w2, b2 = params
    for i, spec in enumerate(specs):
        # back to original units: y = y_std * (relu(x * w1/128 + b1) @ w2 + b2) + y_mean
        spec["mlp"] = {
            "w1": [float(v) for v in w1[i] / TEST_RANGE],
            "b1": [float(v) for v in b1[i]],
            "w2": [float(v) for v in w2[i] * y_std[i, 0]],
            "b2": float(b2[i] * y_std[i, 0] + y_mean[i, 0]),
        }
        spec["description"] = describe(spec)
        spec["code"] = ground_truth_code(spec)


def _train_range(spec: dict[str, Any]) -> tuple[float, float]:
    low, high = spec["domain"]
    return (max(low, -float(TEST_RANGE)), min(high, float(TEST_RANGE)))
