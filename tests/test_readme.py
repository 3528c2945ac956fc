"""README examples run as written (in a scratch directory); its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md example {index}", "exec"), {})
    assert capsys.readouterr().out.strip()  # every example prints what it computed


ROOT = README.parent
FENCED = re.compile(r"^```.*?^```", flags=re.DOTALL | re.MULTILINE)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(r"(?<![\w/.])((?:docs|scripts)/[\w./{},-]*)")
BRACES = re.compile(r"\{([^{}]*)\}")


def _expand(path: str) -> list[str]:
    """Expand shell-style ``{a,b}`` alternatives: ``x/{a,b}.py`` -> two paths."""
    match = BRACES.search(path)
    if match is None:
        return [path]
    head, tail = path[: match.start()], path[match.end() :]
    return [p for alt in match.group(1).split(",") for p in _expand(head + alt + tail)]


def _readme_paths() -> list[str]:
    text = README.read_text()
    paths = [
        link.split("#", 1)[0]
        for link in MARKDOWN_LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:|^#", link)  # URLs and anchors
    ]
    for code in INLINE_CODE.findall(FENCED.sub("", text)):
        paths += [p.rstrip(".,:;") for p in REPO_PATH.findall(code)]
    return sorted({p for path in paths for p in _expand(path)})


def test_expand_braces() -> None:
    assert _expand("a/{b,c}/{d,e}.py") == [
        "a/b/d.py",
        "a/b/e.py",
        "a/c/d.py",
        "a/c/e.py",
    ]


def test_readme_relative_links_exist() -> None:
    paths = _readme_paths()
    assert "docs/results/main_job/nashconv.png" in paths  # the scan finds links at all
    assert "scripts/exploitability_theory.py" in paths
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"README.md points to missing files: {missing}"
