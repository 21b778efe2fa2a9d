"""Branches in ``SubprocVecEnv`` workers (issue 15): each worker holds and steps its sub-env's G copies.

Same seeds give the same groups as with ``DummyVecEnv`` (whose copies live in the main process).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from sb3_grpo import GRPO
from sb3_grpo.cloning import CloningError, get_state
from sb3_grpo.cloning.remote import RemoteCloner, answer


def train(vec_env_cls: type[VecEnv], **kwargs: Any) -> tuple[GRPO, dict[str, np.ndarray]]:
    env = make_vec_env("CartPole-v1", n_envs=2, seed=3, vec_env_cls=vec_env_cls)
    model = GRPO("MlpPolicy", env, seed=3, **kwargs)
    model.learn(1500)
    buffer = model.rollout_buffer
    rollout = {
        "observations": np.asarray(buffer.observations),
        "actions": buffer.actions,
        "log_probs": buffer.log_probs,
        "scores": np.concatenate(buffer._score_chunks),
        "advantages": np.asarray(buffer.advantages),
    }
    return model, rollout


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(group_size=3, branch_horizon=6, branch_interval=2, n_steps=4, batch_size=12),
        dict(
            group_size=3,
            branch_horizon=40,
            branch_noise="independent",
            skip_identical_groups=False,
            n_steps=4,
            batch_size=12,
        ),
        dict(group_mode="episode", group_size=2, n_steps=1, batch_size=64),
    ],
    ids=["state-common", "state-independent", "episode"],
)
def test_subproc_workers_give_the_dummy_groups(kwargs: dict[str, Any]) -> None:
    dummy, dummy_rollout = train(DummyVecEnv, **kwargs)
    subproc, subproc_rollout = train(SubprocVecEnv, **kwargs)
    try:
        assert subproc._branch_pool is not None and subproc._branch_pool.in_workers
        assert dummy._branch_pool is not None and not dummy._branch_pool.in_workers
        assert subproc.num_timesteps == dummy.num_timesteps
        for key, value in dummy_rollout.items():
            np.testing.assert_array_equal(subproc_rollout[key], value, err_msg=key)
        assert np.ptp(dummy_rollout["scores"]) > 0  # the comparison above compares groups that differ
        for (name, p), q in zip(
            dummy.policy.state_dict().items(), subproc.policy.state_dict().values(), strict=True
        ):
            assert th.equal(p, q), name
    finally:
        subproc.env.close()  # type: ignore[union-attr]


def test_closing_the_env_closes_the_worker_copies() -> None:
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    model = GRPO("MlpPolicy", env, n_steps=2, batch_size=4, seed=0)
    model.learn(300)
    pool = model._branch_pool
    assert pool is not None and pool.workers is not None
    assert [
        len(branches) for _, branches in env.env_method("_sb3_grpo_remote", "__getattribute__", "branches")
    ] == [model.group_size] * 2
    model.set_env(make_vec_env("CartPole-v1", n_envs=2, seed=0))  # drops the old pool, closes its copies
    assert [
        len(branches) for _, branches in env.env_method("_sb3_grpo_remote", "__getattribute__", "branches")
    ] == [
        0,
        0,
    ]
    env.close()
    pool.close()  # nothing left to close: no error


class UnpicklableState(gym.Env):
    """A seedable env whose state holds a lambda: plain pickle cannot send it back from a worker."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.zeros(1, dtype=np.float32), 0.0, False, False, {}

    def get_state(self) -> Any:
        return lambda: None

    def set_state(self, state: Any) -> None:
        pass


def test_remote_cloner_answers_every_command_and_never_raises() -> None:
    """Each worker command answers ``(True, result)`` or ``(False, message)``; ``answer`` raises with the sub-env."""
    remote = RemoteCloner(UnpicklableState())
    assert remote("check") == (True, None)
    ok, message = remote("get_state")
    assert not ok and message.startswith("its state cannot be pickled back to the main process (")
    ok, message = remote("set_state", 3)  # a CloningError's message comes back as it is
    assert not ok and message.startswith("set_state expects a state returned by sb3_grpo.cloning.get_state")
    assert remote("make_branches", 2) == (True, "UnpicklableState")
    ok, (observations, rewards, done) = remote("step_branches", [0, 1], np.array([0, 1]))
    assert ok and len(observations) == 2 and rewards.tolist() == [0.0, 0.0] and not done.any()
    ok, message = remote("step_branches", [5], np.array([0]))
    assert not ok and message.startswith("IndexError")
    with pytest.raises(
        RuntimeError, match="Sub-env 3 of the SubprocVecEnv failed to step a branch copy: IndexError"
    ):
        answer((ok, message), 3, "failed to step a branch copy", RuntimeError)
    with pytest.raises(
        CloningError, match="Sub-env 1 of the SubprocVecEnv failed to save its state: its state"
    ):
        answer(remote("get_state"), 1, "failed to save its state")
    state = get_state(remote.env)
    assert answer(remote("set_state", state), 0, "failed to restore a state") is None
