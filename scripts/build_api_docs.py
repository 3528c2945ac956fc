"""Build the API reference of mail-gym from its docstrings (HTML, with pdoc).

Every public module of ``mail_envs``, ``mail_wrappers`` and ``agents`` gets a
page, with the Google-style docstrings rendered, their signatures and
cross-links; ``index.html`` lists the three packages and a search box covers
everything. Nothing is written by hand: the reference is the docstrings.

Run (from the repository root; ``pdoc`` comes with the ``dev`` extra):

    python scripts/build_api_docs.py            # writes docs/api/
    python scripts/build_api_docs.py --out DIR

then open ``docs/api/index.html``. The test suite builds it too
(tests/scripts/test_build_api_docs.py), so a docstring pdoc cannot render,
or a module that fails to import, fails the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

#: The documented packages, in the order of the layers.
PACKAGES = ("mail_envs", "mail_wrappers", "agents")


def public_modules() -> list[str]:
    """Every public module of :data:`PACKAGES` (none whose name starts with ``_``).

    Listed one by one: a package's ``__all__`` names what it re-exports, not
    which of its submodules deserve a page.
    """
    root = Path(__file__).resolve().parents[1]
    names = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not any(p.startswith("_") for p in parts):
                names.append(".".join(parts))
    return names


def build(out: Path) -> list[Path]:
    """Render the API reference into ``out``; returns the module pages written.

    Raises:
        ImportError: If pdoc is not installed (``pip install pdoc``).
    """
    try:
        import pdoc
        import pdoc.render
    except ImportError as exc:  # pragma: no cover - dev extra installs it
        raise ImportError(
            "building the API reference needs pdoc: pip install pdoc"
        ) from exc
    pdoc.render.configure(
        docformat="google",
        search=True,
        show_source=True,
        footer_text="mail-gym API reference, built from the docstrings",
    )
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Packages and their submodules are both listed on purpose (a package's
        # __all__ would hide its submodules); pdoc notes the repeats.
        warnings.filterwarnings("ignore", message="The module specification")
        pdoc.pdoc(*public_modules(), output_directory=out)
    return sorted(
        p for p in out.rglob("*.html") if p.name not in ("index.html", "search.html")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("docs/api"), help="output folder"
    )
    args = parser.parse_args(argv)
    pages = build(args.out)
    print(
        f"wrote {len(pages)} module pages under {args.out} (open {args.out / 'index.html'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
