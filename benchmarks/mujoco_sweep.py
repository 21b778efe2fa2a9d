"""MuJoCo sweeps (issue 17, goals 1-2): one zoo entry with overrides, every seed, the final gait.

The runner behind the "MuJoCo, session N" sections of docs/benchmarks.md (sessions 8-11 ran it from their
notes; session 13 made it a script). GRPO's entry for an env in ``zoo_configs/grpo.yml`` (or another
env's entry, ``--entry``) plus JSON overrides (zoo yaml values: ``"lin_X"`` schedules, ``policy_kwargs``
as a string, ``null`` deletes a key), or zoo PPO's entry (``--algo ppo``), trained with one torch thread:

- deterministic evaluations of 5 episodes at 0 transitions, every ``budget / n_evals`` and at the end, on
  an env seeded ``seed + 10000`` (``VecNormalize`` statistics synced from training, never updated);
- the final policy over 10 episodes (same env seed): the table's "final";
- its gait: 3 deterministic episodes on an env seeded ``seed + 20000``, each as (length, mean forward
  velocity in m/s from the env's ``x_velocity``): a policy that stands reads (1000, ~0), one that walks
  and falls (300, 0.6).

Each run appends one JSON row to ``--out``; ``--summary`` prints the table. Run one training per core.

Usage::

    python benchmarks/mujoco_sweep.py --env Walker2d-v5 --seeds 0 1 2 --tag entry
    python benchmarks/mujoco_sweep.py --env Ant-v5 --entry HalfCheetah-v5 --tag cheetah --budget 300000
    python benchmarks/mujoco_sweep.py --env Walker2d-v5 --tag wide --kwargs '{"policy_kwargs": "dict(log_std_init=-0.5)"}'
    python benchmarks/mujoco_sweep.py --summary sweep.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for `benchmarks._common`

import numpy as np
import torch
from sb3_grpo.zoo_configs import load_entries
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, sync_envs_normalization

from benchmarks._common import Hyperparams, append_row, parse_zoo_entry, read_rows, zoo_hyperparams
from benchmarks._runners import EvalCurveCallback, make_envs, make_eval_env
from sb3_grpo import GRPO


def hyperparams(algo: str, env_id: str, entry_env: str | None, overrides: dict[str, Any]) -> Hyperparams:
    """The settings of one run: the entry, with ``overrides`` applied as yaml values (None deletes a key).

    :param algo: ``"grpo"`` or ``"ppo"`` (zoo PPO; no overrides)
    :param env_id: the env trained on
    :param entry_env: whose GRPO entry to take (default: ``env_id``'s)
    :param overrides: yaml-style values that replace the entry's
    :return: the parsed hyperparameters
    """
    if algo == "ppo":
        if overrides:
            raise ValueError("--kwargs applies to GRPO's entries; zoo PPO is run as the zoo tunes it")
        params = zoo_hyperparams("ppo", env_id)
        if params is None:
            raise ValueError(f"rl_zoo3 has no PPO entry for {env_id}")
        return params
    entries = load_entries()
    source = entry_env or env_id
    if source not in entries:
        raise ValueError(f"grpo.yml has no entry {source!r}; pass --entry with one of {sorted(entries)}")
    entry = {**entries[source], **overrides}
    entry = {key: value for key, value in entry.items() if value is not None}
    return parse_zoo_entry(entry, f"grpo.yml {source} + {json.dumps(overrides, sort_keys=True)}")


def gait(model: GRPO | PPO, env: VecEnv, n_episodes: int) -> list[tuple[int, float]]:
    """(length, mean forward velocity) of ``n_episodes`` deterministic episodes on one sub-env ``env``."""
    result = []
    obs = env.reset()
    for _ in range(n_episodes):
        velocities: list[float] = []
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)  # type: ignore[arg-type]
            obs, _, dones, infos = env.step(action)
            velocities.append(float(infos[0].get("x_velocity", np.nan)))
            done = bool(dones[0])
        result.append((len(velocities), round(float(np.mean(velocities)), 3)))
    return result


def run_seed(
    env_id: str,
    seed: int,
    tag: str,
    params: Hyperparams,
    algo: str = "grpo",
    budget: int = 300_000,
    n_evals: int = 6,
    save: Path | None = None,
) -> dict[str, Any]:
    """Train on ``env_id`` with ``seed`` and evaluate as the module docstring says.

    :param env_id: env id
    :param seed: seed
    :param tag: name of the settings (for the summary)
    :param params: the run's settings (:func:`hyperparams`)
    :param algo: ``"grpo"`` or ``"ppo"``
    :param budget: env transitions (GRPO's branch steps included)
    :param n_evals: evaluations after the one at 0 transitions
    :param save: save the model (``<save>.zip``) and any ``VecNormalize`` statistics (``<save>.pkl``)
    :return: the row
    """
    torch.set_num_threads(1)
    train_env, eval_env = make_envs(env_id, params, seed)
    algo_class = GRPO if algo == "grpo" else PPO
    model = algo_class(params.policy, train_env, seed=seed, **params.kwargs)
    curve = EvalCurveCallback(eval_env, max(budget // n_evals, 1), n_eval_episodes=5)
    start = time.perf_counter()
    model.learn(budget, callback=curve)
    seconds = time.perf_counter() - start - curve.eval_seconds
    if save is not None:
        model.save(save.with_suffix(".zip"))
        if isinstance(train_env, VecNormalize):
            train_env.save(str(save.with_suffix(".pkl")))
    # the final policy over 10 episodes, then its gait from new starts
    gait_env = make_eval_env(env_id, params, seed + 20_000)
    if isinstance(train_env, VecNormalize):
        sync_envs_normalization(train_env, eval_env)
        sync_envs_normalization(train_env, gait_env)
    final, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True, warn=False)
    row = {
        "env_id": env_id,
        "algo": algo,
        "tag": tag,
        "seed": seed,
        "source": params.source,
        "budget": budget,
        "curve": [[t, round(r, 1)] for t, r in zip(curve.timesteps, curve.returns, strict=True)],
        "final": round(float(final), 1),
        "best": round(max([*curve.returns, float(final)]), 1),
        "gait": gait(model, gait_env, 3),
        "seconds": round(seconds, 1),
    }
    for env in (train_env, eval_env, gait_env):
        env.close()
    return row


def summary(rows: list[dict[str, Any]]) -> str:
    """A table per (env, algo, tag): evaluations, final / best and gait per seed, and the median final."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["env_id"], row["algo"], row["tag"])].append(row)
    lines = ["| env | algo | tag | seed | evaluations | final / best | gait | train s |", "|" + "---|" * 8]
    for (env_id, algo, tag), runs in groups.items():
        for row in sorted(runs, key=lambda r: r["seed"]):
            evaluations = " / ".join(f"{r:.0f}" for _, r in row["curve"])
            gait_text = ", ".join(f"({n}, {v:.2f})" for n, v in row["gait"])
            lines.append(
                f"| {env_id} | {algo} | {tag} | {row['seed']} | {evaluations} | {row['final']:.0f} / "
                f"{row['best']:.0f} | {gait_text} | {row['seconds']:.0f} |"
            )
        finals = [row["final"] for row in runs]
        lines.append(
            f"| {env_id} | {algo} | {tag} | median of {len(runs)} | | {statistics.median(finals):.0f} | | |"
        )
    return "\n".join(lines)


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="Walker2d-v5")
    parser.add_argument("--algo", choices=("grpo", "ppo"), default="grpo")
    parser.add_argument("--entry", help="take this env's GRPO entry (default: --env's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tag", default="entry")
    parser.add_argument("--kwargs", default="{}", help="overrides of the entry, JSON with yaml-style values")
    parser.add_argument("--budget", type=int, default=300_000)
    parser.add_argument("--n-evals", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("mujoco_sweep.jsonl"))
    parser.add_argument("--save", type=Path, help="save each model as <SAVE>-<seed>.zip (+ .pkl statistics)")
    parser.add_argument("--summary", type=Path, help="print the table of a results file and stop")
    args = parser.parse_args()
    if args.summary:
        print(summary(read_rows(args.summary)))
        return
    params = hyperparams(args.algo, args.env, args.entry, json.loads(args.kwargs))
    for seed in args.seeds:
        save = None if args.save is None else args.save.with_name(f"{args.save.name}-{seed}")
        row = run_seed(args.env, seed, args.tag, params, args.algo, args.budget, args.n_evals, save)
        append_row(args.out, row)
        print(summary([row]).splitlines()[2], flush=True)


if __name__ == "__main__":
    main()
