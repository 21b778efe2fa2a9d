"""Transitions per second: GRPO vs PPO with the same network, n_envs and minibatches, and GRPO's own overhead.

In one run, per env (CartPole-v1 and Pendulum-v1 by default):

* the raw env's step rate (``env.step`` in a loop with ``action_space.sample()``): the ceiling;
* ``learn()`` throughput of GRPO and PPO, in env transitions per wall second (GRPO's branch steps
  counted, as in ``num_timesteps``), with the same actor (``net_arch=[64, 64]``, tanh), ``n_envs=1``,
  the same update size (128 samples: GRPO ``n_steps=32`` x ``group_size=4``, PPO ``n_steps=128``),
  ``batch_size=64``, ``n_epochs=4``, learning rate 1e-3, one torch thread;
* GRPO's bookkeeping and cloning overhead: the time spent in ``VecEnvCloner.get_states``, in
  ``set_state`` on the branch copies, in the group buffer (``add_*``, ``compute_advantages``) and in
  repeating observations for the group, as a fraction of the time the raw env needs for the
  transitions GRPO made (target <= 30%). Timed by wrapping those functions during a second GRPO run
  (the throughput figures come from a run without the wrappers).

``--settings defaults`` runs both algorithms with their library defaults instead (GRPO's constructor
defaults, SB3's PPO defaults: the same ``[64, 64]`` tanh actor, ``n_envs=1``); the documented settings
above are ``--settings documented``, the default.

``--profile`` adds a cProfile run of GRPO (the same settings) and its breakdown: the cumulative time of
the env steps (branch copies and the real env, its ``Monitor`` included), the policy (forward pass and
sampling), cloning (saving, restoring, the runtime clone check), the group buffer, the update
(``train()``), and everything else, with the transitions per second of that run.

``--workers 1 2 4`` measures instead how GRPO and PPO scale with ``SubprocVecEnv`` (the sub-envs, and
GRPO's branch copies, stepped in worker processes) against ``DummyVecEnv`` (all in this process) at the
same ``n_envs``, with :data:`SCALING_SETTINGS` (for MuJoCo: ``pip install "gymnasium[mujoco]"``).

An Atari id (``PongNoFrameskip-v4``: ale-py, OpenCV) runs through SB3's Atari pipeline (``make_atari_env``,
4 stacked frames) with ``CnnPolicy`` for both algorithms: with ``--device cuda`` the rows where a GPU can
pay. ``--json PATH`` saves the raw measurements beside the markdown.

Usage::

    python benchmarks/throughput.py [--timesteps 20000] [--envs CartPole-v1 Pendulum-v1] [--device cpu]
                                    [--settings documented|defaults] [--profile]
                                    [--out benchmarks/results/throughput.md] [--json raw.json]
    python benchmarks/throughput.py --device cuda --envs CartPole-v1 PongNoFrameskip-v4
    python benchmarks/throughput.py --workers 1 2 4 --envs Hopper-v5 HalfCheetah-v5 [--timesteps 20000]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for `benchmarks._common`

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecFrameStack

import sb3_grpo.grpo.branching as branching
import sb3_grpo.grpo.grpo as grpo_module
from sb3_grpo import GRPO
from sb3_grpo.cloning import VecEnvCloner
from sb3_grpo.grpo.buffers import GroupRolloutBuffer

try:  # registers the ALE games (ale-py ships the ROMs), for the Atari rows
    import ale_py

    gym.register_envs(ale_py)
except ImportError:
    pass

ENV_IDS = ("CartPole-v1", "Pendulum-v1")
#: Settings shared by both algorithms.
COMMON_KWARGS: dict[str, Any] = dict(
    learning_rate=1e-3, batch_size=64, n_epochs=4, policy_kwargs=dict(net_arch=[64, 64])
)
# The settings the documented runs used (a group at every decision, as before `branch_interval`).
GRPO_KWARGS: dict[str, Any] = dict(
    n_steps=32,
    group_size=4,
    branch_horizon=8,
    branch_interval=1,
    skip_identical_groups=False,
    branch_noise="independent",
)
PPO_KWARGS: dict[str, Any] = dict(n_steps=128)
#: ``--settings``: (shared, GRPO's, PPO's) keyword arguments
SETTINGS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "documented": (COMMON_KWARGS, GRPO_KWARGS, PPO_KWARGS),
    "defaults": (dict(policy_kwargs=dict(net_arch=[64, 64])), {}, {}),
}
OVERHEAD_TARGET = 0.30
SPEEDUP_TARGET = 1.2


@dataclass
class Timers:
    """Accumulated wall time and call counts, by name."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``function`` timed under ``name``.

        :param name: timer name
        :param function: the function to time
        :return: the timed function
        """

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                self.calls[name] = self.calls.get(name, 0) + 1

        return timed


#: (owner, attribute, timer name) of what counts as GRPO's overhead, and of its env steps.
OVERHEAD_TARGETS: tuple[tuple[Any, str, str], ...] = (
    (VecEnvCloner, "get_states", "get_states"),
    (branching, "set_state", "set_state (branch copies)"),
    (GroupRolloutBuffer, "add_observations", "buffer adds"),
    (GroupRolloutBuffer, "add_scores", "buffer adds"),
    (GroupRolloutBuffer, "add_samples", "buffer adds"),
    (GroupRolloutBuffer, "compute_advantages", "group advantages"),
    (grpo_module, "_repeat_observations", "repeat observations"),
)
ENV_STEP_TARGETS: tuple[tuple[Any, str, str], ...] = (
    (branching.BranchPool, "_step", "branch env steps"),
    (DummyVecEnv, "step_wait", "own-trajectory env steps"),
)


@contextmanager
def instrumented(timers: Timers, targets: tuple[tuple[Any, str, str], ...]) -> Iterator[Timers]:
    """Time the given functions while the block runs, then put the originals back.

    :param timers: where to accumulate
    :param targets: (owner, attribute, timer name) triples
    :return: the timers
    """
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in targets]
    try:
        for (owner, attr, name), (_, _, original) in zip(targets, originals, strict=True):
            setattr(owner, attr, timers.wrap(name, original))
        yield timers
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)


def raw_env_rate(env_id: str, steps: int, seed: int = 0) -> tuple[float, float]:
    """The raw env's step rate with random actions, and its time per ``env.step`` alone.

    :param env_id: env id (``gym.make``: TimeLimit, OrderEnforcing and the checker included)
    :param steps: steps to run
    :param seed: seed
    :return: (steps per second including ``action_space.sample()``, seconds per ``env.step`` call)
    """
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    in_step = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        action = env.action_space.sample()
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        in_step += time.perf_counter() - t0
        if terminated or truncated:
            env.reset()
    total = time.perf_counter() - start
    env.close()
    return steps / total, in_step / steps


def is_atari(env_id: str) -> bool:
    """Whether ``env_id`` is an ALE game run through SB3's Atari pipeline (``make_atari_env``, 4 stacked
    frames, ``CnnPolicy``): the ``...NoFrameskip-v4`` ids that ``AtariWrapper`` expects.

    :param env_id: env id
    :return: True for an Atari id
    """
    return "NoFrameskip" in env_id


def make_env(env_id: str, seed: int) -> VecEnv:
    """One sub-env as SB3 users make it: ``make_vec_env``, or for Atari ids ``make_atari_env`` and
    ``VecFrameStack`` (the policy is then a ``CnnPolicy``).

    :param env_id: env id
    :param seed: seed
    :return: the vectorised env
    """
    if is_atari(env_id):
        return VecFrameStack(make_atari_env(env_id, n_envs=1, seed=seed), n_stack=4)
    return make_vec_env(env_id, n_envs=1, seed=seed)


def make_model(algo: str, env_id: str, seed: int, device: str, settings: str = "documented") -> BaseAlgorithm:
    """GRPO or PPO with the shared settings (the same actor: ``MlpPolicy``, or ``CnnPolicy`` for Atari).

    :param algo: ``"grpo"`` or ``"ppo"``
    :param env_id: env id
    :param seed: seed
    :param device: torch device
    :param settings: a key of :data:`SETTINGS`
    :return: the model
    """
    common, grpo_kwargs, ppo_kwargs = SETTINGS[settings]
    env = make_env(env_id, seed)
    policy = "CnnPolicy" if is_atari(env_id) else "MlpPolicy"
    if algo == "grpo":
        return GRPO(policy, env, seed=seed, device=device, **common, **grpo_kwargs)
    return PPO(policy, env, seed=seed, device=device, **common, **ppo_kwargs)


#: ``--workers``: (GRPO's, PPO's) keyword arguments, the same ``[64, 64]`` tanh actor; GRPO as in the
#: MuJoCo runs of docs/benchmarks.md (G=4, H=100, a group at every 8th decision)
SCALING_SETTINGS: tuple[dict[str, Any], dict[str, Any]] = (
    dict(
        group_size=4,
        branch_horizon=100,
        branch_interval=8,
        n_steps=8,
        batch_size=32,
        policy_kwargs=dict(net_arch=[64, 64], log_std_init=-1.0),
    ),
    dict(n_steps=512, batch_size=64, policy_kwargs=dict(net_arch=[64, 64])),
)


def scaling_rate(
    algo: str, env_id: str, n_envs: int, subproc: bool, timesteps: int, seed: int
) -> tuple[float, float]:
    """Transitions per second of ``learn`` with ``n_envs`` sub-envs in a Dummy or Subproc VecEnv, and the
    main process's CPU microseconds per transition (what the workers cannot take over).

    :param algo: ``"grpo"`` or ``"ppo"``
    :param env_id: env id
    :param n_envs: number of sub-envs (``SubprocVecEnv``: worker processes)
    :param subproc: ``SubprocVecEnv`` (else ``DummyVecEnv``)
    :param timesteps: budget (env transitions)
    :param seed: seed
    :return: transitions per wall second (the workers' start-up excluded), main-process CPU us per transition
    """
    env = make_vec_env(
        env_id, n_envs=n_envs, seed=seed, vec_env_cls=SubprocVecEnv if subproc else DummyVecEnv
    )
    grpo_kwargs, ppo_kwargs = SCALING_SETTINGS
    model: BaseAlgorithm
    if algo == "grpo":
        model = GRPO("MlpPolicy", env, seed=seed, device="cpu", **grpo_kwargs)
    else:
        model = PPO("MlpPolicy", env, seed=seed, device="cpu", **ppo_kwargs)
    try:
        rate = train_rate(model, timesteps)[0]
        return rate, model.cpu_seconds / model.num_timesteps * 1e6  # type: ignore[union-attr]
    finally:
        env.close()


def scaling_report(
    env_ids: list[str], workers: list[int], timesteps: int, seed: int
) -> tuple[str, list[dict[str, Any]]]:
    """GRPO and PPO with ``SubprocVecEnv`` against ``DummyVecEnv`` at each number of sub-envs, in one run.

    :param env_ids: env ids
    :param workers: numbers of sub-envs (``SubprocVecEnv`` workers)
    :param timesteps: budget of each run
    :param seed: seed
    :return: markdown and the measurements
    """
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for env_id in env_ids:
        for algo in ("grpo", "ppo"):
            for n_envs in workers:
                dummy, dummy_cpu = scaling_rate(algo, env_id, n_envs, False, timesteps, seed)
                subproc, subproc_cpu = scaling_rate(algo, env_id, n_envs, True, timesteps, seed)
                rows.append(
                    dict(
                        env_id=env_id,
                        algo=algo,
                        n_envs=n_envs,
                        dummy=dummy,
                        subproc=subproc,
                        dummy_cpu_us=dummy_cpu,
                        subproc_cpu_us=subproc_cpu,
                    )
                )
                print(rows[-1], flush=True)
    load_after = os.getloadavg()
    grpo_kwargs, ppo_kwargs = SCALING_SETTINGS
    lines = [
        f"SubprocVecEnv against DummyVecEnv, {timesteps} transitions per run, {os.cpu_count()} cores, 1 torch "
        f"thread; load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after. GRPO "
        f"{ {k: v for k, v in grpo_kwargs.items() if k != 'policy_kwargs'} }, PPO "
        f"{ {k: v for k, v in ppo_kwargs.items() if k != 'policy_kwargs'} }, actor [64, 64] for both.",
        "",
        "| env | algo | n_envs | DummyVecEnv transitions/s | SubprocVecEnv transitions/s | Subproc / Dummy | "
        "main-process CPU us per transition: Dummy / Subproc |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['env_id']} | {r['algo'].upper()} | {r['n_envs']} | {r['dummy']:.0f} | {r['subproc']:.0f} | "
            f"**{r['subproc'] / r['dummy']:.2f}x** | {r['dummy_cpu_us']:.0f} / {r['subproc_cpu_us']:.0f} |"
        )
    return "\n".join(lines), rows


#: ``--profile``'s categories: the functions whose cumulative time each one sums (none calls another).
PROFILE_CATEGORIES: dict[str, tuple[Callable[..., Any], ...]] = {
    "env steps": (branching.BranchPool._step, DummyVecEnv.step_wait),
    "policy forward + sampling": (GRPO._sample, GRPO._sample_continuation),
    "cloning + clone check": (
        VecEnvCloner.get_states,
        branching.set_state,
        branching.BranchPool.check_first_steps,
    ),
    "group buffer": (
        GroupRolloutBuffer.add_observations,
        GroupRolloutBuffer.add_scores,
        GroupRolloutBuffer.add_samples,
        GroupRolloutBuffer.compute_advantages,
        grpo_module._repeat_observations,
    ),
    "update (train)": (GRPO.train,),
}


def profile_grpo(env_id: str, timesteps: int, seed: int, device: str, settings: str) -> dict[str, Any]:
    """A cProfile run of GRPO and the breakdown of its wall time by :data:`PROFILE_CATEGORIES`.

    :param env_id: env id
    :param timesteps: budget (env transitions)
    :param seed: seed
    :param device: torch device
    :param settings: a key of :data:`SETTINGS`
    :return: seconds by category (``other``: the rest), total seconds, transitions per second, and the
        functions with the most time of their own
    """
    model = make_model("grpo", env_id, seed, device, settings)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    model.learn(timesteps)
    profiler.disable()
    seconds = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    cumulative = {key: value[3] for key, value in stats.stats.items()}  # type: ignore[attr-defined]

    def key(function: Callable[..., Any]) -> tuple[str, int, str]:
        code = function.__code__
        return code.co_filename, code.co_firstlineno, code.co_name

    breakdown = {
        name: sum(cumulative.get(key(function), 0.0) for function in functions)
        for name, functions in PROFILE_CATEGORIES.items()
    }
    breakdown["other"] = seconds - sum(breakdown.values())
    own = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:8]  # type: ignore[attr-defined]
    return {
        "env_id": env_id,
        "seconds": seconds,
        "rate": model.num_timesteps / seconds,
        "breakdown": breakdown,
        "top_own_time": [(f"{Path(k[0]).name}:{k[2]}", v[2]) for k, v in own],
    }


def train_rate(model: BaseAlgorithm, timesteps: int) -> tuple[float, float, float]:
    """Run ``learn`` and measure it.

    :param model: the model
    :param timesteps: budget in env transitions
    :return: (transitions per second, wall seconds, share of the wall time spent in ``train()``)
    """
    timers = Timers()
    model.train = timers.wrap("train", model.train)  # type: ignore[attr-defined]
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(timesteps)
    seconds = time.perf_counter() - start
    # this process's CPU seconds: steadier than wall time on cores shared with other jobs
    model.cpu_seconds = time.process_time() - cpu_start  # type: ignore[attr-defined]
    return model.num_timesteps / seconds, seconds, timers.seconds.get("train", 0.0) / seconds


def measure_env(
    env_id: str, timesteps: int, seed: int, device: str, settings: str = "documented"
) -> dict[str, Any]:
    """All measurements of one env.

    :param env_id: env id
    :param timesteps: budget of each ``learn`` (env transitions)
    :param seed: seed
    :param device: torch device
    :param settings: a key of :data:`SETTINGS`
    :return: a flat dict of the numbers
    """
    raw_rate, step_seconds = raw_env_rate(env_id, max(timesteps, 2000), seed)
    ppo = make_model("ppo", env_id, seed, device, settings)
    ppo_rate, ppo_seconds, ppo_train_share = train_rate(ppo, timesteps)
    grpo = make_model("grpo", env_id, seed, device, settings)
    grpo_rate, grpo_seconds, grpo_train_share = train_rate(grpo, timesteps)
    cpu_ratio = (grpo.num_timesteps / grpo.cpu_seconds) / (ppo.num_timesteps / ppo.cpu_seconds)  # type: ignore[attr-defined]
    # A second, identical run with the timers in place (they add a little time of their own).
    grpo = make_model("grpo", env_id, seed, device, settings)
    timers = Timers()
    with instrumented(timers, OVERHEAD_TARGETS + ENV_STEP_TARGETS):
        model_run = train_rate(grpo, timesteps)
    assert isinstance(grpo, GRPO)
    env_step_names = {name for _, _, name in ENV_STEP_TARGETS}
    overhead = {k: v for k, v in timers.seconds.items() if k not in env_step_names}
    raw_steps_seconds = grpo.num_timesteps * step_seconds
    measured_steps_seconds = sum(timers.seconds.get(name, 0.0) for name in env_step_names)
    return {
        "env_id": env_id,
        "raw_rate": raw_rate,
        "raw_step_us": step_seconds * 1e6,
        "ppo_rate": ppo_rate,
        "ppo_seconds": ppo_seconds,
        "ppo_train_share": ppo_train_share,
        "grpo_rate": grpo_rate,
        "grpo_seconds": grpo_seconds,
        "grpo_train_share": grpo_train_share,
        "grpo_transitions": int(grpo.num_timesteps),
        "grpo_decisions": int(grpo._n_decisions),
        "ratio": grpo_rate / ppo_rate,
        "cpu_ratio": cpu_ratio,
        "overhead_seconds": overhead,
        "overhead_total": sum(overhead.values()),
        "raw_steps_seconds": raw_steps_seconds,
        "measured_steps_seconds": measured_steps_seconds,
        "overhead_fraction": sum(overhead.values()) / raw_steps_seconds,
        "instrumented_seconds": model_run[1],
    }


def report(rows: list[dict[str, Any]], timesteps: int, device: str, settings: str = "documented") -> str:
    """The markdown tables of the measurements.

    :param rows: one dict per env from :func:`measure_env`
    :param timesteps: budget of each run
    :param device: torch device
    :param settings: a key of :data:`SETTINGS`
    :return: markdown
    """
    described = (
        "128 samples per update, batch 64, 4 epochs"
        if settings == "documented"
        else "GRPO's and PPO's default hyperparameters"
    )
    lines = [
        f"Throughput, {timesteps} transitions per run, device {device}, 1 torch thread, n_envs=1, "
        f"net_arch [64, 64], {described}.",
        "",
        "| env | raw env steps/s (random actions) | GRPO transitions/s | PPO transitions/s | GRPO / PPO | "
        "GRPO / PPO per CPU second | GRPO decisions/s | time in train(): GRPO / PPO |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        decisions_rate = r["grpo_decisions"] / r["grpo_seconds"]
        lines.append(
            f"| {r['env_id']} | {r['raw_rate']:.0f} | {r['grpo_rate']:.0f} | {r['ppo_rate']:.0f} | "
            f"**{r['ratio']:.2f}x** | {r['cpu_ratio']:.2f}x | {decisions_rate:.0f} | {r['grpo_train_share']:.0%} / "
            f"{r['ppo_train_share']:.0%} |"
        )
    lines += [
        "",
        "GRPO's overhead (group bookkeeping and cloning) as a fraction of the raw env time of the "
        "transitions it made (transitions x the raw `env.step` time):",
        "",
        "| env | raw env.step (us) | env time of its transitions (s) | get_states (s) | set_state on branches (s) "
        "| buffer + advantages + repeat (s) | overhead / raw env time | env steps as timed inside GRPO (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o = r["overhead_seconds"]
        book = o.get("buffer adds", 0.0) + o.get("group advantages", 0.0) + o.get("repeat observations", 0.0)
        lines.append(
            f"| {r['env_id']} | {r['raw_step_us']:.1f} | {r['raw_steps_seconds']:.2f} | "
            f"{o.get('get_states', 0.0):.3f} | {o.get('set_state (branch copies)', 0.0):.3f} | {book:.3f} | "
            f"**{r['overhead_fraction']:.0%}** | {r['measured_steps_seconds']:.2f} |"
        )
    lines.append("")
    for r in rows:
        speed = "met" if r["ratio"] >= SPEEDUP_TARGET else "NOT met"
        cost = "met" if r["overhead_fraction"] <= OVERHEAD_TARGET else "NOT met"
        lines.append(
            f"- {r['env_id']}: GRPO/PPO = {r['ratio']:.2f}x (target >= {SPEEDUP_TARGET}x: {speed}); "
            f"overhead {r['overhead_fraction']:.0%} of raw env time (target <= {OVERHEAD_TARGET:.0%}: {cost})."
        )
    return "\n".join(lines)


def profile_report(profiles: list[dict[str, Any]]) -> str:
    """The markdown table of :func:`profile_grpo` runs.

    :param profiles: one dict per env
    :return: markdown
    """
    names = [*PROFILE_CATEGORIES, "other"]
    lines = [
        "GRPO under cProfile: share of the wall time (cumulative time of the category's functions).",
        "",
        "| env | transitions/s (profiled) | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for p in profiles:
        shares = " | ".join(f"{p['breakdown'][name] / p['seconds']:.1%}" for name in names)
        lines.append(f"| {p['env_id']} | {p['rate']:.0f} | {shares} |")
    for p in profiles:
        top = ", ".join(f"{name} {seconds / p['seconds']:.0%}" for name, seconds in p["top_own_time"])
        lines.append(f"\n{p['env_id']}, most time of their own: {top}.")
    return "\n".join(lines)


def write_json(path: Path | None, rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Save the raw measurements with the command's arguments and the machine's description.

    :param path: where (nothing is written when None)
    :param rows: the measurements
    :param args: the parsed command line
    """
    if path is None:
        return
    machine = dict(
        cpu_count=os.cpu_count(),
        torch=torch.__version__,
        cuda=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    )
    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(arguments=arguments, machine=machine, rows=rows), indent=1) + "\n")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Command line entry point.

    :param argv: arguments (default: ``sys.argv``)
    :return: the measurements (empty when the device is unavailable)
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timesteps", type=int, default=20_000, help="env transitions per learn()")
    parser.add_argument("--envs", nargs="+", default=list(ENV_IDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cuda is skipped when absent)")
    parser.add_argument("--settings", choices=list(SETTINGS), default="documented")
    parser.add_argument("--profile", action="store_true", help="add a cProfile breakdown of GRPO")
    parser.add_argument("--workers", type=int, nargs="+", help="SubprocVecEnv vs DummyVecEnv at these n_envs")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    parser.add_argument("--json", type=Path, help="also write the measurements (raw) here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.workers:
        text, rows = scaling_report(args.envs, args.workers, args.timesteps, args.seed)
        print(text)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + "\n")
        write_json(args.json, rows, args)
        return rows
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"--device {args.device}: CUDA is not available on this machine, skipped.")
        return []
    rows = [
        measure_env(env_id, args.timesteps, args.seed, args.device, args.settings) for env_id in args.envs
    ]
    text = report(rows, args.timesteps, args.device, args.settings)
    if args.profile:
        profiles = [
            profile_grpo(env_id, args.timesteps, args.seed, args.device, args.settings)
            for env_id in args.envs
        ]
        for row, profile in zip(rows, profiles, strict=True):
            row["profile"] = profile
        text += "\n\n" + profile_report(profiles)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Throughput\n\nCommand: `python benchmarks/throughput.py "
            + " ".join(argv if argv is not None else sys.argv[1:])
            + "`\n\n"
            + text
            + "\n"
        )
    write_json(args.json, rows, args)
    return rows


if __name__ == "__main__":
    main()
