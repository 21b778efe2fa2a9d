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
from collections.abc import Callable, Sequence
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor

from sb3_grpo.cloning.adapters import env_name
from sb3_grpo.cloning.chain import cloner_for, get_state, make_branch_copy, set_state
from sb3_grpo.cloning.layers import REMOTE_ATTRIBUTE
from sb3_grpo.cloning.protocol import CloningError
from sb3_grpo.cloning.rng import GlobalGenerators, restore_global_generators, save_global_generators

_PICKLE_FIX = (
    "Make everything the env holds picklable: define the env class and the classes of its state in an "
    "importable module (not in the training script, which SubprocVecEnv workers started with 'forkserver' or "
    "'spawn' cannot import), or use SubprocVecEnv(env_fns, start_method='fork'), or DummyVecEnv."
)


def _check_pickles(dump: Callable[[], bytes], what: str) -> bytes:
    """``dump()``, or a :class:`CloningError` that says ``what`` cannot be pickled back and how to fix it."""
    try:
        return dump()
    except Exception as error:
        raise CloningError(
            f"{what} cannot be pickled back to the main process ({type(error).__name__}: {error}). {_PICKLE_FIX}"
        ) from error


def answer(reply: tuple[bool, Any], index: int, failure: str, error: type[Exception] = CloningError) -> Any:
    """The result in a :class:`RemoteCloner` reply from sub-env ``index``; raises ``error`` on a failure.

    :param reply: ``(True, result)`` or ``(False, error message)``.
    :param index: the sub-env that answered.
    :param failure: what it failed to do, for the error message ("failed to save its state").
    :param error: the exception to raise.
    """
    ok, value = reply
    if not ok:
        raise error(f"Sub-env {index} of the SubprocVecEnv {failure}: {value}")
    return value


class RemoteCloner:
    """Save, restore and copy one env chain inside a ``SubprocVecEnv`` worker, never raising.

    Call it with a command and its arguments: ``cloner("get_state")``, ``cloner("set_state", state)``, ...
    Every call answers ``(True, result)`` or ``(False, error message)``: an exception raised in a worker
    would kill it, and the main process would only see a bare ``EOFError``.

    :param env: the outermost layer of the sub-env.
    """

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        self._state_pickles = False
        self.branches: list[gym.Env] = []
        #: for copies of an env that draws from ``np.random``/``random``: the worker's global generators at
        #: the group's start (what the real sub-env will draw from) and where the branches left them
        self._rewinds = False
        self._real_generators: GlobalGenerators | None = None
        self._branch_generators: GlobalGenerators | None = None

    def __call__(self, command: str, *args: Any) -> tuple[bool, Any]:
        try:
            return True, getattr(self, command)(*args)
        except CloningError as error:
            return False, str(error)
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"

    def check(self) -> None:
        """Prepare cloning (choose adapters)."""
        cloner_for(self.env)

    def get_state(self) -> Any:
        """The chain's state.

        The first state is test-pickled here: a state that cannot be pickled would kill the worker as
        SB3 sends it back.
        """
        state = get_state(self.env)
        if not self._state_pickles:
            _check_pickles(lambda: pickle.dumps(state), "its state")
            self._state_pickles = True
        return state

    def set_state(self, state: Any) -> None:
        """Restore a state.

        :param state: the saved state.
        """
        set_state(self.env, state)

    def branch_copy(self) -> bytes:
        """A deep copy of the chain without statistics wrappers (see ``make_branch_copy``).

        The copy is sent as ``cloudpickle`` bytes: classes the worker rebuilt by value (an env class
        defined in the training script, under the ``forkserver``/``spawn`` start methods) go back by
        value too, where plain pickle would kill the worker.
        """
        branch = make_branch_copy(self.env)
        return _check_pickles(lambda: cloudpickle.dumps(branch), "its branch copy")

    # ---- branch copies held in the worker (see WorkerBranches)
    def make_branches(self, n: int) -> str:
        """Make ``n`` branch copies of the chain here (see :func:`make_branch_copies`).

        :param n: how many copies.
        :return: the env's name.
        """
        self.close_branches()
        self.branches = make_branch_copies(self.env, n)
        self._rewinds = any(cloner_for(branch).draws_from_global_generators for branch in self.branches)
        return env_name(self.env)

    def restore_branches(self, members: Sequence[int]) -> None:
        """Restore the sub-env's current state on the copies ``members``.

        :param members: which copies.
        """
        state = get_state(self.env)
        for j in members:
            set_state(self.branches[j], state)
        if self._rewinds:
            self._real_generators = self._branch_generators = save_global_generators()

    def step_branches(self, members: Sequence[int], actions: np.ndarray) -> Any:
        """Step the copies ``members`` with ``actions`` (one row each).

        :return: observations, rewards and done flags.
        """
        if self._real_generators is None or self._branch_generators is None:
            return step_copies([self.branches[j] for j in members], actions)
        # the copies draw on from where they left the global generators; the real sub-env from the start
        restore_global_generators(self._branch_generators)
        try:
            return step_copies([self.branches[j] for j in members], actions)
        finally:
            self._branch_generators = save_global_generators()
            restore_global_generators(self._real_generators)

    def reset_branches(self, seed: int) -> list[Any]:
        """Reset every copy with ``seed``.

        :return: the observations.
        """
        return [branch.reset(seed=seed)[0] for branch in self.branches]

    def record_episodes(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add finished episodes to the sub-env's ``Monitor`` (see :func:`record_monitor_episodes`).

        :param rows: one ``{"r": return, "l": length}`` per episode.
        """
        record_monitor_episodes(self.env, rows)

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
    answers = call_workers(venv.remotes, {i: ("record_episodes", list(part)) for i, part in enumerate(rows)})
    for i, reply in answers.items():
        answer(reply, i, "failed to record its episodes", RuntimeError)


def call_workers(remotes: Sequence[Any], requests: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
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
    return copies_of(make_branch_copy(env), n)


def copies_of(first: gym.Env, n: int) -> list[gym.Env]:
    """``first`` and ``n - 1`` deep copies of it, each with its cloner chosen.

    :param first: a branch copy.
    :param n: how many copies in all.
    """
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
        replies = self._call_all({i: ("make_branches", group_size) for i in range(len(self.remotes))})
        self.names: list[str] = [answer(reply, i, "cannot be copied") for i, reply in replies.items()]

    def _call_all(self, requests: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Send ``RemoteCloner(*request)`` to the worker of each sub-env, then read all the answers."""
        return call_workers(self.remotes, requests)

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
        for i, reply in self._call_all(requests).items():
            answer(reply, i, "failed to restore a branch copy")

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
        for i, reply in self._call_all(requests).items():
            step_observations, step_rewards, step_done = answer(
                reply, i, "failed to step a branch copy", RuntimeError
            )
            observations += step_observations
            rewards.append(step_rewards)
            done.append(step_done)
        return observations, np.concatenate(rewards), np.concatenate(done)

    def reset(self, seeds: Sequence[int] | np.ndarray) -> list[Any]:
        """Reset the copies of each sub-env ``i`` with ``seeds[i]``.

        :return: the observations of all copies, in copy order.
        """
        replies = self._call_all({i: ("reset_branches", int(seed)) for i, seed in enumerate(seeds)})
        observations: list[Any] = []
        for i, reply in replies.items():
            observations += answer(reply, i, "failed to reset its branch copies", RuntimeError)
        return observations

    def close(self) -> None:
        """Close the copies in the workers (nothing to do once the ``SubprocVecEnv`` is closed)."""
        try:
            self._call_all({i: ("close_branches",) for i in range(len(self.remotes))})
        except (BrokenPipeError, EOFError, OSError):
            pass
