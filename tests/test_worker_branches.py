"""Branches in ``SubprocVecEnv`` workers (issue 15): each worker holds and steps its sub-env's G copies.

Same seeds give the same groups as with ``DummyVecEnv`` (whose copies live in the main process).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from sb3_grpo import GRPO


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
        len(branches) for branches in env.env_method("_sb3_grpo_remote", "__getattribute__", "branches")
    ] == [model.group_size] * 2
    model.set_env(make_vec_env("CartPole-v1", n_envs=2, seed=0))  # drops the old pool, closes its copies
    assert [
        len(branches) for branches in env.env_method("_sb3_grpo_remote", "__getattribute__", "branches")
    ] == [
        0,
        0,
    ]
    env.close()
    pool.close()  # nothing left to close: no error
