"""Cloning the sub-envs of a ``SubprocVecEnv`` from the main process, with or without ``CloneableWrapper``.

SB3's worker answers ``env_method(name)`` with the first layer of the sub-env's wrapper chain that has
``name``; Gymnasium's layers have no ``get_state`` for the whole chain. :class:`RemoteCloner` is what the
main process calls in the worker: the chain's save, restore and branch copy, returning errors as strings
(an exception would kill the worker). :class:`~sb3_grpo.cloning.CloneableWrapper` carries one; without
it, :func:`install` puts one on each sub-env's outermost layer through SB3's ``env_is_wrapped``, whose
worker calls ``isinstance(layer, wrapper_class)`` on the outermost layer first: the class sent here
answers ``False`` and installs the cloner as that layer's ``_sb3_grpo_remote`` attribute (not part of
the layer's state, see ``layers.WRAPPER_BASE_ATTRIBUTES``).

:class:`WorkerBranches` keeps GRPO's branch copies of each sub-env in its worker: the worker restores
them from its own sub-env (no state crosses the pipe) and steps them; the main process sends each worker
the actions of its copies and reads their transitions back, one round trip per worker per branch step.

:func:`record_worker_episodes` writes episodes that GRPO ran on branch copies (episode mode: the agent's own
episodes) into each worker's ``Monitor``, which the real sub-env never reports them to.
"""

from __future__ import annotations

import copy
import itertools
import pickle
import time
from collections.abc import Sequence
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor

from sb3_grpo.cloning.adapters import env_name
from sb3_grpo.cloning.chain import cloner_for, get_state, make_branch_copy, set_state
from sb3_grpo.cloning.layers import REMOTE_ATTRIBUTE
from sb3_grpo.cloning.protocol import CloningError

_PICKLE_FIX = (
    "Make everything the env holds picklable: define the env class and the classes of its state in an "
    "importable module (not in the training script, which SubprocVecEnv workers started with 'forkserver' or "
    "'spawn' cannot import), or use SubprocVecEnv(env_fns, start_method='fork'), or DummyVecEnv."
)


class RemoteCloner:
    """Save, restore and copy one env chain inside a ``SubprocVecEnv`` worker, never raising.

    Call it with a command: ``cloner("check")``, ``cloner("get_state")``, ``cloner("set_state", state)``,
    ``cloner("branch_copy")``.

    :param env: the outermost layer of the sub-env.
    """

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        self._state_pickles = False
        self.branches: list[gym.Env] = []

    def __call__(self, command: str, *args: Any) -> Any:
        return getattr(self, command)(*args)

    def check(self) -> str | None:
        """Prepare cloning (choose adapters).

        :return: ``None`` when the chain can be cloned, else the error message.
        """
        try:
            cloner_for(self.env)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    def get_state(self) -> tuple[bool, Any]:
        """The chain's state.

        The first state is test-pickled here: a state that cannot be pickled would kill the worker as
        SB3 sends it back, and the main process would only see a bare ``EOFError``.

        :return: ``(True, state)``, or ``(False, error message)``.
        """
        try:
            state = get_state(self.env)
            if not self._state_pickles:
                try:
                    pickle.dumps(state)
                except Exception as error:
                    return False, (
                        f"its state cannot be pickled back to the main process ({type(error).__name__}: "
                        f"{error}). {_PICKLE_FIX}"
                    )
                self._state_pickles = True
            return True, state
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"

    def set_state(self, state: Any) -> str | None:
        """Restore a state.

        :param state: the saved state.
        :return: ``None``, or the error message.
        """
        try:
            set_state(self.env, state)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    def branch_copy(self) -> tuple[bool, Any]:
        """A deep copy of the chain without statistics wrappers (see ``make_branch_copy``).

        The copy is sent as ``cloudpickle`` bytes: classes the worker rebuilt by value (an env class
        defined in the training script, under the ``forkserver``/``spawn`` start methods) go back by
        value too, where plain pickle would kill the worker.

        :return: ``(True, cloudpickled copy)``, or ``(False, error message)``.
        """
        try:
            branch = make_branch_copy(self.env)
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        try:
            return True, cloudpickle.dumps(branch)
        except Exception as error:
            return False, (
                f"its branch copy cannot be pickled back to the main process ({type(error).__name__}: {error}). "
                f"{_PICKLE_FIX}"
            )

    # ---- branch copies held in the worker (see WorkerBranches)
    def make_branches(self, n: int) -> tuple[bool, str]:
        """Make ``n`` branch copies of the chain here (see :func:`make_branch_copies`).

        :param n: how many copies.
        :return: ``(True, the env's name)``, or ``(False, error message)``.
        """
        try:
            self.close_branches()
            self.branches = make_branch_copies(self.env, n)
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        return True, env_name(self.env)

    def restore_branches(self, members: Sequence[int]) -> str | None:
        """Restore the sub-env's current state on the copies ``members``.

        :param members: which copies.
        :return: ``None``, or the error message.
        """
        try:
            state = get_state(self.env)
            for j in members:
                set_state(self.branches[j], state)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    def step_branches(self, members: Sequence[int], actions: np.ndarray) -> Any:
        """Step the copies ``members`` with ``actions`` (one row each).

        :return: ``(observations, rewards, done flags)``, or the error message.
        """
        try:
            return step_copies([self.branches[j] for j in members], actions)
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    def reset_branches(self, seed: int) -> Any:
        """Reset every copy with ``seed``.

        :return: the observations, or the error message.
        """
        try:
            return [branch.reset(seed=seed)[0] for branch in self.branches]
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    def record_episodes(self, rows: Sequence[dict[str, Any]]) -> str | None:
        """Add finished episodes to the sub-env's ``Monitor`` (see :func:`record_monitor_episodes`).

        :param rows: one ``{"r": return, "l": length}`` per episode.
        :return: ``None``, or the error message.
        """
        try:
            record_monitor_episodes(self.env, rows)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    def close_branches(self) -> None:
        """Close and drop the copies."""
        for branch in self.branches:
            branch.close()
        self.branches = []

    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        return None  # a branch copy does not answer the main process

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(None), ())


class _InstallOnCheck(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        # SB3's is_wrapped() asks the outermost layer first: install there, once
        if REMOTE_ATTRIBUTE not in getattr(instance, "__dict__", {REMOTE_ATTRIBUTE: None}):
            instance.__dict__[REMOTE_ATTRIBUTE] = RemoteCloner(instance)
        return False


class Installer(metaclass=_InstallOnCheck):
    """Sent to ``SubprocVecEnv.env_is_wrapped``: installs a :class:`RemoteCloner` on each sub-env."""


def install(venv: Any) -> None:
    """Give every sub-env of a ``SubprocVecEnv`` a :class:`RemoteCloner` (``env_method(REMOTE_ATTRIBUTE)``).

    :param venv: the ``SubprocVecEnv``.
    """
    venv.env_is_wrapped(Installer)


def record_monitor_episodes(env: gym.Env, rows: Sequence[dict[str, Any]]) -> None:
    """Add finished episodes to the ``Monitor`` in ``env``'s chain, as ``Monitor.step`` does at an episode's end.

    Each episode goes into the ``Monitor``'s episode lists and step count and, when it has a file, into a
    line of its CSV file (time: now, since the ``Monitor`` started). Nothing happens without a ``Monitor``.

    :param env: the outermost layer of a sub-env.
    :param rows: one ``{"r": return, "l": length}`` per episode.
    """
    monitor: Any = env
    while isinstance(monitor, gym.Wrapper) and not isinstance(monitor, Monitor):
        monitor = monitor.env
    if not isinstance(monitor, Monitor):
        return
    elapsed = time.time() - monitor.t_start
    for row in rows:
        monitor.episode_returns.append(row["r"])
        monitor.episode_lengths.append(row["l"])
        monitor.episode_times.append(elapsed)
        monitor.total_steps += row["l"]
        if monitor.results_writer is not None:
            monitor.results_writer.write_row({**row, "t": round(elapsed, 6)})


def record_worker_episodes(venv: Any, rows: Sequence[Sequence[dict[str, Any]]]) -> None:
    """Add ``rows[i]`` to the ``Monitor`` of sub-env ``i`` of a ``SubprocVecEnv``, in its worker.

    :param venv: the ``SubprocVecEnv``.
    :param rows: the episodes of each sub-env, as for :func:`record_monitor_episodes`.
    :raises RuntimeError: when a worker fails to record them.
    """
    if not venv.has_attr(REMOTE_ATTRIBUTE):
        install(venv)
    answers = _call_workers(venv.remotes, {i: ("record_episodes", list(part)) for i, part in enumerate(rows)})
    for i, message in answers.items():
        if message is not None:
            raise RuntimeError(f"Sub-env {i} of the SubprocVecEnv failed to record its episodes: {message}")


def _call_workers(remotes: Sequence[Any], requests: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
    """Send ``RemoteCloner(*request)`` to the worker of each sub-env, then read all the answers.

    :param remotes: the ``SubprocVecEnv``'s pipes, one per sub-env.
    :param requests: the command and its arguments for each sub-env index.
    :return: the answer of each sub-env index.
    """
    for i, request in requests.items():
        remotes[i].send(("env_method", (REMOTE_ATTRIBUTE, request, {})))
    return {i: remotes[i].recv() for i in requests}


def make_branch_copies(env: gym.Env, n: int) -> list[gym.Env]:
    """``n`` private copies of ``env`` for stepping branches: one ``make_branch_copy``, then deep copies of it.

    :param env: the env chain to copy.
    :param n: how many copies.
    :return: the copies (cloners chosen).
    """
    first = make_branch_copy(env)
    copies = [first] + [copy.deepcopy(first) for _ in range(n - 1)]
    for branch in copies:
        cloner_for(branch)
    return copies


def step_copies(envs: Sequence[gym.Env], actions: np.ndarray) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Step each env with its row of ``actions``.

    :return: observations, rewards and done flags (terminated or truncated).
    """
    observations = []
    rewards = np.empty(len(envs), dtype=np.float64)
    done = np.empty(len(envs), dtype=bool)
    for n, env in enumerate(envs):
        obs, reward, terminated, truncated, _ = env.step(actions[n])
        observations.append(obs)
        rewards[n] = reward
        done[n] = terminated or truncated
    return observations, rewards, done


class WorkerBranches:
    """The ``G`` branch copies of each sub-env of a ``SubprocVecEnv``, held and stepped in its worker.

    Copy ``k`` is member ``k % G`` of sub-env ``k // G``. Every call asks all the workers concerned before it
    reads any answer, so the workers step their copies in parallel.

    :param venv: the ``SubprocVecEnv`` (each worker has a :class:`RemoteCloner`, see :func:`install`).
    :param group_size: G, the copies of each sub-env.
    :raises CloningError: when a worker cannot copy its sub-env.
    """

    def __init__(self, venv: Any, group_size: int) -> None:
        self.remotes = venv.remotes
        self.group_size = group_size
        #: the name of each sub-env's env (for error messages)
        self.names: list[str] = []
        for i, (ok, value) in enumerate(
            self._call_all({i: ("make_branches", group_size) for i in range(len(self.remotes))}).values()
        ):
            if not ok:
                raise CloningError(f"Sub-env {i} of the SubprocVecEnv cannot be copied: {value}")
            self.names.append(value)

    def _call_all(self, requests: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Send ``RemoteCloner(*request)`` to the worker of each sub-env, then read all the answers."""
        return _call_workers(self.remotes, requests)

    def _by_worker(self, copies: np.ndarray) -> dict[int, slice]:
        """The positions in ``copies`` (ascending copy indices) of each worker's copies, for workers with any."""
        bounds = np.searchsorted(copies, np.arange(len(self.remotes) + 1) * self.group_size).tolist()
        return {i: slice(lo, hi) for i, (lo, hi) in enumerate(itertools.pairwise(bounds)) if hi > lo}

    def restore(self, copies: np.ndarray) -> None:
        """Restore each copy in ``copies`` to its sub-env's current state.

        :param copies: ascending copy indices.
        """
        parts = self._by_worker(copies)
        requests = {
            i: ("restore_branches", (copies[part] % self.group_size).tolist()) for i, part in parts.items()
        }
        for i, message in self._call_all(requests).items():
            if message is not None:
                raise CloningError(
                    f"Sub-env {i} of the SubprocVecEnv failed to restore a branch copy: {message}"
                )

    def step(self, copies: np.ndarray, actions: np.ndarray) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """Step ``copies`` (ascending copy indices) with ``actions`` (one row each).

        :return: observations, rewards and done flags, in the order of ``copies``.
        """
        parts = self._by_worker(copies)
        requests = {
            i: ("step_branches", (copies[part] % self.group_size).tolist(), actions[part])
            for i, part in parts.items()
        }
        observations: list[Any] = []
        rewards, done = [], []
        for i, answer in self._call_all(requests).items():
            if isinstance(answer, str):
                raise RuntimeError(
                    f"A branch copy of sub-env {i} of the SubprocVecEnv failed to step: {answer}"
                )
            observations += answer[0]
            rewards.append(answer[1])
            done.append(answer[2])
        return observations, np.concatenate(rewards), np.concatenate(done)

    def reset(self, seeds: Sequence[int] | np.ndarray) -> list[Any]:
        """Reset the copies of each sub-env ``i`` with ``seeds[i]``.

        :return: the observations of all copies, in copy order.
        """
        answers = self._call_all({i: ("reset_branches", int(seed)) for i, seed in enumerate(seeds)})
        observations: list[Any] = []
        for i, answer in answers.items():
            if isinstance(answer, str):
                raise RuntimeError(
                    f"A branch copy of sub-env {i} of the SubprocVecEnv failed to reset: {answer}"
                )
            observations += answer
        return observations

    def close(self) -> None:
        """Close the copies in the workers (nothing to do once the ``SubprocVecEnv`` is closed)."""
        try:
            self._call_all({i: ("close_branches",) for i in range(len(self.remotes))})
        except (BrokenPipeError, EOFError, OSError):
            pass
