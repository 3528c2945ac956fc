"""The runtime dependencies are what the package imports; everything else is an extra.

Every third-party module imported at the top of a module of ``mail_envs``,
``mail_wrappers`` or ``agents`` must come from a distribution listed in
``[project] dependencies``; one imported only inside functions (optional:
Ray, datasets, Minari, TensorBoard...) must come from an extra, and the
function must say how to install it.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mail_envs", "mail_wrappers", "agents")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements):
    return {
        re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower().replace("_", "-")
        for r in requirements
    }


def _with_requirements(names):
    """``names`` and, installed here, everything they require (without extras)."""
    closure, todo = set(names), list(names)
    while todo:
        try:
            requires = metadata.requires(todo.pop()) or []
        except metadata.PackageNotFoundError:
            continue
        for name in _names(r for r in requires if "extra ==" not in r):
            if name not in closure:
                closure.add(name)
                todo.append(name)
    return closure


RUNTIME = _names(PYPROJECT["dependencies"])
EXTRAS = {
    name: _names(reqs) for name, reqs in PYPROJECT["optional-dependencies"].items()
}
#: Import name -> distributions that provide it (torch -> torch, yaml -> PyYAML...).
PROVIDERS = {
    k: {d.lower().replace("_", "-") for d in v}
    for k, v in metadata.packages_distributions().items()
}


def _imports(top_level_only: bool):
    """(module file, imported top-level name) for every third-party import."""
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            nodes = tree.body if top_level_only else list(ast.walk(tree))
            for node in nodes:
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif (
                    isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                ):
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in PACKAGES or top in sys.stdlib_module_names:
                        continue
                    if top == "__future__":
                        continue
                    found.add((str(path.relative_to(ROOT)), top))
    return sorted(found)


def test_top_level_imports_come_from_runtime_dependencies():
    missing = [
        (where, name)
        for where, name in _imports(top_level_only=True)
        if not PROVIDERS.get(name, {name}) & RUNTIME
    ]
    assert not missing, (
        f"imported at module level but not a runtime dependency: {missing}"
    )


def test_every_other_import_is_a_runtime_dependency_or_an_extra():
    extras = set().union(*EXTRAS.values())
    missing = [
        (where, name)
        for where, name in _imports(top_level_only=False)
        if not PROVIDERS.get(name, {name}) & _with_requirements(RUNTIME | extras)
    ]
    assert not missing, f"imported but in no dependency list: {missing}"


@pytest.mark.parametrize(
    "name", ["supersuit", "sb3-contrib", "pygame", "ray", "datasets"]
)
def test_test_and_example_libraries_are_not_runtime_dependencies(name):
    assert name not in RUNTIME
    assert any(name in reqs for reqs in EXTRAS.values()) or name == "pygame"


def test_dev_installs_every_extra():
    dev = " ".join(PYPROJECT["optional-dependencies"]["dev"])
    for extra in EXTRAS:
        # bench: pgx and JAX (~600 MB), the benchmarks' references only.
        if extra not in ("dev", "bench"):
            assert re.search(rf"mail-gym\[[^\]]*\b{extra}\b", dev), extra
