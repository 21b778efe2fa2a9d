"""Issue 13: what works for PPO works for GRPO, or stops at once with an error that names the fix."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.atari_wrappers import ClipRewardEnv
from stable_baselines3.common.env_util import make_vec_env

import sb3_grpo
from sb3_grpo import GRPO
from sb3_grpo.cloning import check_cloneable
from sb3_grpo.core import GRPOConfig

SMALL: dict[str, Any] = {"n_steps": 4, "batch_size": 16, "branch_horizon": 2}


class IdentityReward(gym.RewardWrapper):
    """A stateless wrapper, applied outside ``Monitor`` by ``make_vec_env(wrapper_class=...)``."""

    def reward(self, reward: float) -> float:
        return reward


class StepCounter(gym.Wrapper):
    """A wrapper with state of its own (saved by deep copy of its attributes)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.n_steps = 0

    def step(self, action):  # type: ignore[no-untyped-def]
        self.n_steps += 1
        return self.env.step(action)


@pytest.mark.parametrize("wrapper_class", [IdentityReward, ClipRewardEnv, StepCounter])
def test_stateless_wrapper_outside_monitor(wrapper_class: type) -> None:
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, wrapper_class=wrapper_class)
    report = check_cloneable(venv.envs[0])
    assert report.ok, str(report)
    model = GRPO("MlpPolicy", venv, n_steps=4, batch_size=16, group_size=2, branch_horizon=2, seed=0)
    model.learn(200)
    assert model.num_timesteps >= 200


# --- bug 6: load with another kl_coef -----------------------------------------------------------------


@pytest.mark.parametrize(("saved", "loaded"), [(0.0, 0.1), (0.1, 0.0), (0.1, 0.2)])
def test_load_with_another_kl_coef(saved: float, loaded: float, tmp_path: Path) -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", kl_coef=saved, seed=0, **SMALL)
    model.learn(100)
    model.save(tmp_path / "model.zip")
    reloaded = GRPO.load(tmp_path / "model.zip", env=model.env, kl_coef=loaded)
    assert (reloaded.reference_policy is None) == (loaded == 0)
    if reloaded.reference_policy is not None:
        # 0 -> >0: the reference is the loaded policy; >0 -> >0: the saved reference
        expected = model.reference_policy if model.reference_policy is not None else model.policy
        for got, want in zip(
            reloaded.reference_policy.state_dict().values(), expected.state_dict().values(), strict=True
        ):
            assert th.equal(got.cpu(), want.cpu())
    reloaded.learn(100)


# --- bug 7: hyperparameter types and values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gamma": float("nan")}, "gamma must be a finite number"),
        ({"clip_range": float("inf")}, "clip_range must be a finite number > 0 or a schedule"),
        ({"kl_coef": float("nan")}, "kl_coef must be a finite number"),
        ({"ent_coef": float("-inf")}, "ent_coef must be a finite number"),
        ({"max_grad_norm": float("nan")}, "max_grad_norm must be a finite number"),
        ({"target_kl": float("nan")}, "target_kl must be a finite number > 0 or None"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0 or a schedule"),
        ({"gamma": "0.99"}, r"gamma must be a finite number in \[0, 1\], got '0.99' \(a string"),
        ({"ent_coef": True}, "ent_coef must be a finite number"),
        ({"skip_identical_groups": "False"}, "skip_identical_groups must be True or False, got 'False'"),
        ({"normalize_advantage": 1}, "normalize_advantage must be True or False"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GRPO("MlpPolicy", "CartPole-v1", **kwargs)


def test_numpy_hyperparameters_are_accepted() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", gamma=np.float32(0.9), skip_identical_groups=np.bool_(True))
    assert model.gamma == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kl_coef": float("inf")}, "kl_coef must be a finite number >= 0"),
        ({"clip_range": float("nan")}, "clip_range must be a finite number > 0"),
        ({"learning_rate": "3e-4"}, r"learning_rate must be a finite number > 0, got '3e-4' \(a string"),
        ({"max_grad_norm": float("inf")}, "max_grad_norm must be a finite number > 0 or None"),
        ({"ent_coef": float("inf")}, "ent_coef must be a finite number"),
    ],
)
def test_config_refuses_non_finite_values(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GRPOConfig(**kwargs)


def test_non_finite_weights_stop_with_the_cause() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", seed=0, **SMALL)
    with th.no_grad():
        next(model.policy.parameters()).fill_(float("inf"))
    with pytest.raises(ValueError, match=r"non-finite weight \(mlp_extractor"):
        model._check_finite_weights()


def test_non_finite_update_stops_with_the_cause() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", seed=0, **SMALL)
    model.ent_coef = float("nan")  # set after validation, as GRPO.load(path, ent_coef=...) would
    with pytest.raises(ValueError, match=r"non-finite loss.*learning rate too high"):
        model.learn(2000)


# --- bug 8: PPO's policy_kwargs --------------------------------------------------------------------------


def test_share_features_extractor_false_is_accepted() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", policy_kwargs={"share_features_extractor": False}, **SMALL)
    model.learn(100)


def test_old_net_arch_format() -> None:
    with pytest.warns(UserWarning, match="no value function"):
        model = GRPO(
            "MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [{"pi": [32], "vf": [16]}]}, **SMALL
        )
    assert [
        layer.out_features
        for layer in model.policy.mlp_extractor.policy_net
        if hasattr(layer, "out_features")
    ] == [32]
    with pytest.raises(ValueError, match="list of ints"):
        GRPO("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [64, {"pi": [32]}]})


class TupleObsEnv(gym.Env):
    observation_space = spaces.Tuple((spaces.Discrete(3), spaces.Box(-1, 1, (2,))))
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        return (0, np.zeros(2, dtype=np.float32)), {}

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict]:
        return (0, np.zeros(2, dtype=np.float32)), 0.0, False, False, {}


def test_tuple_observations_error_like_ppo() -> None:
    with pytest.raises(NotImplementedError, match="observation space is not supported: use a Dict"):
        GRPO("MlpPolicy", TupleObsEnv())


# --- bug 10: closing the env closes the branch copies ----------------------------------------------------


class CloseCounter(gym.Wrapper):
    closed = 0

    def close(self) -> None:
        CloseCounter.closed += 1
        super().close()


def test_env_close_closes_branch_copies() -> None:
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, wrapper_class=CloseCounter)
    model = GRPO("MlpPolicy", venv, group_size=2, **SMALL)
    model.learn(100)
    CloseCounter.closed = 0
    model.env.close()
    assert CloseCounter.closed == 2 + 2 * 2  # the real sub-envs and every branch copy


# --- bug 5: callbacks paced by transitions ----------------------------------------------------------------


def test_transition_paced_callbacks_fire(tmp_path: Path) -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", seed=0, **SMALL)
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=1)
    evaluate = sb3_grpo.EvalCallback(
        eval_env, eval_freq=100, n_eval_episodes=1, log_path=str(tmp_path), verbose=0
    )
    checkpoint = sb3_grpo.CheckpointCallback(save_freq=100, save_path=str(tmp_path / "checkpoints"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ours do not warn
        # (2-step branches on CartPole rarely differ: the no-signal warning is true here, and not the point)
        warnings.filterwarnings("ignore", message="In .* no GRPO group has had members")
        model.learn(1500, callback=[evaluate, checkpoint])
    # one evaluation and one checkpoint per 100 transitions crossed (a callback call is a decision of
    # 1 + 4 x 3 = 13 transitions at most, so each firing is at most 12 transitions late)
    n_expected = model.num_timesteps // 100
    assert n_expected - 1 <= len(evaluate.evaluations_timesteps) <= n_expected
    assert len(list((tmp_path / "checkpoints").glob("*.zip"))) == len(evaluate.evaluations_timesteps)
    gaps = np.diff([0, *evaluate.evaluations_timesteps])
    assert gaps.min() >= 100 - 13 and gaps.max() <= 100 + 13


def test_ppo_is_paced_as_by_sb3(tmp_path: Path) -> None:
    # for PPO (n_envs transitions per call) the transition-paced callback fires at SB3's steps
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback as SB3EvalCallback

    timesteps = []
    for callback_class in (sb3_grpo.EvalCallback, SB3EvalCallback):
        model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=32, batch_size=32)
        callback = callback_class(
            make_vec_env("CartPole-v1", n_envs=1),
            eval_freq=50,
            n_eval_episodes=1,
            log_path=str(tmp_path / callback_class.__module__),
            verbose=0,
        )
        model.learn(400, callback=callback)
        timesteps.append(callback.evaluations_timesteps)
    assert timesteps[0] == timesteps[1] and len(timesteps[0]) == 4


@pytest.mark.parametrize("group_mode", ["state", "episode"])
def test_step_paced_sb3_callback_warns_once(group_mode: str, tmp_path: Path) -> None:
    from stable_baselines3.common.callbacks import CheckpointCallback as SB3CheckpointCallback

    # groups at every decision: a call is worth 1 + G(H+1) transitions
    model = GRPO("MlpPolicy", "CartPole-v1", group_mode=group_mode, branch_interval=1, seed=0, **SMALL)
    callback = SB3CheckpointCallback(save_freq=10, save_path=str(tmp_path))
    with pytest.warns(
        UserWarning, match=r"CheckpointCallback\(save_freq=10\) counts callback calls.*sb3_grpo"
    ):
        model.learn(64, callback=callback)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.learn(64, callback=callback, reset_num_timesteps=False)


# --- bug 9: episode mode writes the agent's episodes to the Monitor files ---------------------------------


@pytest.mark.parametrize("vec_monitor", [False, True])
def test_episode_mode_fills_the_monitor_files(vec_monitor: bool, tmp_path: Path) -> None:
    from stable_baselines3.common.monitor import load_results
    from stable_baselines3.common.vec_env import VecMonitor

    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, monitor_dir=None if vec_monitor else str(tmp_path))
    if vec_monitor:
        venv = VecMonitor(venv, filename=str(tmp_path / "vec"))
    model = GRPO("MlpPolicy", venv, group_mode="episode", group_size=3, n_steps=2, batch_size=16, seed=0)
    model.learn(1000)
    results = load_results(str(tmp_path))
    episodes = list(model.ep_info_buffer)
    assert len(results) == len(episodes) > 0  # every group episode, once (fewer than the buffer's 100)
    assert sorted(results["r"]) == pytest.approx(sorted(episode["r"] for episode in episodes))
    assert results["l"].sum() == model.num_timesteps
    if not vec_monitor:
        assert sum(len(monitor.get_episode_rewards()) for monitor in venv.envs) == len(episodes)


# --- bug 2: SubprocVecEnv as SB3 users build it -----------------------------------------------------------


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_subproc_vec_env_without_wrapper_trains(env_id: str) -> None:
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = make_vec_env(env_id, n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        model = GRPO("MlpPolicy", venv, **SMALL)
        model.learn(300)  # the runtime clone check compares every group's member 0 with the real step
        assert model._n_decisions > 0
    finally:
        venv.close()
