"""Code blocks of the docs, run as a newcomer pastes them: each into a file of its own, run from an empty
folder.

The blocks not run here are fragments that continue an earlier block or need the reader's own objects
(the README's core snippet, `check_cloneable` on `env`, the adapter and `ForgetfulCorridorEnv` blocks
of docs/cloning.md), or train for minutes (the README's `model.learn(100_000)`); docs/zoo.md's
`load_study` call on a journal file is the one `tests/test_zoo.py` makes after its tuning run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_block(path: Path, first_line: str) -> str:
    """The first ```python block of a Markdown file whose first line starts with ``first_line``."""
    for match in re.finditer(r"```python\n(.*?)```", path.read_text(), re.DOTALL):
        if match.group(1).startswith(first_line):
            return match.group(1)
    raise AssertionError(f"no python block starting with {first_line!r} in {path}")


@pytest.mark.parametrize(
    ("doc", "first_line"),
    [
        ("docs/cloning.md", "import gymnasium as gym"),
        ("docs/cloning.md", '"""Make your own env cloneable'),
        ("docs/cloning.md", "from stable_baselines3.common.env_util import make_vec_env"),  # VecEnvCloner
        ("docs/core.md", "import torch"),
        ("docs/dynamic_bandit.md", "import gymnasium as gym"),
    ],
)
def test_snippet_runs_as_a_script(doc: str, first_line: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(python_block(ROOT / doc, first_line))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_check_cloneable_report_in_the_docs_differs_from_a_run_only_in_its_timings() -> None:
    doc = (ROOT / "docs" / "cloning.md").read_text()
    shown = re.search(r"```\n(check_cloneable\('NoisyCorridorEnv'\).*?)```", doc, re.DOTALL)
    assert shown is not None
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "custom_cloneable_env.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]

    def without_timings(text: str) -> str:
        return re.sub(r"save\+restore [\d.]+ us, step [\d.]+ us \([\d.]+x a step\)", "TIMINGS", text).strip()

    assert without_timings(result.stdout) == without_timings(shown.group(1))
