"""``docs/tutorial.ipynb`` runs top to bottom and ends with an exact NashConv.

The notebook is executed with ``nbclient`` in a kernel of *this* interpreter:
a throwaway kernelspec whose ``argv`` is ``sys.executable`` is put first on
``JUPYTER_PATH``, so neither a user-level ``python3`` kernelspec nor another
Python on ``PATH`` can run it instead. Skipped (with the reason) where
``nbclient``, ``nbformat`` or ``ipykernel`` is not installed.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (no Python kernel)")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"
KERNEL = "mail-gym-test-python"
#: Whole-notebook budget on a 2-core CPU is under 60 s; the per-cell timeout
#: leaves room for a slow CI machine without letting a hung cell stall the suite.
CELL_TIMEOUT_S = 180


@pytest.fixture
def this_python_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec running ``sys.executable``, found first through JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mail-gym test kernel",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return KERNEL


def test_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the tutorial has no code cells"
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "pettingzoo.make" in code[1].source  # starts from pettingzoo.make


def test_tutorial_runs_and_prints_the_final_nash_conv(
    this_python_kernel: str, tmp_path: Path
) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    last = next(c for c in reversed(nb.cells) if c.cell_type == "code")
    probe = nbformat.v4.new_code_cell("import sys; print(sys.executable)")
    nb.cells.append(probe)  # which interpreter ran the kernel
    client = nbclient.NotebookClient(
        nb,
        kernel_name=this_python_kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},  # cwd of the kernel
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    seconds = time.perf_counter() - start
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert errors == []
    text = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream")
    match = re.search(r"final NashConv: (\d+\.\d+)", text)
    assert match, f"the last cell printed no NashConv: {text!r}"
    assert float(match.group(1)) >= 0.0
    executable = "".join(o.get("text", "") for o in probe.outputs).strip()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert seconds < 4 * 60, f"the tutorial took {seconds:.0f} s"
