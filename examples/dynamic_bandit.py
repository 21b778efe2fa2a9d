"""GRPO on the dynamic (non-stationary) multi-armed bandit, beside PPO and the classic bandit agents.

Trains GRPO on ``DynamicBandit-v0`` (10 arms whose means are re-drawn every 250 pulls) with a
progress bar, measures its dynamic regret on the trajectory it really follows, runs PPO, the
change-point detectors of the state of the art (GLR-klUCB with local and global restarts, CUSUM-klUCB,
M-klUCB), the oracle that restarts kl-UCB at the true change points, and the classic baselines (SW-UCB,
D-UCB, discounted Thompson sampling, UCB1, ...) for the same number of decisions, prints a table and
saves a plot::

    python examples/dynamic_bandit.py --decisions 5000 --plot dynamic_bandit.png

Regret is counted per *decision* (a step of the agent's own trajectory), and as the mean regret of
*every* pull: at every decision GRPO also pulls the G arms of its group on copies of the env
(``group_size`` pulls, which a real bandit would have to pay for), and those pulls have their own regret.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import sb3_grpo.envs  # noqa: F401  (registers DynamicBandit-v0)
import torch
from sb3_grpo.envs.bandit_baselines import BASELINES, make_baseline, run_agent
from sb3_grpo.zoo_configs import grpo_kwargs
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from sb3_grpo import GRPO

ENV_ID = "DynamicBandit-v0"
#: Drawn in bold in the plot: GRPO, the change-point detector of the state of the art and the oracle
#: that restarts kl-UCB at the true change points (the floor of the restarting agents).
HIGHLIGHTED: dict[str, dict[str, Any]] = {
    "GRPO": {"color": "tab:red", "lw": 2.5},
    "PPO": {"color": "tab:purple", "lw": 2.0},
    "glr_kl_ucb_local": {"color": "tab:green", "lw": 2.0},
    "glr_kl_ucb_global": {"color": "tab:green", "lw": 2.0, "ls": "--"},
    "oracle_kl_ucb": {"color": "black", "lw": 2.0},
}

#: GRPO's settings for the drifting bandit: the ``DynamicBandit-v0`` entry of ``zoo_configs/grpo.yml``, the
#: one copy that the zoo, this example and the benchmarks read (why each value: docs/benchmarks.md, "Bandit
#: settings"). Every decision costs 1 + G env pulls.
GRPO_BANDIT_KWARGS: dict[str, Any] = grpo_kwargs(ENV_ID)
#: PPO on the bandit (the zoo has no entry): SB3's defaults with small rollouts, so that it updates often.
PPO_BANDIT_KWARGS: dict[str, Any] = dict(n_steps=64, batch_size=64, learning_rate=3e-3, ent_coef=0.01)


class TrajectoryRecorder(BaseCallback):
    """
    Records, at every decision, the regret, the pulled arm, the arm means and the policy's probabilities,
    and the regret of **every** pull made for the decision.

    GRPO (``group_mode="state"``, ``branch_horizon=0``) pulls the G arms of its group on copies of the
    env restored to the decision's state, then pulls member 0's arm on the real env: G + 1 pulls, all
    scored against the same means (``info["arm_means"]``). The group's arms are the ``env_actions`` GRPO
    hands to its callbacks, so the branch pulls' regret is ``max(means) - means[arm]`` for each of them.
    For an agent without branches the only pull is its own.
    """

    def __init__(self) -> None:
        super().__init__()
        self.regret: list[float] = []
        self.pulls_regret: list[float] = []  # per decision: regret summed over every pull made for it
        self.arms: list[int] = []
        self.means: list[np.ndarray] = []
        self.probs: list[np.ndarray] = []

    def _on_step(self) -> bool:
        info = self.locals["infos"][0]
        means = np.asarray(info["arm_means"])
        self.regret.append(float(info["regret"]))
        self.means.append(means)
        # The arm pulled on the real env is the action of this step.
        actions = np.asarray(self.locals.get("env_actions", self.locals.get("clipped_actions"))).reshape(-1)
        self.arms.append(int(actions[0]))
        self.pulls_regret.append(float(info["regret"]) + self._branch_regret(actions, means))
        obs = self.locals.get("obs", self.locals.get("obs_tensor"))
        if obs is not None and hasattr(self.model.policy, "get_distribution"):
            obs_tensor, _ = self.model.policy.obs_to_tensor(np.asarray(obs)[:1])
            probs = self.model.policy.get_distribution(obs_tensor).distribution.probs  # type: ignore[attr-defined]
            self.probs.append(probs.detach().cpu().numpy()[0])
        return True

    def _branch_regret(self, actions: np.ndarray, means: np.ndarray) -> float:
        """Regret of the branch pulls of this decision (0 for an agent without branches)."""
        group_size = getattr(self.model, "group_size", None)
        if group_size is None or getattr(self.model, "group_mode", "state") != "state":
            return 0.0
        if getattr(self.model, "branch_horizon", 0) != 0 or actions.size != group_size:
            raise ValueError(
                "TrajectoryRecorder counts branch pulls of GRPO with n_envs=1, group_mode='state' and "
                f"branch_horizon=0 only (got {actions.size} actions for group_size={group_size}): a branch "
                "of H > 0 steps pulls arms the callback does not see"
            )
        branches = int(self.locals.get("n_branch_transitions", group_size))
        if branches != group_size:
            raise ValueError(
                f"{group_size - branches} branch pulls were skipped (skip_identical_groups=True?): the "
                "recorder cannot tell which; disable it to measure the regret of every pull"
            )
        return float(np.sum(means.max() - means[actions]))


@dataclass
class Result:
    """
    One agent's run.

    :param name: the agent.
    :param regret: per-decision regret of the agent's own pulls.
    :param interactions_per_decision: env pulls per decision (GRPO: 1 + G; classic agents: 1).
    :param seconds: wall time.
    :param extra: anything else (the recorder).
    :param pulls_regret: per decision, the regret summed over every pull made for it (GRPO's branch
        pulls included); ``None``: the agent's own pull is its only one.
    """

    name: str
    regret: np.ndarray
    interactions_per_decision: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    pulls_regret: np.ndarray | None = None

    @property
    def per_decision(self) -> float:
        """Mean regret of the agent's own pulls (one per decision)."""
        return float(self.regret.mean())

    @property
    def per_interaction(self) -> float:
        """Mean regret of every pull the agent made, branch pulls included."""
        total = self.regret if self.pulls_regret is None else self.pulls_regret
        return float(total.sum() / (len(total) * self.interactions_per_decision))


def train_sb3(
    model: BaseAlgorithm, decisions: int, budget: int, progress_bar: bool
) -> tuple[TrajectoryRecorder, float]:
    """Train ``model`` for ``budget`` env transitions and record its own trajectory."""
    recorder = TrajectoryRecorder()
    start = time.perf_counter()
    model.learn(budget, callback=recorder, progress_bar=progress_bar)
    return recorder, time.perf_counter() - start


def run_grpo(decisions: int, seed: int, progress_bar: bool = True, **overrides: Any) -> Result:
    """
    Train GRPO for ``decisions`` decisions on the bandit and return the regret of its own trajectory.

    :param decisions: Decisions (steps of the agent's own trajectory)
    :param seed: Seed of the env and of GRPO
    :param progress_bar: Show SB3's progress bar
    :param overrides: GRPO hyperparameters that replace :data:`GRPO_BANDIT_KWARGS`
    """
    kwargs = {**GRPO_BANDIT_KWARGS, **overrides}
    env = make_vec_env(ENV_ID, n_envs=1, seed=seed)
    model = GRPO("MlpPolicy", env, seed=seed, **kwargs)
    # Each decision costs 1 real pull + G branch pulls (H=0).
    per_decision = 1 + kwargs["group_size"] * (1 + kwargs["branch_horizon"])
    recorder, seconds = train_sb3(model, decisions, decisions * per_decision, progress_bar)
    return Result(
        "GRPO",
        np.array(recorder.regret[:decisions]),
        per_decision,
        seconds,
        extra={"recorder": recorder},
        pulls_regret=np.array(recorder.pulls_regret[:decisions]),
    )


def run_ppo(decisions: int, seed: int) -> Result:
    """PPO (SB3 defaults, small rollouts so that it updates often) on the same bandit."""
    env = make_vec_env(ENV_ID, n_envs=1, seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, **PPO_BANDIT_KWARGS)
    recorder, seconds = train_sb3(model, decisions, decisions, progress_bar=False)
    return Result("PPO", np.array(recorder.regret[:decisions]), 1.0, seconds)


def run_baselines(decisions: int, seed: int, names: list[str]) -> list[Result]:
    """The classic bandit agents of :mod:`sb3_grpo.envs.bandit_baselines` on the same env and seed."""
    results = []
    for name in names:
        env = gym.make(ENV_ID)
        start = time.perf_counter()
        out = run_agent(make_baseline(name, env), env, decisions, seed=seed)
        results.append(Result(name, out["regret"], 1.0, time.perf_counter() - start))
    return results


def print_table(results: list[Result], decisions: int) -> None:
    print(f"\nDynamic regret on {ENV_ID} over {decisions} decisions (lower is better)")
    print("| agent | regret / decision | env pulls / decision | regret / pull (every pull) | seconds |")
    print("|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: r.per_decision):
        print(
            f"| {r.name} | {r.per_decision:.4f} | {r.interactions_per_decision:g} | "
            f"{r.per_interaction:.4f} | {r.seconds:.1f} |"
        )


def plot(results: list[Result], path: str) -> None:
    """Cumulative regret of every agent, and GRPO's policy tracking the best arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grpo = next(r for r in results if r.name == "GRPO")
    recorder: TrajectoryRecorder = grpo.extra["recorder"]
    means = np.array(recorder.means[: len(grpo.regret)])
    fig, axes = plt.subplots(3, 1, figsize=(10, 11))
    ax = axes[0]
    ax.plot(means, lw=0.8)
    ax.scatter(
        np.arange(len(recorder.arms[: len(means)])),
        means[np.arange(len(means)), recorder.arms[: len(means)]],
        s=2,
        c="k",
        label="pulled arm (its mean)",
    )
    ax.set(title="Arm means over time and GRPO's pulls", xlabel="decision", ylabel="arm mean")
    ax.legend(loc="upper right")
    ax = axes[1]
    if recorder.probs:
        probs = np.array(recorder.probs[: len(means)])
        best = means.argmax(axis=1)
        ax.plot(probs[np.arange(len(probs)), best], lw=0.8, label="P(best arm)")
        ax.plot(probs.max(axis=1), lw=0.5, alpha=0.6, label="max arm probability")
        ax.set(
            title="GRPO's policy tracks the best arm after each change",
            xlabel="decision",
            ylabel="probability",
        )
        ax.legend(loc="lower right")
    ax = axes[2]
    for r in results:
        # GRPO, the state of the art (GLR-klUCB) and the oracle stand out; the other agents are thin.
        style = HIGHLIGHTED.get(r.name, {"lw": 0.8, "ls": ":"})
        ax.plot(np.cumsum(r.regret), **style, label=f"{r.name} ({r.per_decision:.3f}/decision)")
    ax.set(title="Cumulative dynamic regret of the agent's own pulls", xlabel="decision", ylabel="regret")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"saved plot to {path}")


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=3000, help="decisions per agent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="dynamic_bandit.png", help="where to save the plot ('' for none)")
    parser.add_argument("--no-ppo", action="store_true", help="skip PPO")
    parser.add_argument("--no-progress-bar", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small networks: one thread is fastest (and fair to PPO)

    print(f"Training GRPO on {ENV_ID} for {args.decisions} decisions ...")
    results = [run_grpo(args.decisions, args.seed, progress_bar=not args.no_progress_bar)]
    if not args.no_ppo:
        print("Training PPO for the same number of decisions ...")
        results.append(run_ppo(args.decisions, args.seed))
    results += run_baselines(args.decisions, args.seed, list(BASELINES))
    print_table(results, args.decisions)
    if args.plot:
        plot(results, args.plot)
    return results


if __name__ == "__main__":
    main()
