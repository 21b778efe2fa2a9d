"""``branch_interval`` (groups at every k-th decision) and ``torch_threads`` (threads during learn)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env

from sb3_grpo import GRPO


class ClockEnv(gym.Env):
    """Observation = steps since reset; reward 1 for action 1, 0 for action 0; never ends."""

    observation_space = spaces.Box(0, np.inf, shape=(1,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self) -> None:
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.t], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([self.t], dtype=np.float32), float(action), False, False, {}

    def get_state(self) -> int:
        return self.t

    def set_state(self, state: int) -> None:
        self.t = state


@pytest.mark.parametrize("interval", [1, 3])
def test_branch_interval_accounting(interval: int) -> None:
    n_envs, group_size, horizon, n_steps = 2, 3, 2, 4
    model = GRPO(
        "MlpPolicy",
        make_vec_env(ClockEnv, n_envs=n_envs),
        n_steps=n_steps,
        batch_size=8,
        group_size=group_size,
        branch_horizon=horizon,
        branch_interval=interval,
        skip_identical_groups=False,
        branch_noise="independent",  # the clock's members coincide; common noise would end their branches
        seed=0,
    )
    model.learn(1)  # one rollout
    decisions = n_steps * n_envs * interval
    assert model._n_decisions == decisions
    # every decision steps the real env once; every interval-th one also runs G branches of H+1 steps
    assert model.num_timesteps == decisions + n_steps * n_envs * group_size * (1 + horizon)
    assert len(model.rollout_buffer.actions) == n_steps * n_envs * group_size


def test_groups_start_at_every_interval_th_decision() -> None:
    interval, n_steps, group_size = 4, 5, 2
    model = GRPO(
        "MlpPolicy",
        ClockEnv(),
        n_steps=n_steps,
        batch_size=10,
        group_size=group_size,
        branch_horizon=0,
        branch_interval=interval,
        seed=0,
    )
    model.learn(1)
    batch = next(model.rollout_buffer.get(n_steps * group_size))
    start_times = np.unique(batch.observations.cpu().numpy().ravel())
    # decisions 0..interval-2 are plain steps: the first group starts at t = interval - 1
    np.testing.assert_array_equal(start_times, interval - 1 + interval * np.arange(n_steps))
    # member scores are the one-step rewards of their actions (H=0): the advantages rank action 1 first
    actions = batch.actions.cpu().numpy().ravel()
    advantages = batch.advantages.cpu().numpy()
    assert np.all(advantages[actions == 1] >= 0) and np.all(advantages[actions == 0] <= 0)


def test_bad_branch_interval() -> None:
    with pytest.raises(ValueError, match="branch_interval"):
        GRPO("MlpPolicy", "CartPole-v1", branch_interval=0)


@pytest.mark.parametrize(
    "torch_threads, expected",
    [("auto", 1), (None, 2), (2, 2), (1, 1)],
)
def test_torch_threads_during_learn_and_restored(torch_threads: Any, expected: int) -> None:
    seen: list[int] = []
    previous = th.get_num_threads()
    th.set_num_threads(2)
    try:
        model = GRPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=16, torch_threads=torch_threads)
        model.learn(200, callback=lambda _locals, _globals: seen.append(th.get_num_threads()) or True)
        assert set(seen) == {expected}
        assert th.get_num_threads() == 2
    finally:
        th.set_num_threads(previous)


def test_torch_threads_auto_leaves_large_policies_alone() -> None:
    previous = th.get_num_threads()
    th.set_num_threads(2)
    try:
        model = GRPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[1024, 1024]))
        assert model._learn_threads() is None
    finally:
        th.set_num_threads(previous)


def test_bad_torch_threads() -> None:
    with pytest.raises(ValueError, match="torch_threads"):
        GRPO("MlpPolicy", "CartPole-v1", torch_threads=0)
