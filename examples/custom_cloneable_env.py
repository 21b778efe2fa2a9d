"""Make your own env cloneable for GRPO: native ``get_state``/``set_state``, checked with ``check_cloneable``.

Run: ``python examples/custom_cloneable_env.py``
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_grpo.cloning import check_cloneable


class NoisyCorridorEnv(gym.Env):
    """Walk along a corridor of ``length`` cells; each move slips to the other direction with probability 0.2.

    Action Space: ``Discrete(2)``: 0 = left, 1 = right.
    Observation Space: ``Discrete(length)``: the position.
    Rewards: +1 on reaching the right end, -0.01 per step otherwise.
    Starting State: a random cell in the left half.
    Episode End: terminated at the right end (wrap with ``TimeLimit`` for truncation).
    """

    metadata = {"render_modes": []}

    def __init__(self, length: int = 8) -> None:
        self.length = length
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Discrete(length)
        self.position = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.position = int(self.np_random.integers(0, self.length // 2))
        return self.position, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        move = 1 if action == 1 else -1
        if self.np_random.random() < 0.2:  # slip
            move = -move
        self.position = int(np.clip(self.position + move, 0, self.length - 1))
        terminated = self.position == self.length - 1
        return self.position, 1.0 if terminated else -0.01, terminated, False, {}

    # --- the two methods that make the env cloneable -------------------------------------------------
    def get_state(self) -> tuple[int, dict]:
        """Everything step()/reset() read: the position and the random number generator."""
        return self.position, self.np_random.bit_generator.state

    def set_state(self, state: tuple[int, dict]) -> None:
        """Restore a state from get_state()."""
        self.position, self.np_random.bit_generator.state = state


if __name__ == "__main__":
    env = gym.wrappers.TimeLimit(NoisyCorridorEnv(), max_episode_steps=30)
    report = check_cloneable(env, n_steps=200, seed=0)
    print(report)
    assert report.ok
