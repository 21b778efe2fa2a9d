"""``branch_pacing``: groups spaced by the branches' budget ("budget") or every k-th decision ("interval")."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import IdentityEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_grpo import GRPO


class ClockEnv(gym.Env):
    """Observation = (steps since reset, last action); reward = action; never ends.

    Members that take different actions differ, so common-noise branches of a group run their H steps
    unless all members took the same first action.
    """

    observation_space = spaces.Box(0, np.inf, shape=(2,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self) -> None:
        self.t, self.last = 0, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t, self.last = 0, 0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        return np.array([self.t, self.last], dtype=np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t, self.last = self.t + 1, int(action)
        return self._obs(), float(action), False, False, {}

    def get_state(self) -> tuple[int, int]:
        return self.t, self.last

    def set_state(self, state: tuple[int, int]) -> None:
        self.t, self.last = state


def _model(**kwargs: Any) -> GRPO:
    return GRPO("MlpPolicy", make_vec_env(ClockEnv, n_envs=1), seed=0, **kwargs)


@pytest.mark.parametrize(
    ("costs", "plain_steps"),
    [
        # budget b = G (H + 1) = 2 x 65 = 130 per decision, in units of 1/k transition (k = 8)
        ([130, 130, 130], [0, 7, 7, 7]),  # full branches: debt 8*130 - 130 = 910 = 7 b: a group every 8th
        # 100: debt 800 - 130 = 670 -> 6 plain (paid 780, -110 left); -110 + 800 - 130 = 560 -> 5 plain
        # (paid 650, -90 left); -90 + 670 = 580 -> 5
        ([100, 100, 100], [0, 6, 5, 5]),
        ([2, 2, 0, 2], [0, 0, 0, 0, 0]),  # 8 x 2 - 130 < 0: a group at every decision, nothing saved
        # a cheap group saves nothing for later: 0 debt after it, then a full group costs its 7 again
        ([2, 130, 2, 130], [0, 0, 7, 0, 7]),
        ([131], [0, 8]),  # 1048 - 130 = 918 > 7 b: an 8th plain decision
    ],
)
def test_budget_pacing_arithmetic(costs: list[int], plain_steps: list[int]) -> None:
    model = _model(group_size=2, branch_horizon=64, branch_interval=8)
    seen = [model._plain_steps_before_group()]
    for cost in costs:
        model._spend_branch_budget(cost)
        seen.append(model._plain_steps_before_group())
    assert seen == plain_steps


def test_interval_pacing_ignores_the_cost() -> None:
    model = _model(group_size=2, branch_horizon=64, branch_interval=8, branch_pacing="interval")
    for cost in (0, 2, 130, 1000):
        model._spend_branch_budget(cost)
        assert model._plain_steps_before_group() == 7


@pytest.mark.parametrize("pacing", ["budget", "interval"])
def test_full_branches_are_k_decisions_apart_in_both_pacings(pacing: str) -> None:
    # every group runs its G (H + 1) transitions (skip_identical_groups off, members differ): a group at
    # every k-th decision whatever the pacing; "budget" starts with a group, "interval" with k - 1 plain steps
    n_envs, group_size, horizon, interval, n_steps = 2, 2, 3, 4, 5
    model = GRPO(
        "MlpPolicy",
        make_vec_env(ClockEnv, n_envs=n_envs),
        n_steps=n_steps,
        batch_size=10,
        group_size=group_size,
        branch_horizon=horizon,
        branch_interval=interval,
        branch_pacing=pacing,
        skip_identical_groups=False,
        branch_noise="independent",
        seed=0,
    )
    model.learn(1)  # one rollout
    starts = np.unique(
        next(model.rollout_buffer.get(n_envs * n_steps * group_size)).observations[:, 0].numpy()
    )
    first = 0 if pacing == "budget" else interval - 1
    np.testing.assert_array_equal(starts, first + interval * np.arange(n_steps))
    assert model._n_decisions == n_envs * (first + 1 + interval * (n_steps - 1))
    assert model.num_timesteps == model._n_decisions + n_envs * n_steps * group_size * (horizon + 1)


@pytest.mark.parametrize(("pacing", "decisions"), [("budget", 8), ("interval", 64)])
def test_cheap_groups_come_at_every_decision_under_budget_pacing(pacing: str, decisions: int) -> None:
    # IdentityEnv: the members' next states coincide, so a group ends after its G first steps (2 transitions,
    # far under the budget of G (H + 1) / k = 130 / 8 per decision): with "budget" each of the n_steps = 8
    # groups is at its own decision (8 decisions of 1 + 2 transitions), with "interval" at every 8th
    model = GRPO("MlpPolicy", DummyVecEnv([lambda: IdentityEnv(4)]), branch_pacing=pacing, seed=0)
    model.skip_identical_groups = False  # every group costs exactly G
    model.learn(1)
    assert model._n_decisions == decisions
    assert model.num_timesteps == decisions + model.n_steps * model.group_size


def test_bad_branch_pacing() -> None:
    with pytest.raises(ValueError, match="branch_pacing"):
        GRPO("MlpPolicy", "CartPole-v1", branch_pacing="adaptive")  # type: ignore[arg-type]
