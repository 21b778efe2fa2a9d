"""Dynamic regret of the classic bandit baselines on ``DynamicBandit-v0`` and its variants.

Runs every agent of ``sb3_grpo.envs.bandit_baselines.BASELINES`` (default hyperparameters) for ``--steps``
pulls on each env and ``--seeds`` seeds and prints a markdown table of the dynamic regret per
decision (the mean of ``info["regret"]``): median [min-max] over seeds. The agent keeps learning
across episode ends (a new episode re-draws the means, one more change).

Usage::

    python benchmarks/bandit_baselines.py --seeds 5 --steps 5000
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import sb3_grpo.envs  # noqa: F401  (registers the env ids)
from sb3_grpo.envs.bandit_baselines import BASELINES, make_baseline, run_agent

ENV_IDS = ("DynamicBandit-v0", "DynamicBanditRandomWalk-v0")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0, 1, ...)")
    parser.add_argument("--steps", type=int, default=5000, help="pulls per run")
    parser.add_argument("--envs", nargs="+", default=list(ENV_IDS), help="env ids")
    parser.add_argument("--agents", nargs="+", default=list(BASELINES), help="baseline names")
    args = parser.parse_args()

    start = time.perf_counter()
    table: dict[str, dict[str, str]] = {}
    for env_id in args.envs:
        for name in args.agents:
            regrets = []
            for seed in range(args.seeds):
                env = gym.make(env_id)
                regrets.append(run_agent(make_baseline(name, env), env, args.steps, seed)["regret_per_step"])
                env.close()
            values = np.array(regrets)
            table.setdefault(name, {})[env_id] = (
                f"{np.median(values):.3f} [{values.min():.3f}-{values.max():.3f}]"
            )

    print(f"Dynamic regret per decision, median [min-max] over {args.seeds} seeds, {args.steps} pulls each\n")
    print("| baseline | hyperparameters | " + " | ".join(f"`{e}`" for e in args.envs) + " |")
    print("|---|---|" + "---|" * len(args.envs))
    for name in args.agents:
        params = ", ".join(f"{k}={v}" for k, v in BASELINES[name].kwargs.items()) or "-"
        print(f"| {name} | {params} | " + " | ".join(table[name][e] for e in args.envs) + " |")
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
