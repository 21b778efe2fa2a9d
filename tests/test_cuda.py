"""Issue 15, part 4: GRPO trains on a GPU (``device="cuda"``). Skipped where there is none, as in CI; run on a
device machine (docs/benchmarks.md, "On a machine with 16 free cores and a GPU"). Nothing else in the library needs a GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch as th
from sb3_grpo.zoo_configs import grpo_kwargs
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import SubprocVecEnv

from sb3_grpo import GRPO

pytestmark = pytest.mark.skipif(not th.cuda.is_available(), reason="needs a GPU")


def test_cartpole_zoo_entry_solves_on_cuda() -> None:
    # the zoo entry at its own budget; on the CPU it ends >= 475 on 24 of 25 seeds (issue 17, goal 3)
    env = make_vec_env("CartPole-v1", n_envs=1, seed=0)
    model = GRPO("MlpPolicy", env, seed=0, device="cuda", **grpo_kwargs("CartPole-v1"))
    model.learn(100_000)
    assert model.device.type == "cuda"
    mean_return, _ = evaluate_policy(
        model, make_vec_env("CartPole-v1", n_envs=1, seed=10_000), n_eval_episodes=10, deterministic=True
    )
    assert mean_return >= 475, mean_return


@pytest.mark.parametrize(("group_mode", "transitions"), [("state", 2000), ("episode", 1000)])
def test_cnn_policy_trains_on_cuda_and_loads_on_the_cpu(
    group_mode: str, transitions: int, tmp_path: Path
) -> None:
    ale_py = pytest.importorskip("ale_py")
    pytest.importorskip("cv2")  # AtariWrapper resizes frames with OpenCV
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gym.register_envs(ale_py)
    env_kwargs = {"max_episode_steps": 1000 if group_mode == "state" else 200}
    venv = VecFrameStack(
        make_atari_env("PongNoFrameskip-v4", n_envs=1, seed=0, env_kwargs=env_kwargs), n_stack=4
    )
    model = GRPO(
        "CnnPolicy",
        venv,
        device="cuda",
        group_mode=group_mode,
        group_size=2,
        branch_horizon=8,
        branch_interval=4,
        n_steps=8,
        batch_size=8,
        n_epochs=1,
        ent_coef=0.01,  # Pong's short runs score 0 in every member: the bonus moves the policy all the same
        seed=0,
    )
    before = [parameter.detach().clone() for parameter in model.policy.parameters()]
    model.learn(transitions)
    parameters = list(model.policy.parameters())
    assert all(parameter.is_cuda for parameter in parameters)
    assert model._n_train_calls >= 1
    assert any(not th.equal(old, new) for old, new in zip(before, parameters, strict=True))

    model.save(tmp_path / "pong.zip")
    loaded = GRPO.load(tmp_path / "pong.zip", device="cpu")
    for trained, reloaded in zip(parameters, loaded.policy.parameters(), strict=True):
        assert not reloaded.is_cuda
        assert th.equal(trained.detach().cpu(), reloaded)


def test_subproc_worker_branches_with_a_cuda_policy() -> None:
    # the branch copies live in the workers; the policy's forward passes run on the GPU in this process
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        model = GRPO(
            "MlpPolicy",
            env,
            device="cuda",
            group_size=2,
            branch_horizon=8,
            branch_interval=2,
            n_steps=4,
            batch_size=8,
            seed=0,
        )
        model.learn(500)
        assert model._n_train_calls >= 1
        assert next(model.policy.parameters()).is_cuda
    finally:
        env.close()


def test_torch_threads_auto_leaves_a_gpu_policy_alone() -> None:
    # "auto" takes one CPU thread for small policies' forward passes; on a GPU they do not run on the CPU
    model = GRPO("MlpPolicy", "CartPole-v1", device="cuda")
    assert model._learn_threads() is None


def test_throughput_benchmark_runs_on_cuda() -> None:
    from benchmarks import throughput

    rows = throughput.main(["--device", "cuda", "--timesteps", "300", "--envs", "CartPole-v1"])
    assert [row["env_id"] for row in rows] == ["CartPole-v1"]
    assert rows[0]["grpo_rate"] > 0 and rows[0]["ppo_rate"] > 0
