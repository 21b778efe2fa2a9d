"""Issue 13, bug 2: SubprocVecEnv workers that cannot send a state or a copy back say why.

GRPO itself needs neither to cross the pipe (issue 15: the branch copies live in the workers and restore
from their sub-env), so it trains; ``VecEnvCloner.get_states`` still brings states back, and says why not.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = """
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

from sb3_grpo import GRPO
from sb3_grpo.cloning import CloneableWrapper, CloningError, VecEnvCloner


class Position:
    def __init__(self, x):
        self.x = x


class ScriptEnv(gym.Env):
    action_space = spaces.Discrete(2)
    observation_space = spaces.Box(-10, 10, (1,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = np.zeros(1, dtype=np.float32)
        return self.x.copy(), {}

    def step(self, action):
        self.x += action - 0.5
        return self.x.copy(), float(action), bool(abs(self.x[0]) > 5), False, {}

    def get_state(self):
        return STATE(self.x.copy())

    def set_state(self, state):
        self.x = (state.x if isinstance(state, Position) else state).copy()


if __name__ == "__main__":
    venv = make_vec_env(
        lambda: gym.wrappers.TimeLimit(ScriptEnv(), 50),
        n_envs=2,
        vec_env_cls=SubprocVecEnv,
        wrapper_class=CloneableWrapper,
    )
    GRPO("MlpPolicy", venv, n_steps=4, batch_size=16).learn(300)
    print("TRAINED")
    try:
        VecEnvCloner(venv).get_states()
        print("STATES BACK")
    except CloningError as error:
        print(error)
"""


@pytest.mark.parametrize("state", ["np.asarray", "Position"])
def test_env_class_defined_in_the_training_script(state: str, tmp_path: Path) -> None:
    # SB3's default start method (forkserver) rebuilds the script's classes by value in the workers
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT).replace("STATE(", f"{state}("))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )
    assert "TRAINED" in result.stdout, result.stderr[-3000:]
    if state == "np.asarray":
        assert "STATES BACK" in result.stdout, result.stdout[-3000:]
    else:  # a state of a class of the script cannot come back: an error that names cause and fix, not EOFError
        assert "STATES BACK" not in result.stdout
        assert "EOFError" not in result.stderr, result.stderr[-3000:]
        assert "its state cannot be pickled back to the main process" in result.stdout
        assert "importable module" in result.stdout
