"""The package as users install it: one version, a wheel from ``python -m build`` that works on its own.

The slow tests build the wheel (or take ``$SB3_GRPO_WHEEL``, as ``.ci/run`` passes), install it (not
editable) in a new venv beside PyPI's unrelated ``envs`` package, and run the README's main job and the
zoo's ``train`` from a folder outside the repository. The venv borrows the dependencies (torch, SB3...)
of the running interpreter through a ``.pth`` line, so that no test downloads torch; only the wheel and
``envs`` are installed into it.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import sb3_grpo

ROOT = Path(__file__).resolve().parents[1]
#: PyPI's ``envs`` (environment-variable parsing), the package whose name the bandit envs once took.
PYPI_ENVS = "envs==1.4"


def run(*args: str | Path, cwd: Path, timeout: float = 300) -> str:
    """Run a command that must succeed; its output in the failure message otherwise."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, (
        f"{args}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def test_version_has_one_source() -> None:
    # pyproject.toml reads sb3_grpo.__version__ (setuptools' dynamic version); the changelog names it.
    assert importlib.metadata.version("sb3-grpo") == sb3_grpo.__version__
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sb3_grpo.__version__"}
    assert f"## {sb3_grpo.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    # pyproject.toml lists the packages (package-dir maps envs/ and zoo_configs/ into sb3_grpo), so a
    # new subpackage of sb3_grpo/ is in the wheel only once it is listed there.
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    setuptools_table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "sb3_grpo").rglob("__init__.py")
    }
    on_disk |= {f"sb3_grpo.{name}" for name in ("envs", "zoo_configs")}
    assert set(setuptools_table["packages"]) == on_disk
    assert setuptools_table["package-dir"] == {"sb3_grpo.envs": "envs", "sb3_grpo.zoo_configs": "zoo_configs"}


def test_import_registers_the_bandit_ids_in_a_fresh_interpreter() -> None:
    # Gymnasium >= 1.0 loads no plugins: importing sb3_grpo (any part of it) registers the ids.
    code = (
        "import gymnasium as gym\n"
        "assert 'DynamicBandit-v0' not in gym.registry\n"
        "import sb3_grpo\n"
        "env = gym.make('DynamicBandit-v0')\n"
        "print(env.spec.entry_point)\n"
    )
    out = run(sys.executable, "-c", code, cwd=ROOT, timeout=120)
    assert out.strip() == "sb3_grpo.envs.dynamic_bandit:DynamicBandit"


def borrowing_venv(path: Path) -> Path:
    """A new venv without sb3-grpo that sees the running interpreter's packages (torch, SB3...) after its
    own (through a ``.pth`` line: not their ``.pth`` files, so not the editable install); its python."""
    run(sys.executable, "-m", "venv", "--without-pip", path, cwd=path.parent)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=path).strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_checkout_without_install_finds_the_envs(tmp_path: Path) -> None:
    # From the repository root ./sb3_grpo is imported; envs/ beside it serves as sb3_grpo.envs.
    python = borrowing_venv(tmp_path / "venv")
    code = (
        "import gymnasium as gym, sb3_grpo, sb3_grpo.envs\n"
        "from sb3_grpo.envs.bandit_baselines import make_baseline\n"
        "print(gym.make('DynamicBandit-v0').unwrapped.__class__.__module__, sb3_grpo.envs.__file__)\n"
    )
    module, path = run(python, "-c", code, cwd=ROOT).split()
    assert module == "sb3_grpo.envs.dynamic_bandit"
    assert Path(path) == ROOT / "envs" / "__init__.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$SB3_GRPO_WHEEL``, or a wheel built here with ``python -m build``."""
    if os.environ.get("SB3_GRPO_WHEEL"):
        return Path(os.environ["SB3_GRPO_WHEEL"]).resolve()
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT, cwd=ROOT)
    (path,) = out.glob("sb3_grpo-*.whl")
    return path


@pytest.fixture(scope="module")
def venv_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding the wheel (not editable) and PyPI's ``envs``; other dependencies borrowed."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    python = borrowing_venv(venv)
    # Into the venv's own site-packages, before the borrowed ones.
    run(python, "-m", "pip", "install", "--no-deps", "-q", wheel, PYPI_ENVS, cwd=venv.parent)
    return python


@pytest.mark.slow
def test_wheel_holds_one_top_level_package_and_the_zoo_config(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")} == {
        "sb3_grpo"
    }
    for path in (
        "sb3_grpo/envs/dynamic_bandit.py",
        "sb3_grpo/envs/bandit_baselines.py",
        "sb3_grpo/zoo_configs/grpo.yml",
    ):
        assert path in names


@pytest.mark.slow
def test_installed_beside_pypi_envs_both_work(venv_python: Path, tmp_path: Path) -> None:
    code = (
        "import os\n"
        "import gymnasium as gym\n"
        "import envs\n"
        "import sb3_grpo\n"
        "from envs import env\n"
        "os.environ['SB3_GRPO_TEST_ARMS'] = '3'\n"
        "n_arms = env('SB3_GRPO_TEST_ARMS', var_type='integer')\n"
        "bandit = gym.make('DynamicBandit-v0', n_arms=n_arms)\n"
        "obs, info = bandit.reset(seed=0)\n"
        "print(n_arms, len(info['arm_means']), envs.__name__, sb3_grpo.envs.__name__)\n"
        "print(os.path.dirname(sb3_grpo.__file__))\n"
    )
    first, where = run(venv_python, "-c", code, cwd=tmp_path).splitlines()
    assert first == "3 3 envs sb3_grpo.envs"
    assert (
        Path(where).resolve().parent
        == Path(
            run(
                venv_python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
            ).strip()
        ).resolve()
    )


@pytest.mark.slow
def test_installed_wheel_runs_the_main_job_and_the_zoo(venv_python: Path, tmp_path: Path) -> None:
    # The README's main job: the example is one file that needs only the installed package.
    shutil.copy(ROOT / "examples" / "dynamic_bandit.py", tmp_path)
    out = run(
        venv_python, "dynamic_bandit.py", "--decisions", "60", "--no-ppo", "--no-progress-bar", "--plot", "b.png",
        cwd=tmp_path,
    )  # fmt: skip
    assert "GRPO" in out and (tmp_path / "b.png").is_file()
    # The zoo with the shipped hyperparameters (no -conf), as the repository's zoo_configs/grpo.yml holds them.
    out = run(
        venv_python, "-m", "sb3_grpo.zoo", "train", "--algo", "grpo", "--env", "DynamicBandit-v0",
        "-n", "110", "--seed", "0", "--eval-freq", "-1", "-f", "logs", cwd=tmp_path,
    )  # fmt: skip
    assert "sb3_grpo/zoo_configs/grpo.yml" in out.replace("\\", "/")
    import yaml

    saved = tmp_path / "logs" / "grpo" / "DynamicBandit-v0_1" / "DynamicBandit-v0" / "config.yml"
    config = yaml.load(saved.read_text(), Loader=yaml.UnsafeLoader)
    shipped = yaml.safe_load((ROOT / "zoo_configs" / "grpo.yml").read_text())["DynamicBandit-v0"]
    assert config["group_size"] == shipped["group_size"] and config["branch_horizon"] == 0
