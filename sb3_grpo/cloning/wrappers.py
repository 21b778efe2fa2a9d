"""``CloneableWrapper``: the chain's ``get_state``/``set_state`` as methods (for ``SubprocVecEnv``)."""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle
import gymnasium as gym

from sb3_grpo.cloning.chain import STATELESS_WRAPPERS, cloner_for, get_state, make_branch_copy, set_state

_PICKLE_FIX = (
    "Make everything the env holds picklable: define the env class and the classes of its state in an "
    "importable module (not in the training script, which SubprocVecEnv workers started with 'forkserver' or "
    "'spawn' cannot import), or use SubprocVecEnv(env_fns, start_method='fork'), or DummyVecEnv."
)


class CloneableWrapper(gym.Wrapper):
    """Gives an env chain ``get_state()``/``set_state(state)`` methods covering every layer beneath it.

    Gymnasium 1.x wrappers do not forward attributes, and SB3's ``SubprocVecEnv`` reaches a sub-env only
    through ``env_method(name)``, which finds the first layer that has ``name``. Apply this wrapper last,
    for instance ``make_vec_env(env_id, n_envs, vec_env_cls=SubprocVecEnv, wrapper_class=CloneableWrapper)``
    (SB3 applies ``wrapper_class`` outside its ``Monitor``), so that the saved state covers the ``Monitor``
    statistics, the ``TimeLimit`` counter and the unwrapped env.

    The ``remote_*`` methods are what :class:`~sb3_grpo.cloning.VecEnvCloner` calls in the worker process:
    they return errors as strings instead of raising, since an exception kills a ``SubprocVecEnv`` worker.

    :param env: the env to wrap.
    """

    def get_state(self) -> Any:
        """Return the state of every layer beneath this wrapper (see :func:`sb3_grpo.cloning.get_state`)."""
        return get_state(self)

    def set_state(self, state: Any) -> None:
        """Restore a state from :meth:`get_state`.

        :param state: the saved state.
        """
        set_state(self, state)

    def remote_check(self) -> str | None:
        """Prepare cloning (choose adapters) and return ``None``, or the error message.

        :return: ``None`` when the chain can be cloned.
        """
        try:
            cloner_for(self)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    def remote_get_state(self) -> tuple[bool, Any]:
        """:meth:`get_state` that never raises.

        The first state is test-pickled here: a state that cannot be pickled would kill the worker as
        SB3 sends it back, and the main process would only see a bare ``EOFError``.

        :return: ``(True, state)``, or ``(False, error message)``.
        """
        try:
            state = get_state(self)
            if not self.__dict__.get("_sb3_grpo_state_pickles", False):
                try:
                    pickle.dumps(state)
                except Exception as error:
                    return False, (
                        f"its state cannot be pickled back to the main process ({type(error).__name__}: "
                        f"{error}). {_PICKLE_FIX}"
                    )
                self.__dict__["_sb3_grpo_state_pickles"] = True
            return True, state
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"

    def remote_set_state(self, state: Any) -> str | None:
        """:meth:`set_state` that never raises.

        :param state: the saved state.
        :return: ``None``, or the error message.
        """
        try:
            set_state(self, state)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    def remote_branch_copy(self) -> tuple[bool, Any]:
        """A deep copy of this chain without statistics wrappers (see ``make_branch_copy``), never raising.

        The copy is sent as ``cloudpickle`` bytes: classes the worker rebuilt by value (an env class
        defined in the training script, under the ``forkserver``/``spawn`` start methods) go back by
        value too, where plain pickle would kill the worker.

        :return: ``(True, cloudpickled copy)``, or ``(False, error message)``.
        """
        try:
            branch = make_branch_copy(self)
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        try:
            return True, cloudpickle.dumps(branch)
        except Exception as error:
            return False, (
                f"its branch copy cannot be pickled back to the main process ({type(error).__name__}: {error}). "
                f"{_PICKLE_FIX}"
            )


STATELESS_WRAPPERS.append(CloneableWrapper)
