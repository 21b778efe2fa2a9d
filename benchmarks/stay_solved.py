"""Staying solved (issue 17, goal 3): is the policy GRPO ends with as good as the best it reached?

The protocol of the "Staying solved" sections of docs/benchmarks.md (sessions 8-13): GRPO's defaults, plus
any overrides, on one env (CartPole-v1) for 1e5 transitions with one torch thread, trained on ``--n-envs``
sub-envs (1 by default; the evaluations below always run on one env), and

- 5-episode deterministic evaluations every 5k transitions on an env seeded ``seed + 10000`` (the curve:
  "late" = the evaluations in the last 30% of the budget, "first" = transitions to the first one at the
  env's solved threshold, 475 on CartPole);
- the final policy over 10 episodes on a new env seeded ``seed + 10000`` (the goal's number: >= 475);
- over 100 episodes on an env seeded ``seed + 20000``: their mean, and the share that ran to the time
  limit (500 on CartPole), which tells a policy that fails from 2% of starts from one that fails from 20%;
- over 100 more episodes (reset seeds ``seed + 30000 + i``), how each one that ended early ended: on
  CartPole the cart off the track (``|x| > 2.4``) or the pole down.

Each run appends one JSON row to ``--out``; ``--summary`` prints a table per tag (and per seed with
``--per-seed``). Run one training at a time on shared cores (``nice``).

Usage::

    python benchmarks/stay_solved.py --seeds 100 101 102 --tag defaults [--out stay.jsonl]
    python benchmarks/stay_solved.py --seeds 100 101 --tag lin_clip --kwargs '{"clip_range": "lin_0.2"}'
    python benchmarks/stay_solved.py --seeds 100 101 --tag n4 --n-envs 4 --kwargs '{"n_steps": 2}'
    python benchmarks/stay_solved.py --summary stay.jsonl [--per-seed]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for `benchmarks._common`

import gymnasium as gym
import numpy as np
import torch
from sb3_grpo.zoo_configs import constructor_kwargs
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from benchmarks._common import append_row, read_rows
from sb3_grpo import GRPO, EvalCallback

#: How an episode that ended before the time limit ended, from its last observation.
FAILURE_CAUSES: dict[str, Callable[[np.ndarray], str]] = {
    "CartPole-v1": lambda obs: "cart off the track" if abs(float(obs[0])) > 2.4 else "pole down",
}


class RecordEvaluation(BaseCallback):
    """Run by ``sb3_grpo.EvalCallback`` after each evaluation: records (transitions, mean return)."""

    def __init__(self) -> None:
        super().__init__()
        self.curve: list[tuple[int, float]] = []

    def _on_step(self) -> bool:
        assert isinstance(self.parent, EvalCallback)
        self.curve.append((int(self.model.num_timesteps), float(self.parent.last_mean_reward)))
        return True


def failure_causes(model: GRPO, env_id: str, seed: int, n_episodes: int) -> dict[str, int]:
    """Run the deterministic policy from ``n_episodes`` starts; count how the episodes that ended early ended."""
    env = gym.make(env_id)
    classify = FAILURE_CAUSES.get(env_id, lambda obs: "terminated")
    causes: Counter[str] = Counter()
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=seed + 30_000 + episode)
        while True:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated:
                causes[classify(obs)] += 1
            if terminated or truncated:
                break
    env.close()
    return dict(causes)


def run_seed(
    env_id: str,
    seed: int,
    tag: str,
    overrides: dict[str, Any],
    budget: int = 100_000,
    eval_every: int = 5_000,
    n_eval_episodes: int = 5,
    n_final_episodes: int = 10,
    n_long_episodes: int = 100,
    n_envs: int = 1,
) -> dict[str, Any]:
    """Train GRPO on ``env_id`` with ``seed`` and evaluate its final policy as the module docstring says.

    :param env_id: env id
    :param seed: seed
    :param tag: name of the settings (for the summary)
    :param overrides: GRPO keyword arguments beside its defaults (JSON values, ``"lin_X"`` schedules)
    :param budget: transitions
    :param eval_every: transitions between evaluations
    :param n_eval_episodes: episodes per evaluation
    :param n_final_episodes: episodes of the final evaluation
    :param n_long_episodes: episodes of the long final evaluation and of the failure causes
    :param n_envs: sub-envs of the training env (the evaluations run on one env whatever it is)
    :return: the row
    """
    if n_envs < 1 or eval_every % n_envs:
        raise ValueError(
            f"n_envs={n_envs} must be >= 1 and divide eval_every={eval_every} (evaluations every eval_every "
            "transitions, all sub-envs together): pick an n_envs that divides it."
        )
    torch.set_num_threads(1)
    # the overrides read as a zoo entry's: "lin_X" strings become linear schedules
    model = GRPO(
        "MlpPolicy",
        make_vec_env(env_id, n_envs=n_envs, seed=seed),
        seed=seed,
        **constructor_kwargs(overrides),
    )
    evaluations = RecordEvaluation()
    evaluate = EvalCallback(  # every eval_freq x n_envs = eval_every transitions, branch steps counted
        make_vec_env(env_id, n_envs=1, seed=seed + 10_000),
        callback_after_eval=evaluations,
        n_eval_episodes=n_eval_episodes,
        eval_freq=eval_every // n_envs,
        deterministic=True,
        verbose=0,
        warn=False,
    )
    start = time.perf_counter()
    model.learn(budget, callback=evaluate)
    seconds = time.perf_counter() - start

    def episodes(env_seed: int, n_episodes: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns and lengths of the deterministic policy's episodes on a new env seeded ``env_seed``."""
        returns, lengths = evaluate_policy(
            model,
            make_vec_env(env_id, n_envs=1, seed=env_seed),
            n_episodes,
            deterministic=True,
            warn=False,
            return_episode_rewards=True,
        )
        return np.asarray(returns), np.asarray(lengths)

    final = float(episodes(seed + 10_000, n_final_episodes)[0].mean())
    returns, lengths = episodes(seed + 20_000, n_long_episodes)
    time_limit = gym.spec(env_id).max_episode_steps
    return {
        "env_id": env_id,
        "tag": tag,
        "seed": seed,
        "overrides": overrides,
        "n_envs": n_envs,
        "budget": budget,
        "curve": evaluations.curve,
        "final": final,
        "long_mean": float(returns.mean()),
        "long_at_limit": float(np.mean(lengths == time_limit)) if time_limit else None,
        "failure_causes": failure_causes(model, env_id, seed, n_long_episodes),
        "seconds": seconds,
    }


def summary(rows: list[dict[str, Any]], per_seed: bool = False) -> str:
    """A markdown table per tag: seeds, finals below the solved threshold, the long evaluation, the curve."""
    by_tag: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        by_tag[row["tag"]][row["seed"]] = row  # the last row of a seed counts
    lines = [
        "| tag | seeds | final below threshold | long mean (min) | share at the time limit | late >= threshold "
        "| first >= threshold (median) | failures by cause |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tag, runs in by_tag.items():
        threshold = gym.spec(next(iter(runs.values()))["env_id"]).reward_threshold or float("inf")
        below = [seed for seed, row in sorted(runs.items()) if row["final"] < threshold]
        long_means = [row["long_mean"] for row in runs.values()]
        at_limit = [row["long_at_limit"] for row in runs.values() if row["long_at_limit"] is not None]
        late = [
            value >= threshold
            for row in runs.values()
            for at, value in row["curve"]
            if at >= 0.7 * row["budget"]
        ]
        firsts = [
            next((at for at, value in row["curve"] if value >= threshold), None) for row in runs.values()
        ]
        reached = [first for first in firsts if first is not None]
        causes: Counter[str] = Counter()
        recorded = [row["failure_causes"] for row in runs.values() if row["failure_causes"] is not None]
        for counts in recorded:  # None: not recorded (rows older than the causes)
            causes.update(counts)
        lines.append(
            f"| {tag} | {len(runs)} | {len(below)} {below if below else ''} "
            f"| {statistics.mean(long_means):.1f} ({min(long_means):.1f}) "
            f"| {statistics.mean(at_limit) if at_limit else float('nan'):.3f} "
            f"| {statistics.mean(late) if late else float('nan'):.2f} "
            f"| {statistics.median(reached) if reached else '-'} ({len(reached)}/{len(runs)}) "
            f"| {dict(causes)} in {len(recorded)} runs |"
        )
        if per_seed:
            for seed, row in sorted(runs.items()):
                lines.append(
                    f"|   seed {seed} | | {row['final']:.1f} | {row['long_mean']:.1f} | {row['long_at_limit']} | "
                    f"| | {row['failure_causes']} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--tag", default="defaults")
    parser.add_argument("--kwargs", default="{}", help="GRPO overrides as JSON ('lin_X' strings: schedules)")
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--n-envs", type=int, default=1, help="sub-envs of the training env")
    parser.add_argument("--out", type=Path, default=Path("stay_solved.jsonl"))
    parser.add_argument("--summary", type=Path, help="print the table of a results file and stop")
    parser.add_argument("--per-seed", action="store_true")
    args = parser.parse_args()
    if args.summary is not None:
        print(summary(read_rows(args.summary), args.per_seed))
        return
    for seed in args.seeds:
        row = run_seed(
            args.env, seed, args.tag, json.loads(args.kwargs), budget=args.budget, n_envs=args.n_envs
        )
        append_row(args.out, row)
        print(f"{args.tag} seed {seed}: final {row['final']:.1f}, 100 episodes {row['long_mean']:.1f}")


if __name__ == "__main__":
    main()
