"""Issue 13: what works for PPO works for GRPO, or stops at once with an error that names the fix."""

from __future__ import annotations

import gymnasium as gym
import pytest
from stable_baselines3.common.atari_wrappers import ClipRewardEnv
from stable_baselines3.common.env_util import make_vec_env

from sb3_grpo import GRPO
from sb3_grpo.cloning import check_cloneable


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
