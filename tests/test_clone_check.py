"""Issue 13, bug 3: GRPO never learns from a wrong clone (the runtime clone check)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

from sb3_grpo import GRPO
from sb3_grpo.cloning import CloningError, check_cloneable
from sb3_grpo.cloning.chain import cloner_for

SMALL: dict[str, Any] = {"n_steps": 8, "batch_size": 32, "branch_horizon": 2, "seed": 0}


class Walk(gym.Env):
    """A noisy random walk: every step draws from the env's own generator."""

    action_space = spaces.Discrete(3)
    observation_space = spaces.Box(-np.inf, np.inf, shape=(2,))

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = self.np_random.normal(size=2)
        return self.position.copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position = self.position + self.np_random.normal(size=2) * 0.1 + (action - 1) * 0.1
        return self.position.copy(), float(-abs(self.position[0])), bool(abs(self.position[0]) > 3), False, {}


class ForgetfulWalk(Walk):
    """Broken env 1: a native ``get_state`` that forgets the random generator."""

    def get_state(self) -> np.ndarray:
        return self.position.copy()

    def set_state(self, state: np.ndarray) -> None:
        self.position = state.copy()


class GlobalRandomWalk(Walk):
    """Broken env 2: 1% of its steps draw a penalty from numpy's global generator."""

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = super().step(action)
        if np.random.random() < 0.01:  # noqa: NPY002
            reward -= 1.0
        return obs, reward, terminated, truncated, info


class RewardShapingMonitor(Monitor):
    """Broken env 3: a ``Monitor`` subclass that reshapes rewards (branch copies have no Monitor)."""

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, 2.0 * float(reward), terminated, truncated, info


def _walk_env(env_class: type) -> DummyVecEnv:
    return DummyVecEnv([lambda: Monitor(TimeLimit(env_class(), max_episode_steps=100))])


def test_broken_clones_are_caught() -> None:
    model = GRPO("MlpPolicy", _walk_env(ForgetfulWalk), **SMALL)
    with pytest.raises(CloningError, match=r"did not reproduce the real env at step \d+.*(obs|reward)"):
        model.learn(20_000)


class GlobalCoinWalk(Walk):
    """Draws from numpy's global generator at every step: its episodes end on a global coin flip."""

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, _, truncated, info = super().step(action)
        return obs, reward, bool(np.random.random() < 0.3), truncated, info  # noqa: NPY002


@pytest.mark.parametrize("env_class", [GlobalRandomWalk, GlobalCoinWalk])
def test_global_generator_envs_are_rewound(env_class: type) -> None:
    # one sub-env: GRPO sets np.random back after each group's branches, so the real env draws what
    # member 0 drew and the runtime check (every group) passes; without the rewinding it fails within
    # a few groups (GlobalCoinWalk) or a few hundred (GlobalRandomWalk)
    model = GRPO("MlpPolicy", _walk_env(env_class), **SMALL)
    model.learn(20_000)
    assert model._branch_pool is not None and model._branch_pool.rewind_global_generators
    assert model._n_decisions >= 1000


def test_global_generator_envs_in_one_process_are_refused() -> None:
    venv = DummyVecEnv([lambda: Monitor(TimeLimit(GlobalCoinWalk(), max_episode_steps=100))] * 2)
    model = GRPO("MlpPolicy", venv, **SMALL)
    with pytest.raises(
        CloningError, match=r"2 sub-envs .* draws from the process's global random .*n_envs=1"
    ):
        model.learn(100)


def test_global_generator_envs_in_subproc_workers_are_rewound() -> None:
    # a process per sub-env: each worker rewinds its own global generators
    venv = make_vec_env(
        GlobalCoinWalk, n_envs=2, seed=0, vec_env_cls=SubprocVecEnv, vec_env_kwargs={"start_method": "fork"}
    )
    try:
        model = GRPO("MlpPolicy", venv, **SMALL)
        model.learn(2000)
        assert model._n_decisions >= 200
    finally:
        venv.close()


def test_fallback_check_leaves_the_global_generators_alone() -> None:
    np.random.seed(7)  # noqa: NPY002
    env = TimeLimit(GlobalCoinWalk(), max_episode_steps=100)
    env.reset(seed=0)
    cloner = cloner_for(env)
    assert cloner.method == "deepcopy fallback" and cloner.draws_from_global_generators
    assert np.random.random() == np.random.RandomState(7).random()  # noqa: NPY002
    walk = TimeLimit(Walk(), max_episode_steps=100)
    walk.reset(seed=0)
    assert not cloner_for(walk).draws_from_global_generators
    report = check_cloneable(env, n_steps=50)
    assert report.ok and "global random generators" in report.recommendation


def test_reward_shaping_monitor_is_caught() -> None:
    venv = DummyVecEnv([lambda: RewardShapingMonitor(gym.make("CartPole-v1"))])
    model = GRPO("MlpPolicy", venv, **SMALL)
    with pytest.raises(
        CloningError, match=r"at step \d+ .*reward: 2.0 \(real\) != 1.0 \(clone\).*Monitor subclass"
    ):
        model.learn(1000)


@pytest.mark.parametrize(
    ("env_id", "normalize"),
    [("CartPole-v1", False), ("CartPole-v1", True), ("Pendulum-v1", True), ("FrozenLake-v1", False)],
)
def test_exact_clones_pass(env_id: str, normalize: bool) -> None:
    # a whole run of episodes (terminal observations included) with no false alarm
    venv = make_vec_env(env_id, n_envs=2, seed=0)
    if normalize:
        venv = VecNormalize(venv)
    model = GRPO("MlpPolicy", venv, **SMALL)
    model.learn(3000)
    assert model._n_decisions >= 100


class SeedIgnoringWalk(Walk):
    """Its ``reset`` ignores the seed: a group's episodes would start from different states."""

    _shared = np.random.default_rng(0)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset()
        self.position = self._shared.normal(size=2)
        return self.position.copy(), {}


def test_episode_mode_refuses_a_reset_that_ignores_its_seed() -> None:
    gym.register("SeedIgnoringWalk-v0", entry_point=SeedIgnoringWalk, max_episode_steps=20)
    try:
        model = GRPO("MlpPolicy", "SeedIgnoringWalk-v0", group_mode="episode", **SMALL)
        with pytest.raises(CloningError, match=r"reset with the same seed .* ignores its seed"):
            model.learn(500)
        # the same env with a seeded reset trains
        model = GRPO("MlpPolicy", _walk_env(Walk), group_mode="episode", **SMALL)
        model.learn(500)
    finally:
        gym.registry.pop("SeedIgnoringWalk-v0")
