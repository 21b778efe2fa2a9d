"""The runs of the benchmark: one algorithm on one env and seed, as :class:`RunResult` / :class:`BanditResult`.

``benchmarks/run.py`` holds the env table (:class:`EnvSpec` entries) and the command line;
``benchmarks/_report.py`` turns the results into tables, plots and JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import sb3_grpo.envs  # noqa: F401  (registers the bandit env ids)
from sb3_grpo.envs.bandit_baselines import BASELINES, make_baseline, run_agent
from sb3_grpo.zoo_configs import load_entries
from stable_baselines3 import A2C, PPO
from stable_baselines3.common import callbacks as sb3_callbacks
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from benchmarks._common import Hyperparams, grpo_hyperparams, zoo_hyperparams
from examples.dynamic_bandit import PPO_BANDIT_KWARGS, Result, train_sb3
from sb3_grpo import GRPO, EvalCallback

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


class EvalCurveCallback(EvalCallback):
    """Learning curves: ``sb3_grpo.EvalCallback`` (SB3's, paced by env transitions, GRPO's branch steps
    included), which also evaluates at 0 transitions and at the end of training, and keeps the time spent
    evaluating apart from training time.

    :param eval_env: the evaluation env (never trained on)
    :param eval_freq: transitions between evaluations, counted over all sub-envs
    :param n_eval_episodes: episodes per evaluation
    """

    def __init__(self, eval_env: VecEnv, eval_freq: int, n_eval_episodes: int) -> None:
        super().__init__(
            eval_env,
            callback_after_eval=_RecordEvaluation(),
            n_eval_episodes=n_eval_episodes,
            eval_freq=eval_freq,  # per sub-env until the training env is known (_init_callback)
            deterministic=True,
            verbose=0,
            warn=False,
        )
        self.transitions_between_evals = eval_freq
        self.timesteps: list[int] = []
        self.returns: list[float] = []
        self.seconds_at: list[float] = []
        self.eval_seconds = 0.0
        self._start = 0.0

    def _init_callback(self) -> None:
        # EvalCallback's frequency counts transitions per sub-env
        self.eval_freq = max(self.transitions_between_evals // self.training_env.num_envs, 1)
        super()._init_callback()

    def _timed(self, evaluate: bool) -> bool:
        """Run the callback's step (or an evaluation now, when ``evaluate``), timing any evaluation."""
        start = time.perf_counter()
        seconds_at = start - self._start - self.eval_seconds
        n_evaluations = len(self.timesteps)
        if evaluate:  # SB3's own step with a frequency of 1: it evaluates now
            frequency, self.eval_freq = self.eval_freq, 1
            try:
                keep_going = sb3_callbacks.EvalCallback._on_step(self)
            finally:
                self.eval_freq = frequency
        else:
            keep_going = super()._on_step()
        if len(self.timesteps) > n_evaluations:
            self.seconds_at.append(seconds_at)
            self.eval_seconds += time.perf_counter() - start
        return keep_going

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._timed(evaluate=True)

    def _on_step(self) -> bool:
        return self._timed(evaluate=False)

    def _on_training_end(self) -> None:
        if not self.timesteps or self.timesteps[-1] != self.model.num_timesteps:
            self._timed(evaluate=True)


class _RecordEvaluation(BaseCallback):
    """Run by :class:`EvalCurveCallback` after each evaluation: records when it ran and its mean return."""

    def _on_step(self) -> bool:
        parent = self.parent
        assert isinstance(parent, EvalCurveCallback)
        parent.timesteps.append(int(self.model.num_timesteps))
        parent.returns.append(float(parent.last_mean_reward))
        return True


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


def make_eval_env(env_id: str, params: Hyperparams, seed: int) -> VecEnv:
    """An evaluation env of one sub-env seeded ``seed``: behind a ``VecNormalize`` that never updates its
    statistics where the config normalizes (sync them from the training env before evaluating).

    :param env_id: env id
    :param params: hyperparameters (``normalize``)
    :param seed: seed of the env
    """
    eval_env = make_vec_env(env_id, n_envs=1, seed=seed)
    if params.normalize is not None:
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False)
    return eval_env


def make_envs(env_id: str, params: Hyperparams, seed: int) -> tuple[VecEnv, VecEnv]:
    """Training and evaluation envs (``VecNormalize`` where the config normalizes; eval never updates it).

    :param env_id: env id
    :param params: hyperparameters (``n_envs``, ``normalize``)
    :param seed: seed of the training env; the eval env gets ``seed + 10_000``
    :return: (train_env, eval_env)
    """
    train_env = make_vec_env(env_id, n_envs=params.n_envs, seed=seed)
    if params.normalize is not None:
        train_env = VecNormalize(train_env, **params.normalize)
    return train_env, make_eval_env(env_id, params, seed + 10_000)


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
