"""Tests of sb3_grpo.cloning.VecEnvCloner with DummyVecEnv and SubprocVecEnv."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize

from sb3_grpo.cloning import CloneableWrapper, CloningError, VecEnvCloner, set_state
from sb3_grpo.cloning.compare import first_difference

N_ENVS = 2


def make_venv(kind: str, env_id: str, env_kwargs: dict[str, Any] | None = None) -> VecEnv:
    return make_vec_env(
        env_id,
        n_envs=N_ENVS,
        seed=0,
        env_kwargs=env_kwargs,
        vec_env_cls=DummyVecEnv if kind == "dummy" else SubprocVecEnv,
        vec_env_kwargs={} if kind == "dummy" else {"start_method": "fork"},
        wrapper_class=CloneableWrapper,
    )


def rollout(venv: VecEnv, actions: np.ndarray) -> list[Any]:
    out = []
    for action in actions:
        obs, rewards, dones, _ = venv.step(action)
        out.append((obs.copy(), rewards.copy(), dones.copy()))
    return out


ENVS = [("CartPole-v1", None), ("FrozenLake-v1", {"is_slippery": True})]


@pytest.mark.parametrize("env_id,env_kwargs", ENVS)
@pytest.mark.parametrize("kind", ["dummy", "subproc"])
def test_batch_save_restore(kind: str, env_id: str, env_kwargs: dict | None) -> None:
    venv = make_venv(kind, env_id, env_kwargs)
    try:
        venv.reset()
        cloner = VecEnvCloner(venv)
        assert cloner.num_envs == N_ENVS
        rng = np.random.default_rng(0)
        actions = rng.integers(0, venv.action_space.n, size=(60, N_ENVS))
        rollout(venv, actions[:7])
        states = cloner.get_states()
        reference = rollout(venv, actions)
        assert any(done.any() for _, _, done in reference)  # episode ends inside the replay
        cloner.set_states(states)
        replay = rollout(venv, actions)
        assert first_difference(reference, replay) is None
        # one sub-env only
        cloner.set_states(cloner.get_states([1]), indices=[1])
    finally:
        venv.close()


@pytest.mark.parametrize("kind", ["dummy", "subproc"])
def test_branch_envs_reproduce_real_step(kind: str) -> None:
    """The algorithm's loop: states -> branch copies -> step copies -> step the real env with member 0."""
    venv = make_venv(kind, "FrozenLake-v1", {"is_slippery": True, "max_episode_steps": 8})
    try:
        venv.reset()
        cloner = VecEnvCloner(venv)
        branches = [cloner.make_branch_envs(i, 3) for i in range(N_ENVS)]
        assert all(not isinstance(layer, Monitor) for b in branches[0] for layer in _layers(b))
        rng = np.random.default_rng(0)
        ends = 0
        for _ in range(40):
            states = cloner.get_states()
            actions = rng.integers(0, 4, size=N_ENVS)
            expected = []
            for i in range(N_ENVS):
                members = []
                for member, branch in enumerate(branches[i]):
                    set_state(branch, states[i])
                    action = int(actions[i]) if member == 0 else int(rng.integers(4))
                    members.append(branch.step(action))
                    for _ in range(5):  # H more steps, past episode ends
                        if members[-1][2] or members[-1][3]:
                            break
                        branch.step(int(rng.integers(4)))
                expected.append(members[0])
            obs, rewards, dones, infos = venv.step(actions)
            for i in range(N_ENVS):
                b_obs, b_reward, b_terminated, b_truncated, _ = expected[i]
                assert rewards[i] == b_reward
                assert dones[i] == (b_terminated or b_truncated)
                if dones[i]:
                    ends += 1
                    assert infos[i]["terminal_observation"] == b_obs
                    assert infos[i]["TimeLimit.truncated"] == (b_truncated and not b_terminated)
                else:
                    assert obs[i] == b_obs
        assert ends >= 2
        episodes = sum(len(r) for r in venv.env_method("get_episode_rewards"))
        assert episodes == ends  # the branches never reached the real Monitors
    finally:
        venv.close()


def _layers(env: gym.Env) -> list[gym.Env]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


def test_wrapped_vec_env_is_unwrapped() -> None:
    venv = VecNormalize(make_venv("dummy", "CartPole-v1"))
    venv.reset()
    cloner = VecEnvCloner(venv)
    assert len(cloner.get_states()) == N_ENVS


def test_dummy_without_cloneable_wrapper_works() -> None:
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    venv.reset()
    cloner = VecEnvCloner(venv)
    states = cloner.get_states()
    first = rollout(venv, np.ones((5, 2), dtype=int))
    cloner.set_states(states)
    assert first_difference(first, rollout(venv, np.ones((5, 2), dtype=int))) is None


@pytest.mark.parametrize("env_id", ["CartPole-v1", "FrozenLake-v1", "sb3_grpo.envs:DynamicBandit-v0"])
def test_subproc_without_cloneable_wrapper(env_id: str) -> None:
    # SB3's usual make_vec_env(..., vec_env_cls=SubprocVecEnv): adapters and native methods alike
    venv = make_vec_env(env_id, n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        venv.reset()
        cloner = VecEnvCloner(venv)
        venv.step(np.zeros(2, dtype=int))
        states = cloner.get_states()
        branch = cloner.make_branch_envs(1, 1)[0]
        set_state(branch, states[1])
        actions = np.ones((5, 2), dtype=int)
        first = rollout(venv, actions)
        on_branch = [branch.step(int(action))[:2] for action in actions[:, 1]]
        for (obs, reward, done), (branch_obs, branch_reward) in zip(first, on_branch, strict=False):
            if done[1]:
                break
            assert first_difference(obs[1], np.asarray(branch_obs, dtype=obs.dtype)) is None
            assert reward[1] == np.asarray(branch_reward).astype(reward.dtype)
        cloner.set_states(states)  # in place, in the workers
        assert first_difference(first, rollout(venv, actions)) is None
    finally:
        venv.close()


class _LockedEnv(gym.Env):
    action_space = gym.spaces.Discrete(2)
    observation_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        return 0, 0.0, False, False, {}


@pytest.mark.parametrize("kind", ["dummy", "subproc"])
def test_uncloneable_sub_env_is_named(kind: str) -> None:
    venv = make_vec_env(
        _LockedEnv,
        n_envs=2,
        vec_env_cls=DummyVecEnv if kind == "dummy" else SubprocVecEnv,
        vec_env_kwargs={} if kind == "dummy" else {"start_method": "fork"},
        wrapper_class=CloneableWrapper,
    )
    try:
        venv.reset()
        with pytest.raises(CloningError, match=r"Sub-env 0.*_LockedEnv"):
            VecEnvCloner(venv)
    finally:
        venv.close()


def test_subproc_bad_state_is_an_error_not_a_crash() -> None:
    venv = make_venv("subproc", "CartPole-v1")
    try:
        venv.reset()
        cloner = VecEnvCloner(venv)
        with pytest.raises(CloningError, match="Sub-env 0"):
            cloner.set_states(["junk", "junk"])
        assert len(cloner.get_states()) == N_ENVS  # the workers are still alive
    finally:
        venv.close()


def test_state_fits_a_time_limit_subclass() -> None:
    # rl_zoo3 replaces gymnasium's TimeLimit by a subclass in the processes that import it; a SubprocVecEnv
    # worker that does not sends states and copies with the original class
    from gymnasium.envs.classic_control import CartPoleEnv
    from gymnasium.wrappers import TimeLimit

    from sb3_grpo.cloning import get_state

    class SubclassedTimeLimit(TimeLimit):
        def step(self, action: Any) -> Any:
            return super().step(action)

    original, patched = TimeLimit(CartPoleEnv(), 50), SubclassedTimeLimit(CartPoleEnv(), 50)
    original.reset(seed=0)
    patched.reset(seed=1)
    original.step(1)
    set_state(patched, get_state(original))
    assert first_difference(original.step(0), patched.step(0)) is None
    assert patched._elapsed_steps == 2
