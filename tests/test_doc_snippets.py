"""Code blocks of the docs, run as a newcomer pastes them (each into a file of its own, then run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_block_after(path: Path, heading: str) -> str:
    """The first ```python block after the line ``heading`` of a Markdown file."""
    text = path.read_text()
    start = text.index(f"\n{heading}\n")
    match = re.compile(r"```python\n(.*?)```", re.DOTALL).search(text, start)
    assert match is not None, f"no python block after {heading!r} in {path}"
    return match.group(1)


@pytest.mark.parametrize(
    ("doc", "heading"),
    [("docs/cloning.md", "## Vectorized envs: `VecEnvCloner`")],
)
def test_snippet_runs_as_a_script(doc: str, heading: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(python_block_after(ROOT / doc, heading))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
