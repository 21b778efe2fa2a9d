"""The driver of the session-9 gap runs (issue 17, goal 5): ``run.py``'s runs with a budget per algorithm.

``benchmarks/run.py`` gives every algorithm one budget and evaluates ten times per run; the gap protocol
needs GRPO at 3e5 and PPO at its zoo budget 1e5 on Pendulum, evaluations every 10k transitions for both,
and the process CPU time of training beside its wall time (the cores were shared). Usage (from the repo
root; the runs of docs/benchmarks.md, "Pendulum and Acrobot, session 9")::

    python benchmarks/results/run-s9-gap.py --env Acrobot-v1 --runs grpo:0 ppo:0 grpo:1 ppo:1 \
        --budget grpo=120000 ppo=120000 --eval-every 10000 --eval-episodes 5 --name acrobot-s9-gap
    python benchmarks/results/run-s9-gap.py --env Acrobot-v1 --runs grpo:0 grpo:1 --budget grpo=120000 \
        --eval-every 10000 --eval-episodes 5 --name acrobot-s9-gap-g16 \
        --grpo-kwargs '{"group_size": 16, "batch_size": 1024}' --label grpo_G16

It writes ``<name>.json`` / ``<name>.md`` in ``run.py``'s format (``run.py --merge`` reads them); each run's
JSON entry also holds ``cpu_train_seconds`` (evaluations excluded) and the constructor arguments used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks._report import write_report  # noqa: E402
from benchmarks._runners import (  # noqa: E402
    ALGO_CLASSES,
    EvalCurveCallback,
    RunResult,
    algo_hyperparams,
    make_envs,
)
from benchmarks.run import ENVS, THRESHOLDS  # noqa: E402


class CpuEvalCurve(EvalCurveCallback):
    """:class:`EvalCurveCallback` that also sums the process CPU seconds spent evaluating."""

    def __init__(self, eval_env: Any, eval_freq: int, n_eval_episodes: int) -> None:
        super().__init__(eval_env, eval_freq, n_eval_episodes)
        self.eval_cpu = 0.0

    def _timed(self, evaluate: bool) -> bool:
        n_evaluations = len(self.timesteps)
        start = time.process_time()
        out = super()._timed(evaluate)
        if len(self.timesteps) > n_evaluations:
            self.eval_cpu += time.process_time() - start
        return out


def train(
    env_id: str, algo: str, seed: int, budget: int, eval_every: int, episodes: int, overrides: dict[str, Any]
) -> tuple[RunResult, float, dict[str, Any]]:
    """One run: ``benchmarks._runners.run_control`` with GRPO overrides and CPU time.

    :param env_id: env id (a key of ``run.ENVS``)
    :param algo: ``grpo`` or ``ppo``
    :param seed: seed
    :param budget: env transitions
    :param eval_every: transitions between evaluations
    :param episodes: episodes per evaluation
    :param overrides: GRPO constructor arguments replacing the zoo entry's (``policy_kwargs`` merged)
    :return: the run, its training CPU seconds, and the constructor arguments used
    """
    params = algo_hyperparams(algo, env_id)
    assert params is not None, f"no {algo} entry for {env_id}"
    kwargs = dict(params.kwargs)
    if algo == "grpo":
        policy_kwargs = {**(kwargs.get("policy_kwargs") or {}), **overrides.get("policy_kwargs", {})}
        kwargs.update({k: v for k, v in overrides.items() if k != "policy_kwargs"})
        if policy_kwargs:
            kwargs["policy_kwargs"] = policy_kwargs
    train_env, eval_env = make_envs(env_id, params, seed)
    model = ALGO_CLASSES[algo](params.policy, train_env, seed=seed, device="cpu", **kwargs)
    callback = CpuEvalCurve(eval_env, eval_every, episodes)
    cpu, wall = time.process_time(), time.perf_counter()
    model.learn(budget, callback=callback)
    wall = time.perf_counter() - wall - callback.eval_seconds
    cpu = time.process_time() - cpu - callback.eval_cpu
    train_env.close()
    eval_env.close()
    threshold = ENVS[env_id].threshold
    hits = [t for t, r in zip(callback.timesteps, callback.returns, strict=True) if t > 0 and r >= threshold]
    run = RunResult(
        env_id,
        algo,
        seed,
        callback.timesteps,
        callback.returns,
        int(model.num_timesteps),
        wall,
        hits[0] if hits else None,
        params.source,
        callback.seconds_at,
    )
    return run, cpu, kwargs


def main() -> None:
    """Run the listed algo:seed pairs in order, rewriting the report after each."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=True, choices=list(ENVS))
    parser.add_argument("--runs", nargs="+", required=True, help="algo:seed pairs, run in this order")
    parser.add_argument("--budget", nargs="+", required=True, help="algo=transitions for each algo")
    parser.add_argument("--eval-every", type=int, required=True, help="transitions between evaluations")
    parser.add_argument("--eval-episodes", type=int, required=True, help="episodes per evaluation")
    parser.add_argument("--name", required=True, help="report name")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="output folder")
    parser.add_argument("--grpo-kwargs", default="{}", help="JSON: GRPO arguments replacing the entry's")
    parser.add_argument("--label", help="the GRPO runs' algo name in the report (default grpo)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    budgets = {algo: int(float(n)) for algo, n in (b.split("=") for b in args.budget)}
    runs: list[RunResult] = []
    extras: list[dict[str, Any]] = []
    start = time.perf_counter()
    for item in args.runs:
        algo, seed = item.split(":")
        run, cpu, kwargs = train(
            args.env, algo, int(seed), budgets[algo], args.eval_every, args.eval_episodes,
            json.loads(args.grpo_kwargs),
        )  # fmt: skip
        if algo == "grpo" and args.label:
            run.algo = args.label
        runs.append(run)
        extras.append({"cpu_train_seconds": cpu, "kwargs": {k: str(v) for k, v in kwargs.items()}})
        print(
            f"[{time.perf_counter() - start:6.0f}s] {run.algo} seed {seed}: solved_at {run.solved_at} "
            f"final {run.final_return:.1f} best {run.best_return:.1f} wall {run.train_seconds:.1f}s "
            f"cpu {cpu:.1f}s transitions {run.transitions}",
            flush=True,
        )
        settings = {
            "command": "python benchmarks/results/run-s9-gap.py " + " ".join(sys.argv[1:]),
            "mode": "full",
            "envs": [args.env],
            "algos": sorted({r.algo for r in runs}),
            "seeds": sorted({r.seed for r in runs}),
            "budget_override": budgets,
            "eval_every": args.eval_every,
            "eval_episodes": args.eval_episodes,
            "machine": f"2 shared cores, 1 torch thread, torch {torch.__version__}",
            "seconds": time.perf_counter() - start,
        }
        paths = write_report(args.name, runs, [], args.out, settings, [], THRESHOLDS)
        raw = json.loads(paths["json"].read_text())
        for entry, extra in zip(raw["control"], extras, strict=True):
            entry.update(extra)
        paths["json"].write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
