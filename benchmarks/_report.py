"""The benchmark's report: Markdown tables, PNG plots and JSON of the runs, and the merge of several reports.

The runs come from ``benchmarks/_runners.py``; ``benchmarks/run.py`` passes each env's "solved"
threshold from its env table.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from benchmarks._common import ROOT, iqm, iqm_ci
from benchmarks._runners import BanditResult, RunResult

#: each env's "solved" return (None: none), from ``benchmarks/run.py``'s env table
Thresholds = Mapping[str, float | None]

_R = TypeVar("_R", "RunResult", "BanditResult")


def group_runs(runs: list[_R], name: str) -> dict[str, dict[str, list[_R]]]:
    """Group runs by env, then by ``getattr(run, name)`` (the algo or agent), in first-seen order.

    :param runs: results of any number of envs, algorithms and seeds
    :param name: the attribute that names the algorithm (``"algo"`` or ``"agent"``)
    :return: ``{env_id: {name: [runs of every seed]}}``
    """
    groups: dict[str, dict[str, list[_R]]] = {}
    for run in runs:
        groups.setdefault(run.env_id, {}).setdefault(getattr(run, name), []).append(run)
    return groups


def _fmt_steps(values: list[int | None]) -> str:
    solved = sorted(v for v in values if v is not None)
    if not solved:
        return f"never (0/{len(values)})"
    median = int(np.median(solved))
    return f"{median / 1000:.1f}k [{solved[0] / 1000:.1f}k-{solved[-1] / 1000:.1f}k] ({len(solved)}/{len(values)})"


def control_table(runs: list[RunResult], thresholds: Thresholds) -> str:
    """Markdown table: one row per env x algo, with every seed's final and best evaluation.

    :param runs: control runs
    :param thresholds: each env's "solved" return
    :return: the table
    """
    lines = [
        "| env | algo | final return mean +- std | IQM [95% CI] | final per seed | best per seed | transitions to threshold: median [min-max] (solved) | train s to threshold (median) | transitions | train s | transitions/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for env_id, by_algo in group_runs(runs, "algo").items():
        threshold = thresholds.get(env_id)
        for algo, group in by_algo.items():
            finals = np.array([r.final_return for r in group])
            low, high = iqm_ci(finals)
            steps = _fmt_steps([r.solved_at for r in group]) if threshold is not None else "-"
            solved_seconds = [r.solved_seconds for r in group if r.solved_seconds is not None]
            seconds = f"{np.median(solved_seconds):.0f}" if solved_seconds else "-"
            lines.append(
                f"| {env_id} | {algo} | {finals.mean():.1f} +- {finals.std():.1f} | {iqm(finals):.1f} "
                f"[{low:.1f}, {high:.1f}] | {' / '.join(f'{r.final_return:.0f}' for r in group)} | "
                f"{' / '.join(f'{r.best_return:.0f}' for r in group)} | {steps} | {seconds} | "
                f"{np.mean([r.transitions for r in group]):.0f} | "
                f"{np.mean([r.train_seconds for r in group]):.1f} | "
                f"{np.mean([r.transitions_per_second for r in group]):.0f} |"
            )
    return "\n".join(lines)


def bandit_table(results: list[BanditResult]) -> str:
    """Markdown table of dynamic regret: one row per bandit x agent, best per decision first.

    :param results: bandit results
    :return: the table
    """
    lines = [
        "| env | agent | regret / decision mean +- std | total regret | env pulls / decision | regret / pull (every pull) | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for env_id, by_agent in group_runs(results, "agent").items():
        rows = []
        for agent, group in by_agent.items():
            per = np.array([r.per_decision for r in group])
            total = np.mean([r.regret.sum() for r in group])
            rows.append(
                (
                    per.mean(),
                    f"| {env_id} | {agent} | {per.mean():.4f} +- {per.std():.4f} | {total:.1f} | "
                    f"{group[0].interactions_per_decision:g} | "
                    f"{np.mean([r.per_interaction for r in group]):.4f} | "
                    f"{np.mean([r.seconds for r in group]):.1f} |",
                )
            )
        lines += [row for _, row in sorted(rows)]
    return "\n".join(lines)


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (imported late: matplotlib is optional)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(plt: Any, fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` (80 dpi), close it and return ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_curves(runs: list[RunResult], out_dir: Path, thresholds: Thresholds, prefix: str = "") -> list[Path]:
    """One PNG per control env: mean eval return vs transitions, shaded min-max across seeds.

    :param runs: control runs
    :param thresholds: each env's "solved" return (drawn as a line)
    :param out_dir: output folder
    :param prefix: file name prefix
    :return: the files written
    """
    plt = _pyplot()
    paths = []
    for env_id, by_algo in group_runs(runs, "algo").items():
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for algo, group in by_algo.items():
            end = min(r.timesteps[-1] for r in group)
            grid = np.linspace(0, end, 40)
            curves = np.array([np.interp(grid, r.timesteps, r.returns) for r in group])
            line = ax.plot(grid, curves.mean(axis=0), label=f"{algo} ({len(group)} seeds)")[0]
            ax.fill_between(grid, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.2)
        threshold = thresholds.get(env_id)
        if threshold is not None:
            ax.axhline(threshold, color="k", ls=":", lw=1, label=f"solved ({threshold:g})")
        ax.set(
            title=f"{env_id}: eval return vs env transitions", xlabel="env transitions (branches included)"
        )
        ax.set_ylabel("mean eval return")
        ax.legend(fontsize=8)
        paths.append(_save_figure(plt, fig, out_dir / f"{prefix}curve_{env_id}.png"))
    return paths


def plot_regret(results: list[BanditResult], out_dir: Path, prefix: str = "") -> list[Path]:
    """One PNG per bandit: cumulative regret vs decisions and vs env interactions (mean over seeds).

    :param results: bandit results
    :param out_dir: output folder
    :param prefix: file name prefix
    :return: the files written
    """
    plt = _pyplot()
    paths = []
    for env_id, by_agent in group_runs(results, "agent").items():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
        for agent, group in by_agent.items():
            cumulative = np.mean([np.cumsum(r.regret) for r in group], axis=0)
            steps = np.arange(1, len(cumulative) + 1)
            style = "-" if agent in ("grpo", "ppo", "a2c") else "--"
            line = axes[0].plot(steps, cumulative, style, lw=1.2, label=agent)[0]
            every_pull = np.mean(
                [np.cumsum(r.regret if r.pulls_regret is None else r.pulls_regret) for r in group], axis=0
            )
            axes[1].plot(
                steps * group[0].interactions_per_decision, every_pull, style, lw=1.2, color=line.get_color()
            )
        axes[0].set(
            title=f"{env_id}: cumulative regret", xlabel="decision", ylabel="cumulative dynamic regret"
        )
        axes[1].set(
            title="regret of every pull (GRPO's branch pulls included)",
            xlabel="env pulls",
            ylabel="cumulative",
        )
        axes[1].set_xscale("log")
        axes[0].legend(fontsize=7, ncol=2)
        paths.append(_save_figure(plt, fig, out_dir / f"{prefix}regret_{env_id}.png"))
    return paths


def write_report(
    name: str,
    runs: list[RunResult],
    bandit: list[BanditResult],
    out_dir: Path,
    settings: dict[str, Any],
    skipped: list[str],
    thresholds: Thresholds,
) -> dict[str, Path]:
    """Write ``<name>.md``, ``<name>.json`` and the PNGs into ``out_dir``.

    :param name: report name (the mode)
    :param runs: control runs
    :param bandit: bandit results
    :param out_dir: output folder
    :param settings: how the benchmark was run (written in both files)
    :param skipped: lines saying what was skipped and why
    :param thresholds: each env's "solved" return
    :return: the paths written, by kind
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # Only the default full run writes the unprefixed plots docs/results.md shows; any other name (quick_...)
    # keeps its own.
    prefix = "" if name == "full" else f"{name}_"
    pngs = (plot_curves(runs, out_dir, thresholds, prefix) if runs else []) + (
        plot_regret(bandit, out_dir, prefix) if bandit else []
    )
    lines = [
        f"# Benchmark `{name}`: GRPO vs PPO vs A2C at equal env transitions",
        "",
        f"Command: `{settings['command']}`  ",
        f"Machine: {settings['machine']}; seeds {settings['seeds']}; {settings['seconds']:.0f} s in all.",
        "",
    ]
    if runs:
        lines += [
            "## Control envs: final deterministic eval return",
            "",
            "Budgets count every env transition (GRPO's branch steps included). Final return: mean of "
            "the last evaluation; IQM over seeds with a 95% bootstrap CI; threshold = the zoo's solved "
            "return; train s excludes evaluations.",
            "",
            control_table(runs, thresholds),
            "",
            "Hyperparameter sources: " + "; ".join(sorted({f"{r.algo}: {r.source}" for r in runs})),
            "",
        ]
    if bandit:
        lines += [
            "## Bandits: dynamic regret (lower is better)",
            "",
            "Regret of the arm pulled on the agent's own trajectory (GRPO: member 0 of each group, an "
            "ordinary policy sample), averaged over decisions; regret / pull is the mean regret of every "
            "pull the agent made (GRPO: its own pull and the G branch pulls of each group, each scored "
            "against the means in force).",
            "",
            bandit_table(bandit),
            "",
        ]
    if skipped:
        lines += ["## Skipped", "", *[f"- {line}" for line in skipped], ""]
    lines += [
        "## Plots",
        "",
        *[f"- `{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}`" for p in pngs],
        "",
    ]
    md_path = out_dir / f"{name}.md"
    md_path.write_text("\n".join(lines))
    raw = {
        "settings": settings,
        "skipped": skipped,
        "control": [
            {**asdict(r), "final_return": r.final_return, "transitions_per_second": r.transitions_per_second}
            for r in runs
        ],
        "bandit": [
            {
                "env_id": r.env_id,
                "agent": r.agent,
                "seed": r.seed,
                "decisions": len(r.regret),
                "regret_per_decision": r.per_decision,
                "regret_per_pull": r.per_interaction,  # every pull, branch pulls included
                "interactions_per_decision": r.interactions_per_decision,
                "seconds": r.seconds,
            }
            for r in bandit
        ],
    }
    json_path = out_dir / f"{name}.json"
    json_path.write_text(json.dumps(raw, indent=1))
    return {"md": md_path, "json": json_path, **{p.stem: p for p in pngs}}


def merge_reports(
    json_paths: list[Path], out_dir: Path, name: str, thresholds: Thresholds, command: str = ""
) -> dict[str, Path]:
    """One report of the control runs of several earlier reports (seeds run at different times or places).

    :param json_paths: ``<name>.json`` files written by earlier runs
    :param out_dir: output folder
    :param name: report name
    :param thresholds: each env's "solved" return
    :param command: the command line, for the report
    :return: the paths written
    :raises ValueError: if two reports hold the same env x algo x seed, or a report holds bandit results
        (their per-decision regret is not stored, so they cannot be merged)
    """
    runs: list[RunResult] = []
    seconds = 0.0
    names = {f.name for f in fields(RunResult)}
    for path in json_paths:
        raw = json.loads(Path(path).read_text())
        if raw["bandit"]:
            raise ValueError(f"{path} holds bandit results, which cannot be merged: rerun them in one run.")
        seconds += raw["settings"]["seconds"]
        runs += [RunResult(**{k: v for k, v in entry.items() if k in names}) for entry in raw["control"]]
    keys = [(r.env_id, r.algo, r.seed) for r in runs]
    if len(set(keys)) != len(keys):
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(
            f"Runs {duplicated} appear in more than one report: merge reports of different seeds."
        )
    settings = {
        "command": command,
        "mode": "merged",
        "envs": sorted({r.env_id for r in runs}),
        "algos": sorted({r.algo for r in runs}),
        "seeds": sorted({r.seed for r in runs}),
        "merged_from": [str(p) for p in json_paths],
        "machine": f"{platform.processor() or platform.machine()} (see the merged reports)",
        "seconds": seconds,
    }
    return write_report(name, runs, [], out_dir, settings, [], thresholds)
