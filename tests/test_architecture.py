"""The package's import rules and its light start-up, checked on the source itself.

- `core` imports nothing of ours (the root package's `__version__` aside);
- an engine imports `core` and only the engines named in `ENGINE_DEPENDENCIES`;
- a system imports `core` and engines, never another system;
- `import tinkerlab.cli` (what `tinkerlab --help` runs) loads no torch, numpy or matplotlib.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tinkerlab.cli import ENGINES, SYSTEMS

SRC = Path(__file__).resolve().parents[1] / "src" / "tinkerlab"
# Which engines an engine may import, besides core. Add an entry here (and in docs/architecture.md) when a new
# dependency between engines is part of the design.
ENGINE_DEPENDENCIES: dict[str, set[str]] = {name: set() for name in ENGINES}
TOP_LEVEL = {"cli", "cli_options", "demo"}  # the command and the gallery may import every package
SHARED_OPTIONS = "cli_options"  # every package's CLI may use the shared Typer options


def _imports(path: Path) -> set[str]:
    """The `tinkerlab.<package>` names a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tinkerlab" and len(parts) > 1:
                found.add(parts[1])
    return found


def _package_files() -> dict[str, list[Path]]:
    packages: dict[str, list[Path]] = {}
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if len(relative.parts) == 1:
            continue  # tinkerlab/__init__.py, cli.py, cli_options.py, demo.py
        packages.setdefault(relative.parts[0], []).append(path)
    return packages


def _violations(package: str, allowed: set[str]) -> list[str]:
    known = {"core", *ENGINES, *SYSTEMS} | TOP_LEVEL
    bad = []
    for path in _package_files().get(package, []):
        for target in sorted(_imports(path) - {package, "__version__"}):
            if target in known and target not in allowed:
                bad.append(f"{path.relative_to(SRC)} imports tinkerlab.{target}")
    return bad


def test_every_package_is_declared_as_engine_or_system():
    assert set(_package_files()) <= {"core", *ENGINES, *SYSTEMS}, "a new package must be listed in tinkerlab.cli"


def test_core_imports_nothing_of_ours():
    assert _violations("core", set()) == []


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_engines_import_core_and_their_named_engines_only(engine):
    assert _violations(engine, {"core", SHARED_OPTIONS, *ENGINE_DEPENDENCIES[engine]}) == []


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_systems_never_import_another_system(system):
    assert _violations(system, {"core", SHARED_OPTIONS, *ENGINES}) == []


def test_shared_options_import_only_core():
    assert _imports(SRC / "cli_options.py") <= {"core"}


def test_the_rule_checker_sees_function_level_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from tinkerlab.sketch.render import render_image\n    import tinkerlab.find\n")
    assert _imports(sample) == {"sketch", "find"}


def test_cli_import_loads_no_heavy_library():
    code = (
        "import sys, tinkerlab.cli\n"
        "heavy = [m for m in ('torch', 'numpy', 'matplotlib', 'transformers') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"import tinkerlab.cli loaded {result.stdout.strip()}"


def test_every_package_init_has_a_docstring():
    for init in sorted(SRC.glob("*/__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{init.relative_to(SRC)} has no docstring"
