"""Imports point only downward: ``mail_envs`` <- ``mail_wrappers`` <- ``agents`` <- ``scripts``.

Every ``import``/``from ... import`` statement of every module is read from its
syntax tree, including imports inside functions (a lazy import still runs
the layers backwards), and checked against the layer order of DESIGN.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layer order, lowest first; a module may import its own layer and those below.
LAYERS = ("mail_envs", "mail_wrappers", "agents", "scripts")


def _imported_packages(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level package)`` of every absolute import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def _modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def _upward_imports(layer: str) -> list[str]:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    return [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for path in _modules(layer)
        for line, package in _imported_packages(path)
        if package in above
    ]


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_no_module_imports_a_higher_layer(layer: str) -> None:
    assert _modules(layer), f"no modules found in {layer}/"
    assert _upward_imports(layer) == []


def test_the_checker_sees_a_lazy_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from agents.bc import BCTrainer\n    import scripts\n"
    )
    assert _imported_packages(module) == [(2, "agents"), (3, "scripts")]
