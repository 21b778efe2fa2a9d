"""The ``Monitor`` CSV files hold the agent's episodes with every VecEnv (issue 13, bug 9).

In episode mode the real sub-envs are never stepped: GRPO writes the group episodes (the agent's own) into
each sub-env's ``Monitor``, in the worker for a ``SubprocVecEnv``. In state mode the real sub-envs' own
``Monitor`` wrappers record the agent's trajectory and never see a branch step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.monitor import load_results
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from sb3_grpo import GRPO

N_ENVS = 2
MODES: dict[str, dict[str, Any]] = {
    "episode": dict(group_mode="episode", group_size=3, n_steps=2, batch_size=32),
    "state": dict(group_size=2, branch_horizon=4, n_steps=16, batch_size=32),
}


def train(
    vec_env_cls: type[VecEnv], monitor_dir: Path, kwargs: dict[str, Any]
) -> tuple[GRPO, list[pd.DataFrame]]:
    """Train a little with a Monitor file per sub-env; return the model and each sub-env's file."""
    env = make_vec_env(
        "CartPole-v1", n_envs=N_ENVS, seed=3, vec_env_cls=vec_env_cls, monitor_dir=str(monitor_dir)
    )
    model = GRPO("MlpPolicy", env, seed=3, **kwargs)
    try:
        model.learn(1500)
    finally:
        env.close()  # the workers' Monitor files are closed (and flushed) with the env
    files = [pd.read_csv(monitor_dir / f"{i}.monitor.csv", skiprows=1) for i in range(N_ENVS)]
    return model, files


@pytest.mark.parametrize("mode", list(MODES))
def test_subproc_monitor_files_hold_the_agents_episodes(mode: str, tmp_path: Path) -> None:
    dummy, dummy_files = train(DummyVecEnv, tmp_path / "dummy", MODES[mode])
    subproc, subproc_files = train(SubprocVecEnv, tmp_path / "subproc", MODES[mode])

    assert subproc.num_timesteps == dummy.num_timesteps
    for i, (dummy_file, subproc_file) in enumerate(zip(dummy_files, subproc_files, strict=True)):
        assert len(subproc_file) > 0, f"sub-env {i}'s Monitor file is empty"
        # the same seeds give the same episodes, in the same order, in each sub-env's file
        assert subproc_file["r"].tolist() == dummy_file["r"].tolist(), f"sub-env {i}"
        assert subproc_file["l"].tolist() == dummy_file["l"].tolist(), f"sub-env {i}"
        assert (subproc_file["t"] >= 0).all()

    # and they are the episodes SB3 reports (ep_info_buffer: rollout/ep_rew_mean)
    results = load_results(str(tmp_path / "subproc"))
    episodes = list(subproc.ep_info_buffer)
    assert 0 < len(results) == len(episodes) < 100  # all of them fit in the buffer
    assert sorted(results["r"]) == pytest.approx(sorted(episode["r"] for episode in episodes))
    assert sorted(results["l"]) == sorted(episode["l"] for episode in episodes)
    if mode == "episode":  # every transition is one of the agent's episodes
        assert results["l"].sum() == subproc.num_timesteps
    else:  # the agent's own steps (a decision each), less those of unfinished episodes; no branch step
        agent_steps = subproc._n_decisions
        assert agent_steps - N_ENVS * 500 < results["l"].sum() <= agent_steps < subproc.num_timesteps


def test_worker_command_writes_each_sub_envs_monitor(tmp_path: Path) -> None:
    from sb3_grpo.cloning.remote import record_worker_episodes

    env = make_vec_env("CartPole-v1", n_envs=N_ENVS, vec_env_cls=SubprocVecEnv, monitor_dir=str(tmp_path))
    rows = [[{"r": 12.0, "l": 12}, {"r": 30.5, "l": 31}], [{"r": 9.0, "l": 9}]]
    try:
        record_worker_episodes(env, rows)
        assert env.get_attr("episode_returns") == [[12.0, 30.5], [9.0]]  # the workers' Monitors
        assert env.get_attr("total_steps") == [43, 9]
    finally:
        env.close()
    for i, episodes in enumerate(rows):
        written = pd.read_csv(tmp_path / f"{i}.monitor.csv", skiprows=1)
        assert written[["r", "l"]].to_dict("records") == episodes


def test_sub_env_without_monitor_records_nothing() -> None:
    from sb3_grpo.cloning.remote import record_worker_episodes

    env = SubprocVecEnv([lambda: gym.make("CartPole-v1")])
    try:
        record_worker_episodes(env, [[{"r": 1.0, "l": 1}]])  # no Monitor in the chain: nothing to write
        assert not env.has_attr("episode_returns")
    finally:
        env.close()
