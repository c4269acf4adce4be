"""Frozen, typed config dataclasses: converting to and from plain JSON-able dicts, and checking their fields.

Every config checks its fields in `__post_init__` with the `check_*` helpers below, so a bad value fails at once
with an `InputError` that names the config and the field and says what was expected and what came, e.g.
``PyramidConfig.scale_factor: expected a number in (0, 1), got 1.5``. A field name may index into a sequence
field (``"betas[0]"``). Sequences are accepted as tuples or lists, as JSON gives them back.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import re
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from tinkerlab.core.errors import InputError

T = TypeVar("T")
_FIELD = re.compile(r"(\w+)((?:\[\d+\])*)")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass (possibly nested) as a JSON-able dict; tuples become lists, paths strings."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"expected a dataclass instance, got {type(config).__name__}")

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, Path):
            return str(value)
        return value

    return convert(config)


def config_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass `cls` from a dict; unknown keys raise `ValueError` naming the valid ones.

    Lists are turned back into tuples where the field type is a tuple; nested dataclasses are rebuilt.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"expected a dataclass type, got {cls!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown config keys for {cls.__name__}: {sorted(unknown)}; valid keys: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        hint = hints.get(key)
        origin = typing.get_origin(hint)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = config_from_dict(hint, value)
        elif (hint is tuple or origin is tuple) and isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[key] = value
    return cls(**kwargs)


def save_config(config: Any, path: str | Path) -> None:
    """Write a dataclass config as indented JSON."""
    Path(path).write_text(json.dumps(config_to_dict(config), indent=2, sort_keys=True) + "\n")


def load_config(cls: type[T], path: str | Path) -> T:
    """Read a dataclass config written by `save_config`."""
    return config_from_dict(cls, json.loads(Path(path).read_text()))


def config_error(config: Any, name: str, expected: str, value: Any, *, got: str | None = None) -> InputError:
    """The `InputError` for field `name` of `config`: ``Config.name: expected EXPECTED, got VALUE``.

    Args:
        config: the config instance (its class names the message).
        name: the field, possibly indexed (``"split[1]"``).
        expected: what the field should hold, e.g. "an integer >= 1".
        value: what it holds (shown with `repr`).
        got: text shown instead of `repr(value)`.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     size: int = 3
        >>> str(config_error(ToyConfig(), "size", "an even number", 3))
        'ToyConfig.size: expected an even number, got 3'
    """
    shown = repr(value) if got is None else got
    return InputError(f"{type(config).__name__}.{name}: expected {expected}, got {shown}")


def _field(config: Any, name: str) -> Any:
    """The value of `name` in `config`; ``"betas[0]"`` indexes into the field `betas`."""
    match = _FIELD.fullmatch(name)
    if match is None:
        raise ValueError(f"expected a field name such as 'lr' or 'betas[0]', got {name!r}")
    value = getattr(config, match.group(1))
    for index in re.findall(r"\d+", match.group(2)):
        value = value[int(index)]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return ""


def check_range(
    config: Any,
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    optional: bool = False,
) -> None:
    """Check that field `name` is a finite real number (an int or a float, not a bool) between `lo` and `hi`.

    Args:
        lo, hi: the bounds (None: unbounded on that side); closed unless `lo_open` / `hi_open`.
        optional: None is accepted as well.

    Raises:
        InputError: ``Config.name: expected a number in (0, 1), got 1.5``.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     ratio: float = 1.5
        >>> check_range(ToyConfig(), "ratio", 0, 1, lo_open=True, hi_open=True)
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: ToyConfig.ratio: expected a number in (0, 1), got 1.5
    """
    value = _field(config, name)
    if optional and value is None:
        return
    ok = _is_number(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        bounds = _interval(lo, hi, lo_open, hi_open)
        expected = "a finite number" if not bounds else f"a number {bounds}"
        raise config_error(config, name, f"None or {expected}" if optional else expected, value)


def check_positive(config: Any, name: str) -> None:
    """Check that field `name` is a finite number > 0 (learning rates, timeouts).

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     lr: float = 0.0
        >>> check_positive(ToyConfig(), "lr")
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: ToyConfig.lr: expected a number > 0, got 0.0
    """
    check_range(config, name, 0, lo_open=True)


def check_count(
    config: Any, name: str, minimum: int = 0, maximum: int | None = None, *, optional: bool = False
) -> None:
    """Check that field `name` is an integer (not a bool, not a float) in [`minimum`, `maximum`].

    Args:
        minimum: the smallest value allowed (0 for seeds and "extra" counts, 1 for sizes and steps).
        maximum: the largest value allowed (None: no limit).
        optional: None is accepted as well.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     epochs: int = 0
        >>> check_count(ToyConfig(), "epochs", 1)
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: ToyConfig.epochs: expected an integer >= 1, got 0
    """
    value = _field(config, name)
    if optional and value is None:
        return
    if not (_is_integer(value) and value >= minimum and (maximum is None or value <= maximum)):
        expected = f"an integer {_interval(minimum, maximum, False, False)}"
        raise config_error(config, name, f"None or {expected}" if optional else expected, value)


def check_choice(config: Any, name: str, choices: Iterable[Any]) -> None:
    """Check that field `name` is one of `choices` (the values of a `Literal` mode).

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     mode: str = "fast"
        >>> check_choice(ToyConfig(), "mode", ("whole", "strokes"))
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: ToyConfig.mode: expected one of 'whole', 'strokes', got 'fast'
    """
    choices = tuple(choices)
    value = _field(config, name)
    if not any(type(value) is type(choice) and value == choice for choice in choices):
        raise config_error(config, name, "one of " + ", ".join(repr(c) for c in choices), value)


def check_type(config: Any, name: str, kind: type | tuple[type, ...], *, optional: bool = False) -> None:
    """Check that field `name` is an instance of `kind` (a bool flag, a string, a nested config).

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     verbose: bool = "yes"
        >>> check_type(ToyConfig(), "verbose", bool)
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: ToyConfig.verbose: expected a bool, got 'yes'
    """
    value = _field(config, name)
    if optional and value is None:
        return
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        expected = f"{'an' if names[0] in 'aeiouAEIOU' else 'a'} {names}"
        raise config_error(config, name, f"None or {expected}" if optional else expected, value)


def check_length(config: Any, name: str, length: int | None = None, *, minimum: int = 0) -> None:
    """Check that field `name` is a tuple (or a list, as JSON gives it back) of `length` items (or >= `minimum`).

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     betas: tuple[float, float] = (0.5,)
        >>> check_length(ToyConfig(), "betas", 2)
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: ToyConfig.betas: expected a tuple of 2 items, got (0.5,)
    """
    value = _field(config, name)
    if length is not None:
        ok, expected = isinstance(value, (tuple, list)) and len(value) == length, f"a tuple of {length} items"
    else:
        ok, expected = isinstance(value, (tuple, list)) and len(value) >= minimum, f"a tuple of >= {minimum} items"
    if not ok:
        raise config_error(config, name, expected, value)


def check_subset(config: Any, name: str, choices: Iterable[str], *, minimum: int = 1) -> None:
    """Check that field `name` is a tuple (or list) of at least `minimum` items, each one of `choices`.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class ToyConfig:
        ...     parts: tuple[str, ...] = ("head", "tail")
        >>> try:
        ...     check_subset(ToyConfig(), "parts", ("head", "body"))
        ... except InputError as error:
        ...     print(error)
        ToyConfig.parts: expected a tuple of at least 1 of 'head', 'body', got ('head', 'tail')
    """
    choices = tuple(choices)
    value = _field(config, name)
    ok = isinstance(value, (tuple, list)) and len(value) >= minimum and all(v in choices for v in value)
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise config_error(config, name, f"a tuple of at least {minimum} of {listed}", value)
