"""Code blocks of the docs, run as a newcomer pastes them: each into a file of its own, run from an empty
folder.

The blocks not run here are fragments that continue an earlier block or need the reader's own objects
(the core snippet of docs/quickstart.md, `check_cloneable` on `env`, the adapter and `ForgetfulCorridorEnv` blocks
of docs/cloning.md), or train for minutes (the README's `model.learn(100_000)`, which
`tests/test_grpo_learning.py` runs as a slow test); docs/zoo.md's
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
        # GRPO on a SubprocVecEnv: its workers import torch and SB3 each (over a minute on 2 busy cores)
        pytest.param(
            "docs/quickstart.md",
            "from stable_baselines3.common.env_util import make_vec_env",
            marks=pytest.mark.slow,
        ),
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


def bash_blocks(path: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", path.read_text(), re.DOTALL)


def test_readme_opens_with_the_two_set_up_commands_and_ci_runs_the_same_tests() -> None:
    readme = ROOT / "README.md"
    head = "\n".join(readme.read_text().splitlines()[:30])
    commands = [block.strip() for block in re.findall(r"```bash\n(.*?)```", head, re.DOTALL)]
    assert len(commands) == 2, commands
    main_job, tests = commands
    assert main_job.startswith("pip install torch==") and main_job.endswith(
        "python examples/dynamic_bandit.py"
    )
    assert (ROOT / "examples" / "dynamic_bandit.py").is_file()
    test_command = tests.split(" && ")[-1]
    assert test_command.startswith("python -m pytest"), tests
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines, f"CI must run the README's test command {test_command!r}"
    # The extras named in the set-up commands exist.
    pyproject = (ROOT / "pyproject.toml").read_text()
    for extras in re.findall(r'-e "\.\[([\w,]+)\]"', main_job + tests):
        for extra in extras.split(","):
            assert re.search(rf"^{extra} = \[", pyproject, re.MULTILINE), extra


@pytest.mark.parametrize(
    "doc", ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]
)
def test_relative_links_point_at_files(doc: str) -> None:
    path = ROOT / doc
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = [
        target
        for target in targets
        if "://" not in target
        and not target.startswith("#")
        and not (path.parent / target.split("#")[0]).exists()
    ]
    assert not broken, f"{doc}: links to missing files: {broken}"
