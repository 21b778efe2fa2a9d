"""A group's branches end once its members reach the same state (state mode, common random numbers).

Their continuations would then be identical and add the same return to every member's score, which
group-relative advantages cancel; envs whose next state does not depend on the action (SB3's identity
envs, contextual bandits) then cost G transitions per group instead of G(H+1).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.envs import IdentityEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_grpo import GRPO
from sb3_grpo.cloning import get_state
from sb3_grpo.grpo.branching import BranchPool, VecTransforms


class LastAction(gym.Env):
    """The state is (time, last action): members that took different first actions differ for one step,
    then coincide once the policy's common continuation has played the same action in all of them."""

    observation_space = spaces.Box(0.0, 1000.0, shape=(2,))
    action_space = spaces.Discrete(3)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t, self.last = 0, 0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        return np.array([self.t, self.last], dtype=np.float32)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = float(self.last == 1) + float(action == 2) + 0.1 * self.t
        self.t, self.last = self.t + 1, int(action)
        return self._obs(), reward, False, False, {}

    def get_state(self) -> tuple[int, int]:
        return self.t, self.last

    def set_state(self, state: tuple[int, int]) -> None:
        self.t, self.last = state


def _scores(stop_coinciding: bool) -> tuple[np.ndarray, int]:
    real = LastAction()
    real.reset(seed=0)
    pool = BranchPool([[LastAction() for _ in range(4)]], VecTransforms(DummyVecEnv([LastAction])))
    return pool.score_actions(
        [get_state(real)],
        np.array([0, 1, 2, 1]),
        lambda obs, groups: np.zeros(len(obs), dtype=np.int64),  # the same continuation action for all
        horizon=10,
        gamma=0.9,
        stop_coinciding=stop_coinciding,
    )


def test_coinciding_members_stop_and_keep_the_advantages() -> None:
    full, full_transitions = _scores(False)
    stopped, stopped_transitions = _scores(True)
    # by hand: first rewards 0 / 0 / 1 / 0, then 0.1 + (last == 1) at h=1; all coincide after h=1
    np.testing.assert_allclose(stopped[0], [0.09, 0.99, 1.09, 0.99])
    assert stopped_transitions == 4 * 2 and full_transitions == 4 * 11
    shift = full - stopped  # the identical continuation's return, the same for every member
    assert np.ptp(shift) < 1e-12 and shift[0, 0] > 0
    np.testing.assert_allclose(full - full.mean(), stopped - stopped.mean(), atol=1e-12)


@pytest.mark.parametrize(("branch_noise", "stops"), [("common", True), ("independent", False)])
def test_identity_env_groups_cost_one_step_per_member(branch_noise: str, stops: bool) -> None:
    # one rollout of the defaults (n_steps groups, one every k-th decision, G members, H=64) on an env whose
    # next observation ignores the action: n_steps * k agent steps + n_steps groups x G first steps
    venv = DummyVecEnv([lambda: IdentityEnv(4)])
    model = GRPO("MlpPolicy", venv, branch_noise=branch_noise, skip_identical_groups=False, seed=0)
    model.learn(1)
    decisions, first_steps = model.n_steps * model.branch_interval, model.n_steps * model.group_size
    assert (model.num_timesteps == decisions + first_steps) is stops
