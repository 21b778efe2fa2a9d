"""Tuning across machines for real: two zoo workers share one optuna study on a PostgreSQL server.

The server is a real PostgreSQL (the ``pgserver`` package ships its binaries; ``pip install -e
".[zoo,postgres]"``), started in a temporary folder; the workers are ``python -m sb3_grpo.zoo train ...
-optimize`` processes, as on two machines, that name the same ``--storage`` URL and ``--study-name``.
Started at once on the empty database, they also race to create optuna's tables (which failed one
worker before ``sb3_grpo.zoo.__main__.prepare_database``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("rl_zoo3")
optuna = pytest.importorskip("optuna")
pgserver = pytest.importorskip(
    "pgserver", reason="the PostgreSQL test needs the postgres extra: pip install -e '.[zoo,postgres]'"
)
pytest.importorskip(
    "psycopg", reason="the PostgreSQL test needs the postgres extra: pip install -e '.[zoo,postgres]'"
)

from tests.test_zoo import CONFIG, run_workers  # noqa: E402

TRIALS_PER_WORKER = 2


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A running PostgreSQL server with an empty ``optuna`` database; its SQLAlchemy URL (psycopg 3)."""
    # a short folder: the server's Unix socket lives there, and socket paths are limited to ~100 bytes
    data_dir = tempfile.mkdtemp(prefix="pg")
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE optuna;")
        url = server.get_uri("optuna")
        assert url.startswith("postgresql://"), url
        yield "postgresql+psycopg://" + url.removeprefix("postgresql://")
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.slow  # 40 s on 2 idle cores, over 2 minutes on busy ones
def test_two_workers_share_one_study_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "sb3_grpo.zoo", "train", "--algo", "grpo", "--env", "CartPole-v1",
        "-conf", str(CONFIG), "-n", "1000", "-optimize", "--n-trials", str(TRIALS_PER_WORKER),
        "--n-evaluations", "1", "--eval-episodes", "2", "--storage", postgres_url,
        "--study-name", "grpo-cartpole", "--sampler", "random", "--pruner", "none", "--no-optim-plots",
        "--n-jobs", "1", "--seed",
    ]  # fmt: skip
    pids = sorted(str(pid) for pid in run_workers(command, tmp_path, timeout=300))

    study = optuna.load_study(study_name="grpo-cartpole", storage=postgres_url)
    trials = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 2 * TRIALS_PER_WORKER, [trial.state for trial in study.trials]
    # Each trial records the machine and process that ran it: both workers added theirs to the one study.
    workers_of_trials = [trial.user_attrs["worker"].rsplit(":", 1)[1] for trial in trials]
    assert sorted(set(workers_of_trials)) == pids
    assert all(workers_of_trials.count(pid) == TRIALS_PER_WORKER for pid in pids)
    for trial in trials:
        # evaluated (an unevaluated trial scores -inf) on CartPole (returns in [1, 500])
        assert trial.value is not None and 1 <= trial.value <= 500
