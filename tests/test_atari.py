"""Issue 13, bug 4: SB3's Atari pipeline (ale-py's emulator state, VecFrameStack, CnnPolicy)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

ale_py = pytest.importorskip("ale_py")
gym.register_envs(ale_py)


@pytest.mark.parametrize(
    "kwargs", [{}, {"repeat_action_probability": 0.25, "frameskip": (2, 5)}], ids=["v5", "random-frameskip"]
)
def test_ale_adapter_replays_exactly(kwargs: dict) -> None:
    from sb3_grpo.cloning import check_cloneable

    # sticky actions (the emulator's generator) and random frame skips (the env's np_random) included;
    # the check replays in place, after a pickle round trip and on a branch copy
    report = check_cloneable(gym.make("ALE/Breakout-v5", **kwargs), n_steps=300)
    assert report.ok, str(report)
    assert report.method == "adapter"


@pytest.mark.slow
@pytest.mark.parametrize("group_mode", ["state", "episode"])
def test_cnn_policy_atari_smoke(group_mode: str) -> None:
    # make_atari_env's preprocessing needs OpenCV; the raw frames, frame-stacked, exercise the same path
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack

    from sb3_grpo import GRPO

    venv = make_vec_env("ALE/Pong-v5", n_envs=1, seed=0, env_kwargs={"max_episode_steps": 50})
    venv = VecFrameStack(venv, n_stack=2)  # GRPO adds VecTransposeImage, as PPO does
    model = GRPO(
        "CnnPolicy",
        venv,
        group_mode=group_mode,
        group_size=2,
        branch_horizon=2,
        n_steps=8,
        batch_size=8,
        seed=0,
    )
    model.learn(300)  # 35 s in state mode, 125 s in episode mode on 2 busy cores
    assert model.num_timesteps >= 300
    obs = venv.reset()
    action, _ = model.predict(obs)
    assert np.shape(action) == (1,)
