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

    python benchmarks/run.py --quick                      # 1-3 min on 2 cores -> benchmarks/results/quick.*
    python benchmarks/run.py                              # full mode (hours)
    python benchmarks/run.py --envs CartPole-v1 --seeds 0 1 2 --algos grpo ppo --name cartpole
    python benchmarks/run.py --merge results/a.json results/b.json --name ab   # one report of both
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks, envs, examples

import gymnasium as gym
import numpy as np
import sb3_grpo.envs  # noqa: F401  (registers the bandit env ids)
import torch
from sb3_grpo.envs.bandit_baselines import BASELINES, make_baseline, run_agent
from sb3_grpo.zoo_configs import load_entries
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, sync_envs_normalization

from benchmarks._common import ROOT, Hyperparams, grpo_hyperparams, iqm, iqm_ci, zoo_hyperparams
from examples.dynamic_bandit import PPO_BANDIT_KWARGS, Result, train_sb3
from sb3_grpo import GRPO

RESULTS_DIR = ROOT / "benchmarks" / "results"
ALGOS = ("grpo", "grpo_episode", "ppo", "a2c")
ALGO_CLASSES: dict[str, type[BaseAlgorithm]] = {"grpo": GRPO, "grpo_episode": GRPO, "ppo": PPO, "a2c": A2C}
#: What ``grpo_episode`` changes in GRPO's entry: G whole episodes per sub-env per update.
EPISODE_MODE_OVERRIDES: dict[str, Any] = {
    "group_mode": "episode",
    "group_size": 4,
    "n_steps": 1,
    "batch_size": 256,
}


@dataclass(frozen=True)
class EnvSpec:
    """One benchmark env.

    :param env_id: Gymnasium id
    :param kind: ``"control"`` (eval return) or ``"bandit"`` (dynamic regret)
    :param threshold: the zoo's "solved" return (None: none)
    :param budget: full-mode budget: env transitions (control) or decisions (bandit)
    :param quick_budget: quick-mode budget
    :param n_evals: evaluations per run after the one at 0 transitions (control)
    :param n_eval_episodes: episodes per evaluation
    :param requires: module that must be importable (else the env is skipped)
    """

    env_id: str
    kind: str
    threshold: float | None
    budget: int
    quick_budget: int
    n_evals: int = 10
    n_eval_episodes: int = 10
    requires: str | None = None


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
#: Bandit settings of PPO/A2C (the zoo has none): short rollouts so that they update often (PPO's are
#: ``examples/dynamic_bandit.py``'s).
BANDIT_SB3_KWARGS: dict[str, dict[str, Any]] = {
    "ppo": PPO_BANDIT_KWARGS,
    "a2c": dict(n_steps=8, learning_rate=3e-3, ent_coef=0.01),
}


@dataclass
class RunResult:
    """One training run on a control env.

    :param env_id: env id
    :param algo: algorithm key
    :param seed: seed
    :param timesteps: env transitions at each evaluation
    :param returns: mean eval return at each evaluation
    :param transitions: transitions made in total (branch steps included)
    :param train_seconds: wall time of training, evaluations excluded
    :param solved_at: transitions at the first evaluation after 0 that is >= threshold (None: never)
    :param source: where the hyperparameters came from
    :param seconds_at: training wall seconds (evaluations excluded) at each evaluation
    """

    env_id: str
    algo: str
    seed: int
    timesteps: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    transitions: int = 0
    train_seconds: float = 0.0
    solved_at: int | None = None
    source: str = ""
    seconds_at: list[float] = field(default_factory=list)

    @property
    def final_return(self) -> float:
        """Mean return of the last evaluation."""
        return self.returns[-1]

    @property
    def best_return(self) -> float:
        """Mean return of the best evaluation (what keeping the best checkpoint would give)."""
        return max(self.returns)

    @property
    def solved_seconds(self) -> float | None:
        """Training wall seconds at the first evaluation that reached the threshold (None: never, or not
        recorded)."""
        if self.solved_at is None or not self.seconds_at:
            return None
        return self.seconds_at[self.timesteps.index(self.solved_at)]

    @property
    def transitions_per_second(self) -> float:
        """Training transitions per wall second (evaluations excluded)."""
        return self.transitions / max(self.train_seconds, 1e-9)


@dataclass
class BanditResult(Result):
    """One agent on one bandit for one seed: the example's :class:`Result` (``name`` is the agent), plus
    where it ran. ``regret`` is the per-decision dynamic regret on the agent's own trajectory, and
    ``interactions_per_decision`` the env pulls per decision (GRPO: 1 + its group).

    :param env_id: env id
    :param seed: seed
    """

    env_id: str = ""
    seed: int = 0

    @property
    def agent(self) -> str:
        """The agent's name."""
        return self.name


class EvalCurveCallback(BaseCallback):
    """Evaluate the model every ``eval_freq`` env transitions (``model.num_timesteps``, branches included).

    :param eval_env: the evaluation env (never trained on)
    :param eval_freq: transitions between evaluations
    :param n_eval_episodes: episodes per evaluation
    """

    def __init__(self, eval_env: VecEnv, eval_freq: int, n_eval_episodes: int) -> None:
        super().__init__()
        self.eval_env = eval_env
        self.eval_freq = eval_freq
        self.n_eval_episodes = n_eval_episodes
        self.timesteps: list[int] = []
        self.returns: list[float] = []
        self.seconds_at: list[float] = []
        self.eval_seconds = 0.0
        self._next = 0
        self._start = 0.0

    def evaluate(self) -> None:
        """Run one evaluation now and record it (its time is kept apart from training time)."""
        start = time.perf_counter()
        self.seconds_at.append(start - self._start - self.eval_seconds)
        if isinstance(self.eval_env, VecNormalize):
            sync_envs_normalization(self.model.get_env(), self.eval_env)  # type: ignore[arg-type]
        mean_return, _ = evaluate_policy(
            self.model, self.eval_env, n_eval_episodes=self.n_eval_episodes, deterministic=True
        )
        self.timesteps.append(int(self.model.num_timesteps))
        self.returns.append(float(mean_return))  # type: ignore[arg-type]
        self.eval_seconds += time.perf_counter() - start

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self.evaluate()
        self._next = self.eval_freq

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self._next:
            self.evaluate()
            while self._next <= self.model.num_timesteps:
                self._next += self.eval_freq
        return True

    def _on_training_end(self) -> None:
        if not self.timesteps or self.timesteps[-1] != self.model.num_timesteps:
            self.evaluate()


def algo_hyperparams(algo: str, env_id: str) -> Hyperparams | None:
    """The hyperparameters of ``algo`` on ``env_id`` (None: this combination is not run).

    :param algo: a key of :data:`ALGOS`
    :param env_id: env id
    :return: the hyperparameters, or None when the zoo has no entry (PPO/A2C) or ``grpo_episode``
        would repeat ``grpo``
    """
    if algo in ("ppo", "a2c"):
        return zoo_hyperparams(algo, env_id)
    params = grpo_hyperparams(env_id)
    if algo == "grpo_episode":
        if params.kwargs.get("group_mode") == "episode":
            return None
        kwargs = {k: v for k, v in params.kwargs.items() if k != "branch_horizon"}
        params = Hyperparams(
            {**kwargs, **EPISODE_MODE_OVERRIDES},
            params.n_envs,
            params.policy,
            params.normalize,
            params.source + " + episode mode",
        )
    return params


def make_envs(env_id: str, params: Hyperparams, seed: int) -> tuple[VecEnv, VecEnv]:
    """Training and evaluation envs (``VecNormalize`` where the config normalizes; eval never updates it).

    :param env_id: env id
    :param params: hyperparameters (``n_envs``, ``normalize``)
    :param seed: seed of the training env; the eval env gets ``seed + 10_000``
    :return: (train_env, eval_env)
    """
    train_env = make_vec_env(env_id, n_envs=params.n_envs, seed=seed)
    eval_env = make_vec_env(env_id, n_envs=1, seed=seed + 10_000)
    if params.normalize is not None:
        train_env = VecNormalize(train_env, **params.normalize)
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False)
    return train_env, eval_env


def run_control(
    spec: EnvSpec, algo: str, seed: int, budget: int, n_eval_episodes: int, device: str = "cpu"
) -> RunResult | None:
    """Train ``algo`` on a control env for ``budget`` transitions, evaluating along the way.

    :param spec: the env
    :param algo: a key of :data:`ALGOS`
    :param seed: seed
    :param budget: env transitions (GRPO's branch steps included)
    :param n_eval_episodes: episodes per evaluation
    :param device: torch device
    :return: the run, or None when ``algo`` is not run on this env
    """
    params = algo_hyperparams(algo, spec.env_id)
    if params is None:
        return None
    train_env, eval_env = make_envs(spec.env_id, params, seed)
    model = ALGO_CLASSES[algo](params.policy, train_env, seed=seed, device=device, **params.kwargs)
    callback = EvalCurveCallback(eval_env, max(budget // spec.n_evals, 1), n_eval_episodes)
    start = time.perf_counter()
    model.learn(budget, callback=callback)
    seconds = time.perf_counter() - start - callback.eval_seconds
    train_env.close()
    eval_env.close()
    solved = None
    if spec.threshold is not None:
        # Evaluations after training started only: an untrained deterministic policy can balance a pole.
        hits = [
            t
            for t, r in zip(callback.timesteps, callback.returns, strict=True)
            if t > 0 and r >= spec.threshold
        ]
        solved = hits[0] if hits else None
    return RunResult(
        spec.env_id,
        algo,
        seed,
        callback.timesteps,
        callback.returns,
        int(model.num_timesteps),
        seconds,
        solved,
        params.source,
        callback.seconds_at,
    )


def grpo_bandit_kwargs(env_id: str) -> tuple[dict[str, Any], str]:
    """GRPO's bandit settings: the env's ``grpo.yml`` entry, else ``DynamicBandit-v0``'s.

    :param env_id: bandit env id
    :return: (constructor kwargs, source)
    """
    key = env_id if env_id in load_entries() else "DynamicBandit-v0"
    params = grpo_hyperparams(key)
    return params.kwargs, f"{params.source} ({key})"


def run_bandit(
    env_id: str, algos: list[str], seed: int, decisions: int, device: str = "cpu"
) -> list[BanditResult]:
    """Dynamic regret of GRPO/PPO/A2C (those in ``algos``) and the classic agents on one bandit.

    :param env_id: bandit env id
    :param algos: RL algorithms to run (``grpo_episode`` is skipped: 1000-pull episodes x G)
    :param seed: seed
    :param decisions: decisions (steps of each agent's own trajectory)
    :param device: torch device
    :return: one result per agent
    """
    results = []
    for algo in algos:
        env = make_vec_env(env_id, n_envs=1, seed=seed)
        if algo == "grpo":
            kwargs, _ = grpo_bandit_kwargs(env_id)
            model: BaseAlgorithm = GRPO("MlpPolicy", env, seed=seed, device=device, **kwargs)
            per_decision = 1 + kwargs.get("group_size", 4) * (1 + kwargs.get("branch_horizon", 8))
        elif algo in BANDIT_SB3_KWARGS:
            cls = PPO if algo == "ppo" else A2C
            model = cls("MlpPolicy", env, seed=seed, device=device, **BANDIT_SB3_KWARGS[algo])
            per_decision = 1
        else:
            continue
        recorder, seconds = train_sb3(model, decisions, decisions * per_decision, False)
        regret = np.array(recorder.regret[:decisions])
        pulls = np.array(recorder.pulls_regret[:decisions])  # GRPO: its branch pulls' regret included
        results.append(
            BanditResult(algo, regret, per_decision, seconds, pulls_regret=pulls, env_id=env_id, seed=seed)
        )
    for name in BASELINES:
        bandit = gym.make(env_id)
        start = time.perf_counter()
        out = run_agent(make_baseline(name, bandit), bandit, decisions, seed=seed)
        results.append(
            BanditResult(name, out["regret"], 1.0, time.perf_counter() - start, env_id=env_id, seed=seed)
        )
    return results


# ---------------------------------------------------------------------------------------------- report
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


def control_table(runs: list[RunResult]) -> str:
    """Markdown table: one row per env x algo, with every seed's final and best evaluation.

    :param runs: control runs
    :return: the table
    """
    lines = [
        "| env | algo | final return mean +- std | IQM [95% CI] | final per seed | best per seed | transitions to threshold: median [min-max] (solved) | train s to threshold (median) | transitions | train s | transitions/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for env_id, by_algo in group_runs(runs, "algo").items():
        threshold = ENVS[env_id].threshold if env_id in ENVS else None
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


def plot_curves(runs: list[RunResult], out_dir: Path, prefix: str = "") -> list[Path]:
    """One PNG per control env: mean eval return vs transitions, shaded min-max across seeds.

    :param runs: control runs
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
        threshold = ENVS[env_id].threshold if env_id in ENVS else None
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
) -> dict[str, Path]:
    """Write ``<name>.md``, ``<name>.json`` and the PNGs into ``out_dir``.

    :param name: report name (the mode)
    :param runs: control runs
    :param bandit: bandit results
    :param out_dir: output folder
    :param settings: how the benchmark was run (written in both files)
    :param skipped: lines saying what was skipped and why
    :return: the paths written, by kind
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # Only the default full run writes the unprefixed plots the README shows; any other name (quick_...)
    # keeps its own.
    prefix = "" if name == "full" else f"{name}_"
    pngs = (plot_curves(runs, out_dir, prefix) if runs else []) + (
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
            control_table(runs),
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
        return write_report(name, runs, bandit, out_dir, settings, skipped)

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


def merge_reports(json_paths: list[Path], out_dir: Path, name: str, command: str = "") -> dict[str, Path]:
    """One report of the control runs of several earlier reports (seeds run at different times or places).

    :param json_paths: ``<name>.json`` files written by earlier runs
    :param out_dir: output folder
    :param name: report name
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
    return write_report(name, runs, [], out_dir, settings, [])


def main(argv: list[str] | None = None) -> dict[str, Path]:
    """Command line entry point.

    :param argv: arguments (default: ``sys.argv``)
    :return: the paths written
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small budgets, CartPole + bandits, 2 seeds (~5 min)"
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
        paths = merge_reports(args.merge, args.out, args.name or "merged", command=command.strip())
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
