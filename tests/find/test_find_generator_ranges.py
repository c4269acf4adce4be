"""The suite follows the original FIND generator: numeric parameters stay inside the original's ranges, string
held-out inputs carry spaces and punctuation in the original's proportion, no string function is constant on its
held-out inputs, and hint words overlap the entity/relation unit-test answers no more than the original's do."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tinkerlab.find import entities, numeric, relations, strings
from tinkerlab.find.suite import (
    SUITE_VERSION,
    BuildConfig,
    SuiteVersionError,
    build_numeric,
    build_strings,
    build_suite,
    load_suite,
)

# Measured on the original repository (multimodal-interpretability/FIND):
ORIGINAL_SPACE_SHARE = 0.254  # held-out inputs with a space, utils/eval_data_strings.json (10,000 inputs)
ORIGINAL_PUNCTUATION_SHARE = 0.137  # held-out inputs with punctuation, same file
ORIGINAL_ENTITY_OVERLAP = 0.172  # entity unit-test answers that are hint words, neurons_entities (200 functions)
ORIGINAL_RELATION_OVERLAP = 0.031  # relation answer inputs that are hint words, neurons_relations (75 functions)


def _inside(value: float, bounds: tuple[float, float], family: str, name: str) -> None:
    low, high = bounds
    assert low - 1e-9 <= value <= high + 1e-9, (family, name, value, bounds)


def _check_term(term: dict) -> None:
    family, params = term["family"], term["params"]
    ranges = numeric.ORIGINAL_RANGES[family]
    for name, value in params.items():
        if family == "polynomial":
            _inside(len(value) - 1, ranges["degree"], family, "degree")
            for coefficient in value:
                _inside(coefficient, ranges["coeffs"], family, name)
        elif family == "rational":
            _inside(len(params["num"]) - 1, ranges["num_order"], family, "num_order")
            _inside(len(params["den"]) - 1, ranges["den_order"], family, "den_order")
            assert len(params["den"]) > len(params["num"])
            for coefficient in value:
                _inside(coefficient, ranges[name], family, name)
        else:
            _inside(value, ranges[name], family, name)
        if family not in ("gaussian",):
            values = value if isinstance(value, list) else [value]
            assert all(round(v, 1) == v for v in values), (family, name, value)  # rounded to 0.1, as the original
    if family == "gaussian":
        assert params["a"] == pytest.approx(1 / (params["std"] * math.sqrt(2 * math.pi)))
    if family in ("sin", "cos", "tanh"):
        grid = {round(float(v), 1) for v in numeric.TWO_PI_GRID}
        assert params["period"] in grid and params["shift"] in grid


def test_numeric_parameters_stay_inside_the_original_ranges_over_many_seeds():
    seen: dict[str, int] = {}
    for seed in range(12):
        specs = build_numeric(np.random.default_rng(seed), 100, mlp_steps=1)
        for spec in specs:
            assert spec["ranges"] == "original"
            for term in spec["terms"]:
                _check_term(term)
                seen[term["family"]] = seen.get(term["family"], 0) + 1
            low, high = spec["domain"]
            assert high == numeric.ORIGINAL_DOMAIN and low in (-numeric.ORIGINAL_DOMAIN, 0.0, 1.0)
            if spec["variant"] == "corrupt":
                c = spec["corruption"]
                _inside(c["a"], (max(low, -100.0), 100.0), "corruption", "a")
                if c["type"] == "interval_inside":
                    _inside(c["b"] - c["a"], (5.0, 25.05), "corruption", "b - a")
                grid = np.linspace(low, high, 100)
                values = numeric.clean_values(spec, grid)
                assert c["mean"] == pytest.approx(float(np.mean(values[np.isfinite(values)])), abs=1e-3)
    assert set(seen) == set(numeric.ALL_FAMILIES)  # every family was sampled


@pytest.mark.parametrize("family", numeric.ATOMIC_FAMILIES)
def test_every_family_draws_its_whole_original_range(family):
    rng = np.random.default_rng(7)
    terms = [numeric.sample_term(rng, family) for _ in range(3000)]
    for term in terms:
        _check_term(term)
    for name, (low, high) in numeric.ORIGINAL_RANGES[family].items():
        if name in ("degree", "num_order", "den_order", "coeffs", "num", "den") or low == high:
            continue
        values = [t["params"][name] for t in terms]
        span = high - low
        assert min(values) < low + 0.1 * span and max(values) > high - 0.1 * span, (family, name)


def test_the_original_forms_step_at_zero_unit_rectangle_and_wave_density_gaussian():
    rng = np.random.default_rng(0)
    step = numeric.sample_term(rng, "step")
    p = step["params"]
    values = numeric.term_values(step, np.array([-0.5, 0.0, 0.5]))
    np.testing.assert_allclose(values, [p["b"], p["a"] * p["h0"] + p["b"], p["a"] + p["b"]])  # a*heaviside(x,h0)+b
    rectangle = numeric.sample_term(rng, "rectangle")
    assert set(numeric.term_values(rectangle, numeric.scoring_inputs())) <= {0.0, 1.0}
    wave = numeric.sample_term(rng, "square_wave")
    assert set(numeric.term_values(wave, numeric.scoring_inputs())) <= {-1.0, 1.0}
    gaussian = numeric.sample_term(rng, "gaussian")
    peak = numeric.term_values(gaussian, np.array([gaussian["params"]["mean"]]))[0]
    assert peak <= 1 / math.sqrt(2 * math.pi) + 1e-12
    roots = {numeric.sample_term(rng, "root")["params"]["n"] for _ in range(50)}
    assert roots == {1, 2}


def test_easy_ranges_are_a_named_option_and_are_recorded():
    rng = np.random.default_rng(0)
    spec = numeric.sample_numeric_function(rng, "f00000", family="sin", ranges="easy")
    assert spec["ranges"] == "easy" and spec["domain"] == [-128.0, 128.0]
    assert 2 <= spec["terms"][0]["params"]["period"] <= 40
    with pytest.raises(ValueError, match="ranges"):
        numeric.sample_term(rng, "sin", "hard")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="ranges"):
        BuildConfig(ranges="hard")  # type: ignore[arg-type]


def _has_punctuation(text: str) -> bool:
    return any(not c.isalnum() and not c.isspace() for c in text)


def test_string_held_out_inputs_carry_spaces_and_punctuation_like_the_original():
    specs = build_strings(np.random.default_rng(0), 300)
    inputs = [text for spec in specs for text, _ in spec["test_pairs"]]
    space = sum(" " in t for t in inputs) / len(inputs)
    punctuation = sum(_has_punctuation(t) for t in inputs) / len(inputs)
    assert abs(space - ORIGINAL_SPACE_SHARE) < 0.03, space
    assert abs(punctuation - ORIGINAL_PUNCTUATION_SHARE) < 0.03, punctuation


def test_no_string_function_is_constant_on_its_held_out_inputs():
    specs = build_strings(np.random.default_rng(1), 400)
    for spec in specs:
        assert len(spec["test_pairs"]) == 10
        assert len({out for _, out in spec["test_pairs"]}) > 1, spec["description"]
        for text, out in spec["test_pairs"]:
            assert strings.safe_apply(spec, text) == out
    assert strings.is_constant_on([["a", "x"], ["b", "x"]]) and not strings.is_constant_on([["a", "x"], ["b", "y"]])


def _overlap(specs: list[dict], pairs: bool) -> float:
    hits = total = 0
    for spec in specs:
        hints = {w.strip().lower() for w in spec["initial"]}
        for item in spec["unit_tests"]:
            answer = item["candidates"][item["answer"] - 1]
            word = answer[0] if pairs else answer
            hits += word.strip().lower() in hints
            total += 1
    return hits / total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hint_words_overlap_the_unit_test_answers_no_more_than_the_original(seed):
    entity_specs = entities.build_entity_specs(np.random.default_rng(seed), 200)
    relation_specs = relations.build_relation_specs(np.random.default_rng(seed), 75)
    assert _overlap(entity_specs, pairs=False) <= ORIGINAL_ENTITY_OVERLAP
    assert _overlap(relation_specs, pairs=True) <= ORIGINAL_RELATION_OVERLAP
    for spec in entity_specs:
        assert len(spec["initial"]) == 10 and len(spec["unit_tests"]) == 10
        related = {w for c in spec["concepts"] for w in entities.CONCEPTS[c]}
        assert sum(w in related for w in spec["initial"]) >= entities.HINT_WORDS_PER_CONCEPT  # hints still help
    for spec in relation_specs:
        assert len(spec["initial"]) == 8 and len(spec["unit_tests"]) == 10


def test_a_version_1_suite_is_refused_with_the_rebuild_command(tmp_path):
    assert SUITE_VERSION == 2
    build_suite(tmp_path, BuildConfig(seed=3, small=True, categories=("relations",)))
    header = json.loads((tmp_path / "suite.json").read_text())
    assert header["ranges"] == "original"
    header["version"] = 1
    (tmp_path / "suite.json").write_text(json.dumps(header))
    with pytest.raises(SuiteVersionError) as info:
        load_suite(tmp_path)
    message = str(info.value)
    assert "version 1" in message and "version 2" in message
    assert f"tinkerlab find build --out {tmp_path} --seed 3 --small" in message


def test_the_build_command_takes_the_easy_ranges_by_name(tmp_path, capsys):
    from tinkerlab.cli import main

    main(["find", "build", "--small", "--categories", "numeric", "--ranges", "easy", "--out", str(tmp_path / "e")])
    main(["find", "build", "--small", "--categories", "numeric", "--out", str(tmp_path / "o")])
    assert json.loads((tmp_path / "e" / "suite.json").read_text())["ranges"] == "easy"
    assert json.loads((tmp_path / "o" / "suite.json").read_text())["ranges"] == "original"
    easy = (tmp_path / "e" / "numeric.json").read_text()
    assert easy != (tmp_path / "o" / "numeric.json").read_text()  # same seed, other parameter ranges
