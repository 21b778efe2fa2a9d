"""Smoke tests of the benchmark machinery (``benchmarks/run.py``, ``benchmarks/throughput.py``): tiny budgets."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import _report, _runners, group_falls, mujoco_sweep, run, stay_solved, throughput
from benchmarks._common import iqm, iqm_ci, parse_zoo_entry
from sb3_grpo import GRPO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_iqm_and_ci() -> None:
    assert iqm(np.array([1.0, 2.0, 3.0, 100.0])) == pytest.approx(2.5)
    assert iqm(np.array([4.0, 6.0])) == pytest.approx(5.0)
    low, high = iqm_ci(np.array([1.0, 2.0, 3.0, 100.0]), reps=300)
    assert low <= 2.5 <= high
    assert iqm_ci(np.array([7.0])) == (7.0, 7.0)


def test_parse_zoo_entry() -> None:
    params = parse_zoo_entry(
        {
            "n_envs": 4,
            "n_timesteps": 1e5,
            "policy": "MlpPolicy",
            "normalize": True,
            "gamma": 0.9,
            "learning_rate": "lin_0.001",
            "policy_kwargs": "dict(log_std_init=-2, activation_fn=nn.ReLU)",
            "env_wrapper": "some.Wrapper",
        },
        "test",
    )
    assert params.n_envs == 4 and params.policy == "MlpPolicy"
    assert params.normalize == {"gamma": 0.9}
    assert set(params.kwargs) == {"gamma", "learning_rate", "policy_kwargs"}
    assert params.kwargs["learning_rate"](1.0) == pytest.approx(1e-3)
    assert params.kwargs["learning_rate"](0.5) == pytest.approx(5e-4)
    assert params.kwargs["policy_kwargs"] == {"log_std_init": -2, "activation_fn": torch.nn.ReLU}


def test_run_writes_report(tmp_path: Path) -> None:
    budget = 300
    paths = run.run_benchmark(
        ["CartPole-v1", "DynamicBandit-v0"],
        ["grpo", "ppo"],
        [0],
        quick=True,
        out_dir=tmp_path,
        name="smoke",
        budget=budget,
        n_eval_episodes=1,
        verbose=False,
    )
    md = (tmp_path / "smoke.md").read_text()
    for row in (
        "| CartPole-v1 | grpo |",
        "| CartPole-v1 | ppo |",
        "| DynamicBandit-v0 | grpo |",
        "| DynamicBandit-v0 | sw_ucb |",
    ):
        assert row in md
    assert "| CartPole-v1 | a2c |" not in md

    raw = json.loads((tmp_path / "smoke.json").read_text())
    control = {r["algo"]: r for r in raw["control"]}
    assert set(control) == {"grpo", "ppo"}
    for r in control.values():
        # Equal budgets in env transitions (branches included), overshooting by at most one rollout.
        assert budget <= r["transitions"] < budget + 2000
        assert r["timesteps"][0] == 0 and r["timesteps"][-1] == r["transitions"]
        assert len(r["returns"]) == len(r["timesteps"]) >= 2
    bandit = {r["agent"]: r for r in raw["bandit"] if r["seed"] == 0}
    assert bandit["grpo"]["decisions"] == budget
    assert bandit["grpo"]["interactions_per_decision"] == 21  # 1 real pull + a group of 20 pulls
    # Every pull counts, the G branch pulls included: each is a sample of the same policy as the agent's
    # own pull, so their mean regret is of the order of the per-decision regret, not 1/11 of it.
    grpo = bandit["grpo"]
    assert grpo["regret_per_decision"] / 3 < grpo["regret_per_pull"] < grpo["regret_per_decision"] * 3
    assert bandit["uniform"]["regret_per_pull"] == bandit["uniform"]["regret_per_decision"]
    assert bandit["uniform"]["regret_per_decision"] > bandit["sw_ucb"]["regret_per_decision"]

    # The plots carry the report's name, so that a named run never overwrites the full run's plots.
    for name in ("smoke_curve_CartPole-v1.png", "smoke_regret_DynamicBandit-v0.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) < 300_000
    assert paths["md"] == tmp_path / "smoke.md"


def test_grpo_episode_variant_is_skipped_when_grpo_already_runs_episodes() -> None:
    params = _runners.algo_hyperparams("grpo_episode", "CartPole-v1")
    assert params is not None and params.kwargs["group_mode"] == "episode"
    assert "branch_horizon" not in params.kwargs
    grpo = _runners.algo_hyperparams("grpo", "Acrobot-v1")
    if grpo is not None and grpo.kwargs.get("group_mode") == "episode":
        assert _runners.algo_hyperparams("grpo_episode", "Acrobot-v1") is None


def test_mujoco_sweep_settings_override_an_entry() -> None:
    # another env's entry, an override, and a key deleted with null (None)
    params = mujoco_sweep.hyperparams(
        "grpo", "Ant-v5", "HalfCheetah-v5", {"gamma": 0.997, "target_kl": None, "learning_rate": "lin_0.001"}
    )
    assert params.kwargs["gamma"] == 0.997 and "target_kl" not in params.kwargs
    assert params.kwargs["branch_horizon"] == 64  # HalfCheetah's entry
    assert callable(params.kwargs["learning_rate"]) and params.kwargs["learning_rate"](1.0) == 0.001
    assert params.normalize == {"norm_obs": True, "norm_reward": False, "gamma": 0.997}
    with pytest.raises(ValueError, match="no entry 'Nope-v0'"):
        mujoco_sweep.hyperparams("grpo", "Ant-v5", "Nope-v0", {})
    with pytest.raises(ValueError, match="zoo PPO is run as the zoo tunes it"):
        mujoco_sweep.hyperparams("ppo", "Ant-v5", None, {"gamma": 0.9})


def test_mujoco_sweep_row_gait_and_summary(tmp_path: Path) -> None:
    pytest.importorskip("mujoco")
    params = mujoco_sweep.hyperparams("grpo", "Hopper-v5", None, {"n_steps": 1, "group_size": 2})
    row = mujoco_sweep.run_seed("Hopper-v5", 0, "smoke", params, budget=1500, n_evals=2, save=tmp_path / "m")
    assert (tmp_path / "m.zip").is_file() and (tmp_path / "m.pkl").is_file()  # the entry normalizes
    assert row["curve"][0][0] == 0 and row["curve"][-1][0] >= 1500
    assert row["best"] >= max(r for _, r in row["curve"]) and row["best"] >= row["final"]
    # three episodes of an untrained Hopper: short (it falls) and each with a finite mean velocity
    assert len(row["gait"]) == 3 and all(0 < n < 1000 and np.isfinite(v) for n, v in row["gait"])
    table = mujoco_sweep.summary([row, {**row, "seed": 1, "final": row["final"] + 2.0}])
    assert f"| median of 2 | | {row['final'] + 1.0:.0f} |" in table


def test_group_falls_of_an_untrained_hopper() -> None:
    pytest.importorskip("mujoco")
    import gymnasium as gym

    from sb3_grpo.cloning.chain import get_state, make_branch_copy

    env = gym.make("Hopper-v5", disable_env_checker=True)
    model = GRPO("MlpPolicy", env, seed=0)
    env.reset(seed=0)
    for _ in range(5):
        env.step(env.action_space.sample())
    copies = [make_branch_copy(env) for _ in range(3)]
    # an untrained Hopper falls within a few dozen steps, from the agent's state, each member on its own
    falls = group_falls.member_falls(model, None, copies, get_state(env), horizon=400)
    assert len(falls) == 3 and all(f is not None and 1 <= f < 400 for f in falls)
    assert group_falls.member_falls(model, None, copies[:1], get_state(env), horizon=1) == [None]


def test_throughput_smoke(tmp_path: Path) -> None:
    out, raw = tmp_path / "throughput.md", tmp_path / "throughput.json"
    rows = throughput.main(
        ["--timesteps", "400", "--envs", "CartPole-v1", "--out", str(out), "--json", str(raw)]
    )
    (row,) = rows
    saved = json.loads(raw.read_text())
    assert saved["rows"][0]["grpo_rate"] == row["grpo_rate"] and saved["arguments"]["timesteps"] == 400
    assert saved["machine"]["cpu_count"] == os.cpu_count()
    assert row["grpo_rate"] > 0 and row["ppo_rate"] > 0 and row["raw_rate"] > 0
    assert row["ratio"] == pytest.approx(row["grpo_rate"] / row["ppo_rate"])
    # The wrappers really timed GRPO's cloning and bookkeeping, and its env steps.
    for name in ("get_states", "set_state (branch copies)", "buffer adds", "group advantages"):
        assert row["overhead_seconds"][name] > 0
    assert row["measured_steps_seconds"] > 0
    assert "| CartPole-v1 |" in out.read_text()
    # The originals are back in place after the instrumented run.
    assert not hasattr(throughput.VecEnvCloner.get_states, "__wrapped__")
    assert throughput.branching.set_state.__name__ == "set_state"


def test_throughput_runs_atari_ids_through_sb3s_atari_pipeline() -> None:
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")  # AtariWrapper resizes frames with OpenCV
    from stable_baselines3.common.torch_layers import NatureCNN

    for algo in ("grpo", "ppo"):
        model = throughput.make_model(algo, "PongNoFrameskip-v4", seed=0, device="cpu")
        assert model.observation_space.shape == (4, 84, 84)  # 4 stacked 84x84 grey frames, channels first
        assert isinstance(model.policy.features_extractor, NatureCNN)  # CnnPolicy for both
    assert not throughput.is_atari("CartPole-v1")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message printed without CUDA")
def test_throughput_skips_cuda_when_absent(capsys: pytest.CaptureFixture[str]) -> None:
    assert throughput.main(["--device", "cuda", "--timesteps", "10"]) == []
    assert "CUDA is not available" in capsys.readouterr().out


def _control_run(seed: int, solved_at: int | None, final: float) -> _runners.RunResult:
    return _runners.RunResult(
        "CartPole-v1",
        "grpo",
        seed,
        [0, 10, 20],
        [9.0, 480.0 if solved_at else 100.0, final],
        20,
        1.0,
        solved_at,
    )


def test_merge_reports(tmp_path: Path) -> None:
    settings = {"command": "", "mode": "full", "machine": "test", "seeds": [], "seconds": 2.0}
    thresholds = run.THRESHOLDS
    _report.write_report("a", [_control_run(0, 10, 500.0)], [], tmp_path, settings, [], thresholds)
    _report.write_report(
        "b",
        [_control_run(1, None, 300.0), _control_run(2, 10, 400.0)],
        [],
        tmp_path,
        settings,
        [],
        thresholds,
    )
    paths = _report.merge_reports([tmp_path / "a.json", tmp_path / "b.json"], tmp_path, "ab", thresholds)
    raw = json.loads(paths["json"].read_text())
    assert [r["seed"] for r in raw["control"]] == [0, 1, 2]
    assert raw["settings"]["seconds"] == pytest.approx(4.0)
    md = paths["md"].read_text()
    assert "| CartPole-v1 | grpo | 400.0 +- 81.6 |" in md  # mean +- std of 500, 300, 400
    assert "(2/3)" in md  # two of the three seeds reached the threshold
    # the same seed twice is refused, not counted twice
    with pytest.raises(ValueError, match="more than one report"):
        _report.merge_reports([tmp_path / "a.json", tmp_path / "a.json"], tmp_path, "aa", thresholds)


def test_stay_solved_row_and_summary() -> None:
    row = stay_solved.run_seed(
        "CartPole-v1",
        0,
        "smoke",
        {"clip_range": "lin_0.2"},
        budget=600,
        eval_every=300,
        n_eval_episodes=1,
        n_final_episodes=2,
        n_long_episodes=3,
        n_envs=2,
    )
    assert row["n_envs"] == 2 and row["overrides"] == {"clip_range": "lin_0.2"}
    # evaluations every 300 transitions of the two sub-envs together (eval_freq 150 per sub-env), not every 600
    assert [at for at, _ in row["curve"]] == sorted(at for at, _ in row["curve"]) and len(row["curve"]) >= 2
    evaluated_at = [at for at, _ in row["curve"]]
    assert all(later - earlier < 600 for earlier, later in itertools.pairwise(evaluated_at))
    assert 0 < row["final"] <= 500 and 0 < row["long_mean"] <= 500
    assert 0.0 <= row["long_at_limit"] <= 1.0
    # every one of the 3 episodes that did not reach the time limit has a cause
    assert sum(row["failure_causes"].values()) <= 3
    assert set(row["failure_causes"]) <= {"cart off the track", "pole down"}
    rows = [{**row, "final": 100.0}, {**row, "seed": 1, "final": 500.0}]
    table = stay_solved.summary(rows, per_seed=True)
    assert "| smoke | 2 | 1 [0] |" in table  # seed 0's final is below CartPole's 475
    assert "seed 1 | | 500.0" in table


def test_stay_solved_refuses_n_envs_that_do_not_divide_the_evaluation_interval() -> None:
    with pytest.raises(ValueError, match="divide eval_every"):
        stay_solved.run_seed("CartPole-v1", 0, "smoke", {}, budget=600, eval_every=300, n_envs=7)


def test_stay_solved_causes_of_a_policy_that_always_pushes_left() -> None:
    class Left:
        def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[int, None]:
            return 0, None

    # pushing left from rest tips the pole over within ~10 steps, long before the cart leaves the track
    causes = stay_solved.failure_causes(Left(), "CartPole-v1", seed=0, n_episodes=4)  # type: ignore[arg-type]
    assert causes == {"pole down": 4}
