"""Issue 13, bug 4: SB3's Atari pipeline (ale-py's emulator state, VecFrameStack, CnnPolicy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
@pytest.mark.parametrize(
    ("group_mode", "transitions"),
    # ~45 s and ~60 s on 2 busy cores; episode mode trains on whole episodes, so fewer of them
    [("state", 2000), ("episode", 1000)],
)
def test_make_atari_env_cnn_policy_smoke(
    group_mode: str, transitions: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SB3's Atari pipeline as users write it: make_atari_env (AtariWrapper: no-op reset, frame skip with
    # max-pooling, episodic life, fire reset, 84x84 grey frames, clipped rewards) + VecFrameStack
    pytest.importorskip("cv2")  # AtariWrapper resizes frames with OpenCV (tests extra)
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    from sb3_grpo import GRPO
    from sb3_grpo.cloning import check_cloneable
    from sb3_grpo.grpo.branching import BranchPool

    # short episodes (frames of the NoFrameskip env) so that episode mode completes a few groups
    env_kwargs = {"max_episode_steps": 1000 if group_mode == "state" else 200}
    venv = VecFrameStack(
        make_atari_env("PongNoFrameskip-v4", n_envs=1, seed=0, env_kwargs=env_kwargs), n_stack=4
    )
    report = check_cloneable(venv.envs[0], n_steps=50)
    assert report.ok and report.method == "adapter", str(report)

    # count the runtime clone checks: member 0's first step against the real step (state mode), the
    # members' first observations against each other (episode mode)
    checks = {"first_step": 0, "same_start": 0}
    check_first_steps, check_same_start = BranchPool.check_first_steps, BranchPool._check_same_start

    def counted_first_steps(pool: BranchPool, *args: Any) -> None:
        checks["first_step"] += pool.first_steps is not None
        check_first_steps(pool, *args)

    def counted_same_start(pool: BranchPool, *args: Any) -> None:
        checks["same_start"] += 1
        check_same_start(pool, *args)

    monkeypatch.setattr(BranchPool, "check_first_steps", counted_first_steps)
    monkeypatch.setattr(BranchPool, "_check_same_start", counted_same_start)

    model = GRPO(
        "CnnPolicy",
        venv,
        group_mode=group_mode,
        group_size=2,
        branch_horizon=8,
        branch_interval=4,
        n_steps=8,
        batch_size=8,
        n_epochs=1,
        seed=0,
    )
    model.learn(transitions)
    assert model.num_timesteps >= transitions
    assert model._n_train_calls >= (10 if group_mode == "state" else 1)  # the learn loop updated the policy
    if group_mode == "state":
        assert checks["first_step"] >= 50  # every group's clone was checked, none differed
    else:
        assert checks["same_start"] >= 2

    model.save(tmp_path / "pong.zip")
    loaded = GRPO.load(tmp_path / "pong.zip", env=venv)
    obs = venv.reset()
    assert obs.shape == (1, 84, 84, 4)
    np.testing.assert_array_equal(
        loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
    )
