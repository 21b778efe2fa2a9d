"""Dynamic regret of the classic bandit baselines on ``DynamicBandit-v0`` and its variants.

Runs every agent of ``sb3_grpo.envs.bandit_baselines.BASELINES`` (default hyperparameters) for ``--steps``
pulls on each env and ``--seeds`` seeds and prints a markdown table of the dynamic regret per
decision (the mean of ``info["regret"]``): median [min-max] over seeds. The agent keeps learning
across episode ends (a new episode re-draws the means, one more change).

``--published`` instead reproduces the published table of Besson, Kaufmann, Maillard & Seznec (JMLR 2022,
SMPyBandits' non-stationary benchmark): ``DynamicBanditBesson2022-v0`` (3 Bernoulli arms, 5000 pulls,
four change points), mean cumulative regret at T over ``--runs`` runs, beside the published figure.

Usage::

    python benchmarks/bandit_baselines.py --seeds 5 --steps 5000
    python benchmarks/bandit_baselines.py --published --runs 40
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import sb3_grpo.envs  # noqa: F401  (registers the env ids)
from sb3_grpo.envs.bandit_baselines import BASELINES, make_baseline, run_agent

ENV_IDS = ("DynamicBandit-v0", "DynamicBanditRandomWalk-v0")
PUBLISHED_ENV_ID = "DynamicBanditBesson2022-v0"


@dataclass(frozen=True)
class PublishedRow:
    """
    One row of the published table and how we run it.

    :param label: the published algorithm.
    :param regret: its published mean cumulative regret at T = 5000 (40 runs).
    :param baseline: our baseline (a key of ``BASELINES``; tuned for the env by ``make_baseline``).
    :param overrides: hyperparameters that replace the tuned ones.
    """

    label: str
    regret: float
    baseline: str
    overrides: dict[str, Any] = field(default_factory=dict)


#: SMPyBandits' published non-stationary table (Besson et al. 2022), and the rows we add to explain
#: differences (``regret = nan``: no published figure of that exact variant).
PUBLISHED: dict[str, PublishedRow] = {
    "oracle_kl_ucb": PublishedRow("Oracle-restart kl-UCB", 34.3, "oracle_kl_ucb"),
    "oracle_kl_ucb_pulled": PublishedRow(
        # SMPyBandits' oracle restarts only the arm pulled when a change happens.
        "Oracle-restart kl-UCB, restart of the pulled arm",
        34.3,
        "oracle_kl_ucb",
        {"restart": "pulled"},
    ),
    "glr_kl_ucb_local": PublishedRow("GLR-klUCB (local)", 70.5, "glr_kl_ucb_local"),
    "glr_kl_ucb_local_c3": PublishedRow(
        # SMPyBandits' klUCB_forGLR index: level 3 log(t - tau_a), not log(t - tau_a).
        "GLR-klUCB (local), index level 3 log(t - tau_a)",
        70.5,
        "glr_kl_ucb_local",
        {"c": 3.0},
    ),
    "glr_kl_ucb_global": PublishedRow("GLR-klUCB (global)", 99.5, "glr_kl_ucb_global"),
    "glr_kl_ucb_global_c3": PublishedRow(
        "GLR-klUCB (global), index level 3 log(t - tau_a)", 99.5, "glr_kl_ucb_global", {"c": 3.0}
    ),
    "cusum_kl_ucb": PublishedRow("CUSUM-klUCB", 150.8, "cusum_kl_ucb"),
    "cusum_kl_ucb_alpha1": PublishedRow(
        # The CUSUM tuning without the 0.1 factor on its exploration rate, as in SMPyBandits' CUSUM module.
        "CUSUM-klUCB, alpha = sqrt(Upsilon log(T/Upsilon) / T)",
        150.8,
        "cusum_kl_ucb",
        {"alpha": math.sqrt(4 * math.log(5000 / 4) / 5000)},
    ),
    "sw_kl_ucb": PublishedRow("SW-klUCB (tau = 206)", 175.4, "sw_kl_ucb", {"window": 206}),
    "discounted_thompson": PublishedRow(
        "Discounted Thompson (gamma = 0.95)", 210.7, "discounted_thompson", {"gamma": 0.95}
    ),
    "kl_ucb": PublishedRow("kl-UCB", 262.9, "kl_ucb"),
    "m_kl_ucb": PublishedRow("M-klUCB (w = 150)", 286.2, "m_kl_ucb"),
    "thompson": PublishedRow("Thompson sampling", 445.9, "thompson"),
}


def published_regret(row: str, runs: int, first_seed: int = 0) -> np.ndarray:
    """
    Cumulative regret at T of one row of :data:`PUBLISHED` on the published problem.

    :param row: a key of :data:`PUBLISHED`.
    :param runs: number of runs (seeds ``first_seed, first_seed + 1, ...``).
    :param first_seed: the first seed.
    :return: the regret of each run.
    """
    spec = PUBLISHED[row]
    totals = []
    for seed in range(first_seed, first_seed + runs):
        env = gym.make(PUBLISHED_ENV_ID).unwrapped  # no wrappers: 5000 pulls per run
        agent = make_baseline(spec.baseline, env, **spec.overrides)
        totals.append(run_agent(agent, env, 5000, seed)["regret"].sum())
    return np.array(totals)


def print_published(runs: int, rows: list[str]) -> None:
    """
    Print the reproduction table of :data:`PUBLISHED`.

    :param runs: runs per row.
    :param rows: keys of :data:`PUBLISHED`.
    """
    print(f"Mean cumulative regret at T = 5000 on {PUBLISHED_ENV_ID}, {runs} runs (+- standard error)\n")
    print("| algorithm | published (40 runs) | ours | ours / published | s |")
    print("|---|---|---|---|---|")
    for row in rows:
        start = time.perf_counter()
        totals = published_regret(row, runs)
        spec = PUBLISHED[row]
        mean, error = totals.mean(), totals.std(ddof=1) / math.sqrt(runs) if runs > 1 else 0.0
        print(
            f"| {spec.label} | {spec.regret:.1f} | {mean:.1f} +- {error:.1f} | {mean / spec.regret:.2f} | "
            f"{time.perf_counter() - start:.0f} |",
            flush=True,
        )


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0, 1, ...)")
    parser.add_argument("--steps", type=int, default=5000, help="pulls per run")
    parser.add_argument("--envs", nargs="+", default=list(ENV_IDS), help="env ids")
    parser.add_argument("--agents", nargs="+", default=list(BASELINES), help="baseline names")
    parser.add_argument("--published", action="store_true", help="reproduce the published table instead")
    parser.add_argument("--runs", type=int, default=40, help="--published: runs per algorithm")
    parser.add_argument("--rows", nargs="+", default=list(PUBLISHED), help="--published: rows to run")
    args = parser.parse_args()
    if args.published:
        print_published(args.runs, args.rows)
        return

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
