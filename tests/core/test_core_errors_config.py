from dataclasses import dataclass

import pytest

from tinkerlab.core.config import config_from_dict, config_to_dict, load_config, save_config
from tinkerlab.core.errors import (
    InputError,
    MissingAssetError,
    MissingDependencyError,
    SketchSyntaxError,
    TinkerlabError,
    require,
)


@dataclass(frozen=True)
class Inner:
    width: int = 3


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    sizes: tuple[int, ...] = (1, 2)
    inner: Inner = Inner()


def test_errors_are_catchable_as_one_type_and_as_builtins():
    assert issubclass(InputError, TinkerlabError) and issubclass(InputError, ValueError)
    err = SketchSyntaxError("unexpected tag", line=3, column=7)
    assert (err.line, err.column) == (3, 7) and "line 3, column 7" in str(err)
    assert "pip install 'tinkerlab[circuits]'" in str(MissingDependencyError("nnsight", extra="circuits"))
    assert "apt-get install openclipart-svg" in str(MissingAssetError("clip art", "apt-get install openclipart-svg"))


def test_require_names_the_extra_for_a_missing_module():
    with pytest.raises(MissingDependencyError, match=r"tinkerlab\[web\]"):
        require("surely_not_a_module_xyz", extra="web")
    assert require("json").dumps([1]) == "[1]"


def test_config_round_trip_keeps_tuples_and_nested_dataclasses(tmp_path):
    config = Outer(name="y", sizes=(4, 5, 6), inner=Inner(width=9))
    as_dict = config_to_dict(config)
    assert as_dict == {"name": "y", "sizes": [4, 5, 6], "inner": {"width": 9}}
    assert config_from_dict(Outer, as_dict) == config
    save_config(config, tmp_path / "c.json")
    assert load_config(Outer, tmp_path / "c.json") == config


def test_config_rejects_unknown_keys_naming_valid_ones():
    with pytest.raises(ValueError, match="valid keys"):
        config_from_dict(Outer, {"nmae": "typo"})
