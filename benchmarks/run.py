"""Does GRPO beat PPO, and where? GRPO vs SB3's PPO and A2C on the same envs, at equal env transitions.

Every algorithm gets the same budget of **env transitions**: GRPO's branch steps (the G members of a
group and their continuations) count like any other env step. Each run is evaluated with SB3's
``evaluate_policy`` (deterministic) on a separate eval env at regular transition intervals, which
gives learning curves; the table reports the final evaluation, the transitions needed to reach the
zoo's "solved" threshold, and the wall time of training (evaluations excluded).

Algorithms (``--algos``):

* ``grpo``: GRPO with its ``zoo_configs/grpo.yml`` entry for the env (GRPO's defaults without one);
* ``grpo_episode``: the same with ``group_mode="episode"`` (G whole episodes per update), run only
  where the ``grpo`` entry is not already in episode mode;
* ``ppo``, ``a2c``: SB3 with the rl-zoo tuned hyperparameters (``rl_zoo3/hyperparams/*.yml``),
  ``VecNormalize`` where the zoo normalizes.

The bandits (``DynamicBandit-v0``: abrupt changes; ``DynamicBanditRandomWalk-v0``: random-walk drift)
are judged by dynamic regret on the agent's own trajectory per decision, and by the mean regret of every
pull (GRPO pulls a group of arms on env copies at every decision), beside the classic bandit agents and
the change-point detectors (GLR-klUCB, ...) and the restart oracle.

Usage::

    python benchmarks/run.py --quick                      # a few minutes on 2 cores -> benchmarks/results/quick.*
    python benchmarks/run.py                              # full mode (hours)
    python benchmarks/run.py --envs CartPole-v1 --seeds 0 1 2 --algos grpo ppo --name cartpole
    python benchmarks/run.py --merge results/a.json results/b.json --name ab   # one report of both
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks, envs, examples

import torch

from benchmarks._common import ROOT
from benchmarks._report import merge_reports, write_report
from benchmarks._runners import ALGOS, BanditResult, EnvSpec, RunResult, run_bandit, run_control

RESULTS_DIR = ROOT / "benchmarks" / "results"


ENVS: dict[str, EnvSpec] = {
    spec.env_id: spec
    for spec in (
        EnvSpec("DynamicBandit-v0", "bandit", None, budget=5000, quick_budget=1000),
        EnvSpec("DynamicBanditRandomWalk-v0", "bandit", None, budget=5000, quick_budget=1000),
        # the published piecewise-stationary problem (Besson et al. 2022): 3 Bernoulli arms, 5000 pulls
        EnvSpec("DynamicBanditBesson2022-v0", "bandit", None, budget=5000, quick_budget=1000),
        EnvSpec("CartPole-v1", "control", 475.0, budget=100_000, quick_budget=40_000),
        EnvSpec("Acrobot-v1", "control", -100.0, budget=200_000, quick_budget=30_000),
        EnvSpec("Pendulum-v1", "control", -200.0, budget=100_000, quick_budget=30_000),
        EnvSpec("MountainCarContinuous-v0", "control", 90.0, budget=50_000, quick_budget=20_000),
        EnvSpec("LunarLander-v3", "control", 200.0, budget=1_000_000, quick_budget=100_000, requires="Box2D"),
        # MuJoCo (`pip install "gymnasium[mujoco]"`): thresholds are the rl-zoo PPO 1M results' halves
        # (HalfCheetah 5819, Hopper 2410, Walker2d 3479, Ant 1327), run at budgets this machine affords.
        EnvSpec("Hopper-v5", "control", 1000.0, budget=300_000, quick_budget=50_000, requires="mujoco"),
        EnvSpec("HalfCheetah-v5", "control", 1500.0, budget=300_000, quick_budget=50_000, requires="mujoco"),
        EnvSpec("Walker2d-v5", "control", 1000.0, budget=300_000, quick_budget=50_000, requires="mujoco"),
        EnvSpec("Ant-v5", "control", 500.0, budget=300_000, quick_budget=50_000, requires="mujoco"),
    )
}
QUICK_ENVS = ("DynamicBandit-v0", "DynamicBanditRandomWalk-v0", "CartPole-v1")
QUICK_SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2, 3, 4)
#: each env's "solved" return, for the report
THRESHOLDS: dict[str, float | None] = {env_id: spec.threshold for env_id, spec in ENVS.items()}


def run_benchmark(
    env_ids: list[str],
    algos: list[str],
    seeds: list[int],
    quick: bool,
    out_dir: Path,
    name: str,
    budget: int | None = None,
    n_eval_episodes: int | None = None,
    device: str = "cpu",
    command: str = "",
    verbose: bool = True,
) -> dict[str, Path]:
    """Run every env x algo x seed and write the report.

    :param env_ids: envs (keys of :data:`ENVS`)
    :param algos: algorithms (keys of :data:`ALGOS`)
    :param seeds: seeds
    :param quick: use the quick budgets
    :param out_dir: output folder
    :param name: report name
    :param budget: override every env's budget (transitions; decisions on bandits)
    :param n_eval_episodes: override episodes per evaluation (quick: 5)
    :param device: torch device
    :param command: the command line, for the report
    :param verbose: print progress
    :return: the paths written
    """
    start = time.perf_counter()
    runs: list[RunResult] = []
    bandit: list[BanditResult] = []
    skipped: list[str] = []

    def report() -> dict[str, Path]:
        """Write the report of what has run so far."""
        settings = {
            "command": command,
            "mode": "quick" if quick else "full",
            "envs": env_ids,
            "algos": algos,
            "seeds": seeds,
            "budget_override": budget,
            "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}",
            "seconds": time.perf_counter() - start,
        }
        return write_report(name, runs, bandit, out_dir, settings, skipped, THRESHOLDS)

    for env_id in env_ids:
        spec = ENVS[env_id]
        if spec.requires is not None and importlib.util.find_spec(spec.requires) is None:
            skipped.append(f"{env_id}: `{spec.requires}` is not installed (pip install 'gymnasium[box2d]')")
            continue
        env_budget = budget or (spec.quick_budget if quick else spec.budget)
        episodes = n_eval_episodes or (5 if quick else spec.n_eval_episodes)
        for seed in seeds:
            t0 = time.perf_counter()
            if spec.kind == "bandit":
                out = run_bandit(env_id, algos, seed, env_budget, device)
                bandit += out
                summary = ", ".join(f"{r.agent} {r.per_decision:.3f}" for r in out if r.agent in ALGOS)
            else:
                summary_parts = []
                for algo in algos:
                    run = run_control(spec, algo, seed, env_budget, episodes, device)
                    if run is None:
                        note = (
                            f"{env_id} x {algo}: not run (no zoo entry, or grpo is already in episode mode)"
                        )
                        if note not in skipped:
                            skipped.append(note)
                        continue
                    runs.append(run)
                    summary_parts.append(f"{algo} {run.final_return:.1f} ({run.train_seconds:.0f}s)")
                summary = ", ".join(summary_parts)
            if verbose:
                print(
                    f"[{time.perf_counter() - start:6.0f}s] {env_id} seed {seed} ({time.perf_counter() - t0:.0f}s): {summary}",
                    flush=True,
                )
            report()  # rewritten after every seed: a stopped run keeps what it measured
    return report()


def main(argv: list[str] | None = None) -> dict[str, Path]:
    """Command line entry point.

    :param argv: arguments (default: ``sys.argv``)
    :return: the paths written
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small budgets, CartPole + bandits, 2 seeds (a few minutes on 2 cores)",
    )
    parser.add_argument("--envs", nargs="+", choices=list(ENVS), help="envs (default: the mode's)")
    parser.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS), help="algorithms")
    parser.add_argument("--seeds", nargs="+", type=int, help="seeds (default: 0 1 quick, 0..4 full)")
    parser.add_argument("--budget", type=int, help="override budgets: transitions (bandits: decisions)")
    parser.add_argument(
        "--eval-episodes", type=int, help="episodes per evaluation (default 5 quick, 10 full)"
    )
    parser.add_argument("--name", help="report name (default: the mode, quick or full)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="output folder")
    parser.add_argument("--device", default="cpu", help="torch device (small MLPs: cpu is fastest)")
    parser.add_argument(
        "--merge", nargs="+", type=Path, help="write one report of these reports' JSON files (runs nothing)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small MLPs on shared cores: one thread is fastest, and fair to all
    env_ids = args.envs or list(QUICK_ENVS if args.quick else ENVS)
    seeds = args.seeds or list(QUICK_SEEDS if args.quick else FULL_SEEDS)
    name = args.name or ("quick" if args.quick else "full")
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.merge:
        paths = merge_reports(
            args.merge, args.out, args.name or "merged", THRESHOLDS, command=command.strip()
        )
        print(paths["md"].read_text())
        return paths
    paths = run_benchmark(
        env_ids,
        args.algos,
        seeds,
        args.quick,
        args.out,
        name,
        budget=args.budget,
        n_eval_episodes=args.eval_episodes,
        device=args.device,
        command=command.strip(),
    )
    print(paths["md"].read_text())
    return paths


if __name__ == "__main__":
    main()
