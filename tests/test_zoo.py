"""GRPO in the RL Baselines3 Zoo: ``python -m sb3_grpo.zoo`` train / enjoy / -optimize / plots.

The commands run in subprocesses, as a user types them (``docs/zoo.md`` copies them), with small
budgets; the trained log folders are shared by the tests of a module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rl_zoo3")
optuna = pytest.importorskip("optuna")

from sb3_grpo.zoo.__main__ import main  # noqa: E402
from sb3_grpo.zoo.sampler import convert_grpo_params, sample_grpo_params  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "zoo_configs" / "grpo.yml"


def zoo(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sb3_grpo.zoo ARGS`` in ``cwd`` (one torch thread: the CI has two shared cores)."""
    return subprocess.run(
        [sys.executable, "-m", "sb3_grpo.zoo", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
    )


def check(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a run that must succeed (its output in the failure message otherwise)."""
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def cartpole_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``logs/`` of a short CartPole-v1 run from the zoo config (an evaluation every 2000 transitions)."""
    cwd = tmp_path_factory.mktemp("cartpole")
    out = check(
        zoo(
            "train", "--algo", "grpo", "--env", "CartPole-v1", "-conf", str(CONFIG),
            "-n", "6000", "--seed", "0", "--eval-freq", "2000", "--eval-episodes", "2", "-f", "logs",
            cwd=cwd,
        )
    )  # fmt: skip
    assert "Saving to logs/grpo/CartPole-v1_1" in out
    return cwd / "logs"


@pytest.fixture(scope="module")
def bandit_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``logs/`` of a short DynamicBandit-v0 run (``--gym-packages sb3_grpo.envs`` registers the env)."""
    cwd = tmp_path_factory.mktemp("bandit")
    out = check(
        zoo(
            "train", "--algo", "grpo", "--env", "DynamicBandit-v0", "--gym-packages", "sb3_grpo.envs",
            "-conf", str(CONFIG), "-n", "21000", "--seed", "0", "--eval-freq", "-1", "-f", "logs",
            cwd=cwd,
        )
    )  # fmt: skip
    assert "Saving to logs/grpo/DynamicBandit-v0_1" in out
    return cwd / "logs"


def test_train_cartpole_saves_model_config_and_transition_paced_evaluations(cartpole_logs: Path) -> None:
    run = cartpole_logs / "grpo" / "CartPole-v1_1"
    assert (run / "CartPole-v1.zip").is_file()
    assert (run / "CartPole-v1" / "config.yml").is_file()
    assert (run / "0.monitor.csv").is_file()
    # --eval-freq counts env transitions (branch steps included), as num_timesteps does.
    timesteps = np.load(run / "evaluations.npz")["timesteps"]
    assert len(timesteps) == 3
    assert np.all(np.diff(timesteps) < 2000 + 200)
    assert timesteps[0] >= 2000 and timesteps[-1] >= 6000


def test_train_bandit_learns_above_chance(bandit_logs: Path) -> None:
    run = bandit_logs / "grpo" / "DynamicBandit-v0_1"
    assert (run / "DynamicBandit-v0.zip").is_file()
    import yaml

    # The zoo saves the entry it used (an OrderedDict, read back the way the zoo does).
    config = yaml.load((run / "DynamicBandit-v0" / "config.yml").read_text(), Loader=yaml.UnsafeLoader)
    assert config["group_size"] == 20 and config["branch_horizon"] == 0
    # 21000 transitions = 1000 decisions (a pull, plus a group of 20 pulls) = one episode. A uniformly
    # random agent collects ~500 (means drawn from [0, 1]), the best arm ~900; measured: ~820-850.
    monitor = np.genfromtxt(run / "0.monitor.csv", delimiter=",", skip_header=2, ndmin=2)
    assert monitor.shape[0] == 1 and monitor[0, 1] == 1000
    assert monitor[0, 0] > 650


def test_train_bandit_with_module_prefix(tmp_path: Path) -> None:
    out = check(
        zoo(
            "train", "--algo", "grpo", "--env", "sb3_grpo.envs:DynamicBandit-v0", "-conf", str(CONFIG),
            "-n", "110", "--seed", "1", "--eval-freq", "-1", "-f", "logs", cwd=tmp_path,
        )
    )  # fmt: skip
    assert "Saving to logs/grpo/DynamicBandit-v0_1" in out


@pytest.mark.parametrize(
    ("env_id", "fixture", "extra", "n_steps"),
    [
        ("CartPole-v1", "cartpole_logs", [], "600"),
        ("DynamicBandit-v0", "bandit_logs", ["--gym-packages", "sb3_grpo.envs"], "1000"),  # one whole episode
    ],
)
def test_enjoy_trained_model(
    env_id: str, fixture: str, extra: list[str], n_steps: str, request: pytest.FixtureRequest
) -> None:
    logs: Path = request.getfixturevalue(fixture)
    out = check(
        zoo("enjoy", "--algo", "grpo", "--env", env_id, *extra, "-f", "logs", "--no-render", "-n", n_steps,
            cwd=logs.parent)
    )  # fmt: skip
    assert f"Loading logs/grpo/{env_id}_1/{env_id}.zip" in out
    assert "Episode Reward" in out


def test_plot_train_on_grpo_logs(cartpole_logs: Path, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    figure = tmp_path / "train.png"
    args = [
        "plot_train",
        "-a",
        "grpo",
        "-e",
        "CartPole-v1",
        "-f",
        str(cartpole_logs),
        "-w",
        "2",
        "--save",
        str(figure),
    ]
    assert main(args) == 0
    lines = plt.gcf().axes[0].get_lines()
    assert len(lines) == 1 and len(lines[0].get_xdata()) >= 2
    assert figure.stat().st_size > 10_000
    plt.close("all")


def test_bad_config_entry_fails_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "CartPole-v1:\n  n_timesteps: 1000\n  policy: 'MlpPolicy'\n  group_sise: 4\n"
        "Pendulum-v1:\n  n_timesteps: 1000\n  policy: 'MlpPolicy'\n  group_mode: 'trajectory'\n"
    )
    result = zoo(
        "train", "--algo", "grpo", "--env", "CartPole-v1", "-conf", str(bad), "-f", "logs", cwd=tmp_path
    )
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()[-1]
    assert "unknown hyperparameter 'group_sise'" in message and "did you mean 'group_size'" in message
    assert "Traceback" not in result.stderr
    # A value GRPO's constructor rejects (checked in-process: the same code path, no interpreter start).
    args = [
        "train",
        "--algo",
        "grpo",
        "--env",
        "Pendulum-v1",
        "-conf",
        str(bad),
        "-f",
        str(tmp_path / "logs"),
    ]
    assert main(args) == 2
    # A -params override is checked too.
    assert main([*args, "-params", "group_mode:'state'", "learning_rate:'fast'"]) == 2


def test_bad_value_message_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "CartPole-v1:\n  n_timesteps: 1000\n  policy: 'MlpPolicy'\n  group_size: 1\n  kl_coef: 'x'\n"
    )
    args = [
        "train",
        "--algo",
        "grpo",
        "--env",
        "CartPole-v1",
        "-conf",
        str(bad),
        "-f",
        str(tmp_path / "logs"),
    ]
    assert main(args) == 2
    assert "bad value kl_coef='x'" in capsys.readouterr().err
    assert main([*args, "-params", "kl_coef:0.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "hyperparameter 'group_size'" in err and "group_size must be an integer >= 2" in err


def run_workers(command: list[str], cwd: Path, timeout: float, seeds: tuple[int, ...] = (1, 2)) -> list[int]:
    """Run ``command SEED -f logs_SEED`` for each seed at once (tuning workers); they must succeed.

    :return: the workers' process ids
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    workers = [
        subprocess.Popen(
            [*command, str(seed), "-f", f"logs_{seed}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        for seed in seeds
    ]  # fmt: skip
    outputs = [worker.communicate(timeout=timeout)[0] for worker in workers]
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output[-3000:]
    return [worker.pid for worker in workers]


def test_two_workers_share_one_study(tmp_path: Path) -> None:
    """Distributed tuning: two processes, one optuna journal storage, one trial each."""
    storage = tmp_path / "grpo_cartpole.log"
    command = [
        sys.executable, "-m", "sb3_grpo.zoo", "train", "--algo", "grpo", "--env", "CartPole-v1",
        "-conf", str(CONFIG), "-n", "2000", "-optimize", "--n-trials", "1", "--n-evaluations", "1",
        "--eval-episodes", "2", "--storage", str(storage), "--study-name", "grpo-cartpole",
        "--sampler", "random", "--pruner", "none", "--no-optim-plots", "--seed",
    ]  # fmt: skip
    run_workers(command, tmp_path, timeout=180)

    study = optuna.load_study(
        study_name="grpo-cartpole",
        storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(storage))),
    )
    trials = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 2
    for trial in trials:
        # Each trial was evaluated (an unevaluated trial scores -inf) on CartPole (rewards in [1, 500]).
        assert trial.value is not None and 1 <= trial.value <= 500
        hyperparams = convert_grpo_params(trial.params)
        assert hyperparams["batch_size"] <= hyperparams["n_steps"] * hyperparams["group_size"]


def test_sampler_batch_fits_rollout_and_converter_matches() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(50):
        trial = study.ask()
        hyperparams = sample_grpo_params(trial, n_actions=0, n_envs=3, additional_args={})
        rollout = hyperparams["n_steps"] * 3 * hyperparams["group_size"]
        assert 2 <= hyperparams["batch_size"] <= rollout and rollout % hyperparams["batch_size"] == 0
        assert hyperparams["group_size"] >= 2 and 0 < hyperparams["gamma"] < 1
        # --trial-id rebuilds the same hyperparameters from the stored params.
        assert convert_grpo_params(trial.params) == hyperparams
        study.tell(trial, 0.0)


def test_record_video_of_trained_model(cartpole_logs: Path, tmp_path: Path) -> None:
    # record_video needs moviepy and pygame (CartPole renders rgb_array frames with it): the zoo extra.
    out = check(
        zoo("record_video", "--algo", "grpo", "--env", "CartPole-v1", "-f", str(cartpole_logs), "-n", "50",
            "-o", str(tmp_path / "videos"), cwd=cartpole_logs.parent)
    )  # fmt: skip
    videos = list((tmp_path / "videos").rglob("*.mp4"))
    assert videos and videos[0].stat().st_size > 0, out[-2000:]
