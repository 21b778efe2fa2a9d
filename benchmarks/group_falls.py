"""Do the members of a state group fall together? (issue 17, goals 1-2; docs/benchmarks.md, session 13)

Loads a model saved by ``benchmarks/mujoco_sweep.py --save`` (and its ``VecNormalize`` statistics), runs
the *stochastic* policy from a reset (as the agent trains), and every ``--every`` steps of that trajectory
starts a group as state mode does: G branch copies restored to the agent's state, each following the
stochastic policy with its own noise (``branch_noise="independent"``) for up to ``--horizon`` steps. For
each group it records when each member fell (terminated), so that the spread of the fall times within a
group can be read: members that fall within a few steps of each other cannot tell a stabilising action
from another by their scores.

Usage::

    python benchmarks/mujoco_sweep.py --env Walker2d-v5 --entry HalfCheetah-v5 --seeds 0 --save /tmp/w ...
    python benchmarks/group_falls.py --env Walker2d-v5 --model /tmp/w-0 --episodes 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from sb3_grpo import GRPO
from sb3_grpo.cloning.chain import get_state, make_branch_copy, set_state


def sample_action(model: GRPO, normalize: VecNormalize | None, obs: np.ndarray) -> np.ndarray:
    """A sample of the stochastic policy in the raw observation ``obs`` (normalized as in training)."""
    action, _ = model.predict(
        normalize.normalize_obs(obs) if normalize is not None else obs, deterministic=False
    )
    return action


def member_falls(
    model: GRPO,
    normalize: VecNormalize | None,
    copies: list[gym.Env],
    state: Any,
    horizon: int,
) -> list[int | None]:
    """The step (1-based) at which each copy, restored to ``state``, terminated; None: it did not."""
    falls: list[int | None] = []
    for copy in copies:
        set_state(copy, state)
        obs = copy.unwrapped._get_obs()  # type: ignore[attr-defined]
        fell = None
        for h in range(1, horizon + 1):
            obs, _, terminated, truncated, _ = copy.step(sample_action(model, normalize, obs))
            if terminated:
                fell = h
                break
            if truncated:
                break
        falls.append(fell)
    return falls


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="Walker2d-v5")
    parser.add_argument(
        "--model", type=Path, required=True, help="path without suffix: <model>.zip, <model>.pkl"
    )
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=300)
    parser.add_argument("--every", type=int, default=10, help="agent steps between two groups")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = GRPO.load(args.model.with_suffix(".zip"), device="cpu")
    model.set_random_seed(args.seed)
    stats = args.model.with_suffix(".pkl")
    normalize = VecNormalize.load(str(stats), make_vec_env(args.env, n_envs=1)) if stats.exists() else None
    env = gym.make(args.env, disable_env_checker=True)  # copies restored, never reset: no order checks
    copies = [make_branch_copy(env) for _ in range(args.group_size)]
    groups: list[dict[str, Any]] = []
    for episode in range(args.episodes):
        obs, _ = env.reset(seed=args.seed + 1000 + episode)
        t, done = 0, False
        while not done:
            if t % args.every == 0:
                falls = member_falls(model, normalize, copies, get_state(env), args.horizon)
                groups.append({"episode": episode, "t": t, "falls": falls})
            obs, _, terminated, truncated, _ = env.step(sample_action(model, normalize, obs))
            done, t = bool(terminated or truncated), t + 1
        groups.append({"episode": episode, "t": t, "agent_fell": bool(terminated)})
    for group in groups:
        print(json.dumps(group))
    fell = [g["falls"] for g in groups if "falls" in g]
    all_fell = [f for f in fell if all(x is not None for x in f)]
    spreads = [max(f) - min(f) for f in all_fell]  # type: ignore[type-var,operator]
    firsts = [min(f) for f in all_fell]  # type: ignore[type-var]
    print(
        f"groups {len(fell)}: every member fell within {args.horizon} steps in {len(all_fell)}, "
        f"none fell in {sum(all(x is None for x in f) for f in fell)}; where all fell, the spread of the fall "
        f"steps (max - min): median {statistics.median(spreads) if spreads else float('nan')}, "
        f"the first fall: median {statistics.median(firsts) if firsts else float('nan')} steps"
    )


if __name__ == "__main__":
    main()
