"""``branch_samples="all"``: every step of a state group's branches is learned from (process supervision)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_grpo import GRPO
from sb3_grpo.cloning import get_state
from sb3_grpo.core.advantages import group_advantages
from sb3_grpo.grpo.branching import BranchPool, VecTransforms
from sb3_grpo.grpo.buffers import GroupRolloutBuffer


class WallEnv(gym.Env):
    """Walk on a line: action 0 stays, 1 moves right; reward = position after the step; ends at ``wall``."""

    observation_space = spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, wall: int = 1000) -> None:
        self.position = 0
        self.wall = wall

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = 0
        return np.array([self.position], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position += int(action)
        obs = np.array([self.position], dtype=np.float32)
        return obs, float(self.position), self.position >= self.wall, False, {}

    def get_state(self) -> int:
        return self.position

    def set_state(self, state: int) -> None:
        self.position = state


def _always_right(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(obs)
    return np.ones(n, dtype=np.int64), np.ones(n, dtype=np.int64), np.full(n, -0.1, dtype=np.float32)


def _record(wall: int, first_actions: list[int], horizon: int, start: int = 2) -> tuple[Any, int]:
    pool = BranchPool([[WallEnv(wall) for _ in first_actions]], VecTransforms(DummyVecEnv([WallEnv])))
    source = WallEnv(wall)
    source.position = start
    actions = np.array(first_actions)
    group_obs = np.full((len(actions), 1), start, dtype=np.float32)
    first = (actions, group_obs, actions, np.full(len(actions), -0.7, dtype=np.float32))
    return pool.record_branches([get_state(source)], first, _always_right, horizon)


def test_recorded_branches_by_hand() -> None:
    # From position 2: member 0 stays (r = 2, 3, 4), members 1 and 2 move (r = 3, 4, 5).
    episodes, n_transitions = _record(wall=1000, first_actions=[0, 1, 1], horizon=2)
    assert n_transitions == 9
    np.testing.assert_array_equal(episodes.lengths, [3, 3, 3])
    np.testing.assert_allclose(np.stack(episodes.rewards), [[2, 3, 3], [3, 4, 4], [4, 5, 5]])
    np.testing.assert_allclose(episodes.raw_returns, [9, 12, 12])
    np.testing.assert_array_equal(episodes.obs[0], [[2], [2], [2]])  # the group's observation
    np.testing.assert_array_equal(episodes.obs[1], [[2], [3], [3]])  # after the first actions
    np.testing.assert_array_equal(episodes.actions[0], [0, 1, 1])
    np.testing.assert_allclose(episodes.log_probs[0], [-0.7] * 3)
    np.testing.assert_allclose(episodes.log_probs[1], [-0.1] * 3)


def test_branch_advantages_are_process_supervision_by_hand() -> None:
    gamma = 0.5
    episodes, _ = _record(wall=1000, first_actions=[0, 1, 1], horizon=2)
    buffer = GroupRolloutBuffer(WallEnv.observation_space, WallEnv.action_space, group_size=3)
    buffer.add_episode_groups(episodes, "process", gamma)
    buffer.compute_advantages("group_std", "mean")
    # returns-to-go R_h = r_h + gamma R_{h+1}; step 0 is the score of state mode's first actions
    returns_to_go = {
        0: [2 + gamma * 3 + gamma**2 * 4, 3 + gamma * 4 + gamma**2 * 5, 3 + gamma * 4 + gamma**2 * 5],
        1: [3 + gamma * 4, 4 + gamma * 5, 4 + gamma * 5],
        2: [4, 5, 5],
    }
    assert buffer.advantages is not None
    for h, scores in returns_to_go.items():
        expected = group_advantages(th.tensor([scores], dtype=th.float64)).numpy()[0]
        np.testing.assert_allclose(buffer.advantages[3 * h : 3 * h + 3], expected, rtol=1e-6)


def test_members_that_end_leave_the_group() -> None:
    # Wall at 4 from position 2: moving members end at their second step (position 4), member 0 goes on.
    gamma = 1.0
    episodes, n_transitions = _record(wall=4, first_actions=[0, 1, 1], horizon=3)
    np.testing.assert_array_equal(episodes.lengths, [3, 2, 2])
    assert n_transitions == 7
    np.testing.assert_array_equal(episodes.copy_index[1], [0, 1, 2])
    np.testing.assert_array_equal(episodes.copy_index[2], [0])
    buffer = GroupRolloutBuffer(WallEnv.observation_space, WallEnv.action_space, group_size=3)
    buffer.add_episode_groups(episodes, "process", gamma)
    buffer.compute_advantages("group_std", "mean")
    assert buffer.advantages is not None
    assert len(buffer.advantages) == 7
    # step 0: returns-to-go 2+3+4 = 9 against 3+4 = 7 (twice); step 1: 3+4 = 7 against 4, 4
    expected_0 = group_advantages(th.tensor([[9.0, 7.0, 7.0]])).numpy()[0]
    expected_1 = group_advantages(th.tensor([[7.0, 4.0, 4.0]])).numpy()[0]
    np.testing.assert_allclose(buffer.advantages[:3], expected_0, rtol=1e-6)
    np.testing.assert_allclose(buffer.advantages[3:6], expected_1, rtol=1e-6)
    assert buffer.advantages[6] == 0.0  # alone at step 2: no group to compare with


def test_groups_not_run_give_zero_advantage_and_no_transition() -> None:
    pool = BranchPool(
        [[WallEnv() for _ in range(2)] for _ in range(2)], VecTransforms(DummyVecEnv([WallEnv] * 2))
    )
    source = WallEnv()
    actions = np.array([1, 1, 0, 1])
    first = (actions, np.zeros((4, 1), dtype=np.float32), actions, np.zeros(4, dtype=np.float32))
    episodes, n_transitions = pool.record_branches(
        [get_state(source)] * 2, first, _always_right, horizon=2, active=np.array([False, True])
    )
    assert n_transitions == 6  # only sub-env 1's two members, 3 steps each
    np.testing.assert_array_equal(episodes.lengths, [1, 1, 3, 3])
    buffer = GroupRolloutBuffer(WallEnv.observation_space, WallEnv.action_space, group_size=2)
    buffer.add_episode_groups(episodes, "process", 0.9)
    buffer.compute_advantages("group_std", "mean")
    assert buffer.advantages is not None
    assert len(buffer.advantages) == 8
    # sub-env 0's two first actions (samples 0 and 1) are recorded with advantage 0
    np.testing.assert_array_equal(buffer.advantages[:2], [0.0, 0.0])
    assert np.abs(buffer.advantages[2:4]).min() > 0


def test_all_needs_independent_continuations(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="branch_noise='independent'"):
        GRPO("MlpPolicy", "CartPole-v1", branch_samples="all")
    with pytest.raises(ValueError, match="branch_samples"):
        GRPO("MlpPolicy", "CartPole-v1", branch_samples="every")  # type: ignore[arg-type]
    model = GRPO("MlpPolicy", "CartPole-v1", n_steps=2, batch_size=4)
    model.save(tmp_path / "model")
    with pytest.raises(ValueError, match="branch_noise='independent'"):
        GRPO.load(tmp_path / "model", branch_samples="all")
    loaded = GRPO.load(tmp_path / "model", branch_samples="all", branch_noise="independent")
    assert loaded.branch_samples == "all"
