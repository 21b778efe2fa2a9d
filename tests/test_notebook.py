"""The demo notebook runs end to end (on a short run) and draws its plots."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
ipykernel_kernelspec = pytest.importorskip("ipykernel.kernelspec")

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO_ROOT / "examples" / "grpo_dynamic_bandit_demo.ipynb"


@pytest.fixture
def python3_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``python3`` kernel spec that runs this interpreter, found before any other one."""
    # write_kernel_spec puts sys.executable in the spec's argv; JUPYTER_PATH is searched first.
    ipykernel_kernelspec.write_kernel_spec(path=str(tmp_path / "kernels" / "python3"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return "python3"


def test_notebook_is_saved_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], "clear the notebook's outputs before saving it"
            assert cell.execution_count is None, "clear the notebook's outputs before saving it"


def test_notebook_runs(python3_kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits the environment: a short run, and one thread per process.
    monkeypatch.setenv("DEMO_DECISIONS", "300")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=python3_kernel,
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(REPO_ROOT)}},
    )
    client.execute()  # raises CellExecutionError if a cell fails

    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    images = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= 3, f"expected at least 3 plots, got {len(images)}"
    text = "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )
    assert "300 decisions per agent" in text  # DEMO_DECISIONS reached the kernel
    assert "| GRPO |" in text and "| PPO |" in text and "| sw_ucb |" in text
