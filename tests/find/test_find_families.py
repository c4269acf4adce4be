"""FIND function families: every family evaluates on its domain, variants differ only where they should,
and the suite builder is deterministic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinkerlab.find import numeric, strings
from tinkerlab.find.suite import BuildConfig, SuiteVersionError, build_suite, load_suite


def _in_domain(spec):
    x = numeric.scoring_inputs()
    low, high = spec["domain"]
    return x[(x >= low) & (x <= high)]


@pytest.mark.parametrize("family", numeric.ALL_FAMILIES)
def test_every_numeric_family_is_finite_on_its_domain_and_matches_its_code(family):
    rng = np.random.default_rng(3)
    for _ in range(20):
        spec = numeric.sample_numeric_function(rng, "f00000", variant="clean")
        spec["terms"] = [numeric.sample_term(rng, family)]
        spec["domain"] = list(numeric.spec_domain(spec))
        spec["code"] = numeric.ground_truth_code(spec)
        x = _in_domain(spec)
        y = numeric.clean_values(spec, x)
        assert y.shape == x.shape
        assert np.isfinite(y).all(), (family, spec["terms"])
        namespace: dict = {}
        exec(spec["code"], namespace)
        np.testing.assert_allclose(namespace["f"](x), y, rtol=1e-12, atol=1e-12)
        assert numeric.describe(spec).startswith("f(x) is ")


def test_families_outside_their_domain_are_not_finite():
    rng = np.random.default_rng(0)
    log = {"family": "logarithm", "params": numeric.sample_term(rng, "logarithm")["params"]}
    assert not np.isfinite(numeric.term_values(log, np.array([-3.5]))).any()
    root = {"family": "root", "params": {"a": 1.0, "b": 0.0, "n": 2}}
    assert not np.isfinite(numeric.term_values(root, np.array([-3.5]))).any()


def test_noise_changes_every_point_but_keeps_the_mean():
    rng = np.random.default_rng(1)
    for kind, mean_shift in (("normal", 0.0), ("uniform", 0.0), ("poisson", 1.0)):
        spec = numeric.sample_numeric_function(rng, "f00001", variant="noise", family="linear")
        spec["noise"] = {"type": kind, "scale": 1.0}
        x = np.linspace(-100, 100, 4001)
        noisy = numeric.exposed_values(spec, x, np.random.default_rng(5))
        diff = noisy - numeric.clean_values(spec, x)
        assert abs(diff.mean() - mean_shift) < 0.1, kind
        if kind == "uniform":
            assert np.abs(diff).max() <= 1.0
        if kind == "poisson":
            assert np.allclose(diff, np.round(diff)) and diff.min() >= 0


def test_corruption_changes_only_the_interval():
    rng = np.random.default_rng(2)
    seen = set()
    for index in range(60):
        spec = numeric.sample_numeric_function(rng, "f00002", variant="corrupt", family="polynomial")
        c = spec["corruption"]
        seen.add(c["type"])
        x = numeric.scoring_inputs()
        exposed = numeric.exposed_values(spec, x, np.random.default_rng(index))
        clean = numeric.clean_values(spec, x)
        mask = numeric.corruption_mask(c, x)
        np.testing.assert_array_equal(exposed[~mask], clean[~mask])
        if mask.any():
            assert np.abs(exposed[mask] - c["mean"]).max() < 1.0  # N(mean, 0.1)
            if c["type"] == "interval_inside":
                assert 5 <= c["b"] - c["a"] <= 25.1
                assert x[mask].min() > c["a"] and x[mask].max() < c["b"]
            elif c["type"] == "interval_smaller":
                assert x[mask].max() <= c["a"]
            else:
                assert x[mask].min() >= c["a"]
    assert seen == set(numeric.CORRUPTION_TYPES)


def test_mlp_approximates_smooth_functions_but_is_not_the_function():
    rng = np.random.default_rng(4)
    # slow sines (the easy ranges): the original's periods (0.1-6.3 over [-100, 100]) are beyond a 1-64-1 net
    specs = [
        numeric.sample_numeric_function(rng, f"f{i:05d}", variant="mlp", family="sin", ranges="easy") for i in range(6)
    ]
    specs += [numeric.sample_numeric_function(rng, f"f{i:05d}", variant="mlp", family="linear") for i in range(6)]
    numeric.fit_mlps(specs, steps=50)
    x = numeric.scoring_inputs()
    for spec in specs:
        mlp = numeric.exposed_values(spec, x, np.random.default_rng(0))
        clean = numeric.clean_values(spec, x)
        nmse = ((mlp - clean) ** 2).sum() / (clean**2).sum()
        assert nmse < 0.2, (spec["terms"], nmse)
        assert not np.array_equal(mlp, clean)
        namespace: dict = {}
        exec(spec["code"], namespace)
        np.testing.assert_allclose(namespace["f"](x), mlp, rtol=1e-9, atol=1e-9)


def test_there_are_at_least_60_string_primitives_and_all_run():
    assert len(strings.PRIMITIVES) >= 60
    rng = np.random.default_rng(0)
    for name in strings.PRIMITIVES:
        for _ in range(5):
            spec = {"ops": [strings.sample_op(rng, name)]}
            spec["code"] = strings.ground_truth_code(spec)
            for _ in range(5):
                text = strings.sample_input(rng)
                out = strings.string_function(spec)(text)
                assert isinstance(out, str), name


def test_string_primitives_do_what_they_say():
    def run(name, text, **params):
        spec = {"ops": [{"op": name, "params": params}]}
        spec["code"] = strings.ground_truth_code(spec)
        return strings.string_function(spec)(text)

    assert run("reverse", "abc") == "cba"
    assert run("count_vowels", "banana") == "three"
    assert run("count_chars", "x" * 23) == "twenty-three"
    assert run("caesar", "azZ", k=1) == "baA"
    assert run("replace_vowels", "hello", c="x") == "hxllx"
    assert run("atbash", "abz") == "zya"
    composed = {"ops": [{"op": "upper", "params": {}}, {"op": "reverse", "params": {}}]}
    composed["code"] = strings.ground_truth_code(composed)
    assert strings.string_function(composed)("abc") == "CBA"
    assert "first converts" in strings.describe(composed)


def test_string_unit_tests_have_one_correct_execution():
    rng = np.random.default_rng(0)
    specs = [strings.sample_string_function(rng, f"f{i:05d}") for i in range(20)]
    pairs, items = strings.make_unit_tests(specs[0], rng, specs[1:])
    assert len(pairs) == 10 and len(items) == 10
    for text, out in pairs:
        assert strings.safe_apply(specs[0], text) == out
    for item in items:
        correct = [strings.safe_apply(specs[0], i) == o for i, o in item["candidates"]]
        assert correct[item["answer"] - 1]
        assert sum(correct) == 1


def _read_all(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_writes_an_identical_suite_and_another_seed_does_not(tmp_path):
    config = BuildConfig(seed=11, small=True, mlp_steps=20)
    a = _read_all(build_suite(tmp_path / "a", config))
    b = _read_all(build_suite(tmp_path / "b", config))
    c = _read_all(build_suite(tmp_path / "c", BuildConfig(seed=12, small=True, mlp_steps=20)))
    assert a == b
    assert a["numeric.json"] != c["numeric.json"] and a["strings.json"] != c["strings.json"]
    suite = load_suite(tmp_path / "a")
    assert {k: len(v) for k, v in suite.functions.items()} == {
        "numeric": 40,
        "strings": 40,
        "entities": 10,
        "relations": 6,
    }
    variants = [s["variant"] for s in suite.functions["numeric"]]
    assert variants[:6] == ["mlp"] * 6 and {"clean", "noise", "corrupt"} <= set(variants)


def test_full_counts_match_the_original(tmp_path):
    build_suite(tmp_path, BuildConfig(seed=0, categories=("strings", "entities", "relations")))
    suite = load_suite(tmp_path)
    assert len(suite.functions["strings"]) == 1000
    assert len({s["code"] for s in suite.functions["strings"]}) == 1000
    composed = sum(len(s["ops"]) == 2 for s in suite.functions["strings"])
    assert composed >= 600  # about 70% drawn as compositions; deduplication removes repeated primitives
    entities = suite.functions["entities"]
    assert len(entities) == 200 and sum(len(e["concepts"]) == 1 for e in entities) == 140
    relations = suite.functions["relations"]
    assert len(relations) == 75 and sum(r["mode"] == "none" for r in relations) == 25


def test_a_suite_of_another_version_is_refused(tmp_path):
    build_suite(tmp_path, BuildConfig(seed=0, small=True, categories=("strings",)))
    header = json.loads((tmp_path / "suite.json").read_text())
    header["version"] = 999
    (tmp_path / "suite.json").write_text(json.dumps(header))
    with pytest.raises(SuiteVersionError, match="version 999"):
        load_suite(tmp_path)
