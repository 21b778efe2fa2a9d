"""Batch save/restore over an SB3 ``VecEnv`` (``DummyVecEnv`` or ``SubprocVecEnv``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cloudpickle
import gymnasium as gym
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper

from sb3_grpo.cloning.chain import ChainCloner, cloner_for
from sb3_grpo.cloning.layers import REMOTE_ATTRIBUTE
from sb3_grpo.cloning.protocol import CloningError
from sb3_grpo.cloning.remote import answer, call_workers, copies_of, install, make_branch_copies


class VecEnvCloner:
    """Save and restore all sub-envs of a ``VecEnv`` at once, and make branch copies of one sub-env.

    With a ``DummyVecEnv`` the states are read in this process. With a ``SubprocVecEnv`` each batch call is
    one round trip to the workers (all workers are asked before any answer is read) and the states are
    pickled across. The sub-envs need no wrapper: a :class:`~sb3_grpo.cloning.remote.RemoteCloner` is
    installed in each worker (see :mod:`sb3_grpo.cloning.remote`), or a
    :class:`~sb3_grpo.cloning.CloneableWrapper` answers.

    :param venv: a ``DummyVecEnv`` or ``SubprocVecEnv``, possibly inside ``VecEnvWrapper``\\ s
        (``VecNormalize``, ``VecMonitor``...), which are looked through: their own state is not saved.
    :raises CloningError: when a sub-env cannot be cloned (the message names it and the fix).
    """

    def __init__(self, venv: VecEnv) -> None:
        base = venv
        while isinstance(base, VecEnvWrapper):
            base = base.venv
        self.venv = base
        #: the sub-envs and their cloners, for a ``DummyVecEnv`` (``None`` for a ``SubprocVecEnv``)
        self._cloners: list[tuple[gym.Env, ChainCloner]] | None = None
        if isinstance(base, DummyVecEnv):
            cloners = []
            for index, env in enumerate(base.envs):
                try:
                    cloners.append((env, cloner_for(env)))
                except CloningError as error:
                    raise CloningError(f"Sub-env {index} of the DummyVecEnv: {error}") from error
            self._cloners = cloners
        elif isinstance(base, SubprocVecEnv):
            if not base.has_attr(REMOTE_ATTRIBUTE):  # a CloneableWrapper has one; else install one
                install(base)
            for index, reply in enumerate(base.env_method(REMOTE_ATTRIBUTE, "check")):
                answer(reply, index, "cannot be cloned")
        else:
            raise CloningError(
                f"VecEnvCloner supports DummyVecEnv and SubprocVecEnv (possibly wrapped), got "
                f"{type(base).__name__}."
            )

    @property
    def num_envs(self) -> int:
        """Number of sub-envs."""
        return int(self.venv.num_envs)

    def _indices(self, indices: Sequence[int] | None) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        chosen = [int(i) for i in indices]
        for i in chosen:
            if not 0 <= i < self.num_envs:
                raise IndexError(f"sub-env index {i} out of range for {self.num_envs} envs")
        return chosen

    def get_states(self, indices: Sequence[int] | None = None) -> list[Any]:
        """Save the states of several sub-envs.

        :param indices: which sub-envs (all by default).
        :return: one state per index, for :meth:`set_states` or :func:`~sb3_grpo.cloning.set_state` on a
            branch copy.
        """
        if self._cloners is not None:
            cloners = self._cloners
            if indices is None:
                return [cloner.get_state(env) for env, cloner in cloners]
            return [cloners[i][1].get_state(cloners[i][0]) for i in self._indices(indices)]
        chosen = self._indices(indices)
        replies = self.venv.env_method(REMOTE_ATTRIBUTE, "get_state", indices=chosen)
        return [
            answer(reply, index, "failed to save its state")
            for index, reply in zip(chosen, replies, strict=True)
        ]

    def set_states(self, states: Sequence[Any], indices: Sequence[int] | None = None) -> None:
        """Restore states into the real sub-envs, in place (their ``Monitor`` statistics are left as they are).

        :param states: one state per index, from :meth:`get_states`.
        :param indices: which sub-envs (all by default).
        """
        chosen = self._indices(indices)
        if len(states) != len(chosen):
            raise ValueError(f"got {len(states)} states for {len(chosen)} sub-envs")
        if self._cloners is not None:
            for i, state in zip(chosen, states, strict=True):
                env, cloner = self._cloners[i]
                cloner.set_state(env, state)
            return
        requests = {i: ("set_state", state) for i, state in zip(chosen, states, strict=True)}
        for i, reply in call_workers(self.venv.remotes, requests).items():  # type: ignore[attr-defined]
            answer(reply, i, "failed to restore a state")

    def make_branch_envs(self, index: int, n: int) -> list[gym.Env]:
        """Make ``n`` private copies of sub-env ``index`` in this process, for stepping branches.

        Each copy is a deep copy of the sub-env's wrapper chain without its statistics wrappers (no
        ``Monitor``: no CSV rows, no growing lists, nothing shared with the real sub-env), so it keeps the
        ``TimeLimit`` and the other wrappers that change what ``step`` returns. For a ``SubprocVecEnv`` the
        worker makes one such copy beneath its ``CloneableWrapper`` and pickles it back; the others are deep
        copies of it. Step the copies with ``env.step``/``env.reset`` (they never auto-reset) after
        :func:`~sb3_grpo.cloning.set_state` with a state from :meth:`get_states`.

        :param index: which sub-env.
        :param n: how many copies.
        :return: the copies.
        """
        (index,) = self._indices([index])
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if self._cloners is not None:
            return make_branch_copies(self._cloners[index][0], n)
        (reply,) = self.venv.env_method(REMOTE_ATTRIBUTE, "branch_copy", indices=[index])
        return copies_of(cloudpickle.loads(answer(reply, index, "cannot be copied")), n)
