"""Cost of cloning an env: one env step vs one save+restore with sb3_grpo.cloning vs one copy.deepcopy.

All are measured in the same run, on ``gym.make(env_id)`` envs (TimeLimit, OrderEnforcing and
PassiveEnvChecker included), as the mean over many calls (best of several repeats):

* ``save+restore``: ``set_state(env, get_state(env))``, restore in place;
* ``branch``: ``set_state(copy, get_state(env))`` on a branch copy from ``make_branch_copy`` (no
  ``Monitor``), what GRPO pays per group member;
* ``deepcopy``: ``copy.deepcopy(env)``.

Usage::

    python benchmarks/clone_cost.py [--repeats 5] [--number 2000] [--monitor] [--envs CartPole-v1 ...]

The target is save+restore <= 0.2x an env step on the classic-control envs (the first five ids).
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from collections.abc import Callable

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor

from sb3_grpo.cloning import get_state, make_branch_copy, set_state

ENV_IDS = (
    "CartPole-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
    "FrozenLake-v1",
    "Taxi-v4",
    "CliffWalking-v1",
    "Blackjack-v1",
)


def best_mean_us(call: Callable[[], object], number: int, repeats: int) -> float:
    """Mean time of ``call`` in microseconds, best of ``repeats`` runs of ``number`` calls.

    :param call: the function to time.
    :param number: calls per run.
    :param repeats: runs.
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, time.perf_counter() - start)
    return best / number * 1e6


def measure(env_id: str, number: int, repeats: int, monitor: bool) -> tuple[float, float, float, float]:
    """Return (step, save+restore, branch, deepcopy) times in microseconds for one env id.

    :param env_id: a registered env id.
    :param number: calls per timing run.
    :param repeats: timing runs (the best is kept).
    :param monitor: wrap the env in SB3's ``Monitor`` (as ``make_vec_env`` does).
    """
    env = gym.make(env_id)
    if monitor:
        env = Monitor(env)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(number)]

    def run_steps() -> None:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()

    step_us = min(_timed(run_steps) for _ in range(repeats)) / number * 1e6
    env.reset(seed=1)
    set_state(env, get_state(env))  # builds the cached cloner outside the timing
    clone_us = best_mean_us(lambda: set_state(env, get_state(env)), number, repeats)
    branch = make_branch_copy(env)
    set_state(branch, get_state(env))
    branch_us = best_mean_us(lambda: set_state(branch, get_state(env)), number, repeats)
    deepcopy_us = best_mean_us(lambda: copy.deepcopy(env), max(1, number // 20), repeats)
    env.close()
    return step_us, clone_us, branch_us, deepcopy_us


def _timed(function: Callable[[], None]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--number", type=int, default=2000, help="calls per timing run")
    parser.add_argument("--repeats", type=int, default=5, help="timing runs, best kept")
    parser.add_argument("--monitor", action="store_true", help="wrap each env in SB3's Monitor")
    parser.add_argument(
        "--envs", nargs="+", default=list(ENV_IDS), metavar="ID", help="env ids (default: all)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    header = (
        f"| env{' (+ Monitor)' if args.monitor else ''} | env.step (us) | save+restore (us) | branch (us) | "
        "deepcopy (us) | save+restore / step | branch / step | deepcopy / step |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|---|")
    for env_id in args.envs:
        step_us, clone_us, branch_us, deepcopy_us = measure(env_id, args.number, args.repeats, args.monitor)
        print(
            f"| {env_id} | {step_us:.2f} | {clone_us:.2f} | {branch_us:.2f} | {deepcopy_us:.1f} | "
            f"{clone_us / step_us:.2f}x | {branch_us / step_us:.2f}x | {deepcopy_us / step_us:.0f}x |"
        )


if __name__ == "__main__":
    main()
