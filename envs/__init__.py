"""Gymnasium environments shipped with sb3-grpo (gymnasium + numpy only).

Installed as ``sb3_grpo.envs`` (the repository keeps it in ``envs/``; see ``package-dir`` in
pyproject.toml). Importing it, or anything of ``sb3_grpo``, registers:

- ``DynamicBandit-v0``: 10-armed bandit, means re-drawn every 250 pulls (abrupt changes);
- ``DynamicBanditRandomWalk-v0``: the same bandit with random-walk drift (``drift_std=0.01``);
- ``DynamicBanditSinusoidal-v0``: the same bandit with sinusoidal means (period 500 pulls);
- ``DynamicBanditBesson2022-v0``: the published piecewise-stationary Bernoulli problem (3 arms, 5000
  pulls, changes at 1000, 2000, 3000, 4000; ``sb3_grpo.envs.dynamic_bandit.BESSON_2022_PROBLEM``).

``gym.make("sb3_grpo.envs:DynamicBandit-v0")`` imports this package first, so it works without
``import sb3_grpo.envs``. The envs apply their episode limit themselves (it is part of their cloned state), so they are
registered without ``max_episode_steps``: the env's own ``get_state``/``set_state`` then restore the
whole episode, step counter included, even for users who call them directly on ``env.unwrapped``
(a ``TimeLimit`` counter lives in the wrapper, where only a wrapper-aware cloner such as
``sb3_grpo.cloning`` finds it).
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from .dynamic_bandit import BESSON_2022_PROBLEM, DynamicBandit

__all__ = ["BESSON_2022_PROBLEM", "DynamicBandit"]

_ENTRY_POINT = f"{__name__}.dynamic_bandit:DynamicBandit"
_VARIANTS: dict[str, dict[str, object]] = {
    "DynamicBandit-v0": {},
    "DynamicBanditRandomWalk-v0": {"drift": "random_walk"},
    "DynamicBanditSinusoidal-v0": {"drift": "sinusoidal"},
    "DynamicBanditBesson2022-v0": BESSON_2022_PROBLEM,
}

for _env_id, _kwargs in _VARIANTS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_ENTRY_POINT, kwargs=_kwargs)
