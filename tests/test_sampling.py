"""The rollout's sampling fast path: no log-probabilities for branch continuations, no torch argument checks.

Both were measured to cost about a third of a CartPole run (docs/benchmarks.md, "Where a CartPole run's
time goes"); these tests hold that dropping them changes no action and hides no bad input.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env

from sb3_grpo import GRPO


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("branch_noise", ["independent", "common"])
def test_continuation_actions_are_the_full_samplers(env_id: str, branch_noise: str) -> None:
    """With the same torch seed, the continuation sampler draws the actions the full forward draws."""
    model = GRPO("MlpPolicy", make_vec_env(env_id, n_envs=2, seed=0), branch_noise=branch_noise, seed=0)
    obs = np.stack([model.observation_space.sample() for _ in range(8)])
    groups = np.repeat(np.arange(2), 4)
    th.manual_seed(1)
    fast = model._sample_continuation(obs, groups)
    th.manual_seed(1)
    if branch_noise == "independent":
        full = model._sample(obs)[0]
    else:
        # the common-noise draw of the code before the fast path: distribution, shared noise, log-prob
        from sb3_grpo.grpo.common_noise import sample_with_common_noise

        with th.no_grad():
            distribution = model.policy.get_distribution(th.as_tensor(obs, device=model.device))
            actions = sample_with_common_noise(distribution, th.as_tensor(groups, device=model.device), 2)
            distribution.log_prob(actions)
        full = model._env_actions(actions.reshape((-1, *model.action_space.shape)).cpu().numpy())
    np.testing.assert_array_equal(fast, full)


def test_argument_checks_come_back_after_sampling() -> None:
    model = GRPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=1, seed=0), seed=0)
    before = th.distributions.Distribution._validate_args
    model.learn(300)
    assert th.distributions.Distribution._validate_args == before


class NanObservationEnv(gym.Env):
    """Observations become NaN after ``nan_after`` steps (a broken simulator)."""

    observation_space = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, nan_after: int = 3) -> None:
        self.t = 0
        self.nan_after = nan_after

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, dtype=np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        value = np.nan if self.t > self.nan_after else float(self.t)
        return np.full(2, value, dtype=np.float32), 1.0, False, self.t >= 50, {}

    def get_state(self) -> int:
        return self.t

    def set_state(self, state: int) -> None:
        self.t = state


def test_nan_observation_stops_with_the_fix() -> None:
    """Without torch's checks a NaN observation would pick action 0 silently (common noise): it must stop."""
    model = GRPO("MlpPolicy", make_vec_env(NanObservationEnv, n_envs=1, seed=0), branch_horizon=8, seed=0)
    with pytest.raises(ValueError, match=r"NaN/inf observation.*VecCheckNan"):
        model.learn(500)
