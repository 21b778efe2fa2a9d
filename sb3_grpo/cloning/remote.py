"""Cloning the sub-envs of a ``SubprocVecEnv`` from the main process, with or without ``CloneableWrapper``.

SB3's worker answers ``env_method(name)`` with the first layer of the sub-env's wrapper chain that has
``name``; Gymnasium's layers have no ``get_state`` for the whole chain. :class:`RemoteCloner` is what the
main process calls in the worker: the chain's save, restore and branch copy, returning errors as strings
(an exception would kill the worker). :class:`~sb3_grpo.cloning.CloneableWrapper` carries one; without
it, :func:`install` puts one on each sub-env's outermost layer through SB3's ``env_is_wrapped``, whose
worker calls ``isinstance(layer, wrapper_class)`` on the outermost layer first: the class sent here
answers ``False`` and installs the cloner as that layer's ``_sb3_grpo_remote`` attribute (not part of
the layer's state, see ``layers.WRAPPER_BASE_ATTRIBUTES``).
"""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle
import gymnasium as gym

from sb3_grpo.cloning.chain import cloner_for, get_state, make_branch_copy, set_state
from sb3_grpo.cloning.layers import REMOTE_ATTRIBUTE

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
