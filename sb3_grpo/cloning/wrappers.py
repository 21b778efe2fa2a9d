"""``CloneableWrapper``: the chain's ``get_state``/``set_state`` as methods (for ``SubprocVecEnv``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from sb3_grpo.cloning.chain import get_state, set_state
from sb3_grpo.cloning.layers import STATELESS_WRAPPERS
from sb3_grpo.cloning.remote import RemoteCloner


class CloneableWrapper(gym.Wrapper):
    """Gives an env chain ``get_state()``/``set_state(state)`` methods covering every layer beneath it.

    A ``SubprocVecEnv`` needs no wrapper (:class:`~sb3_grpo.cloning.VecEnvCloner` installs what it needs
    in its workers); this one gives the methods to code of your own, and as the outermost wrapper, for
    instance ``make_vec_env(env_id, n_envs, vec_env_cls=SubprocVecEnv, wrapper_class=CloneableWrapper)``
    (SB3 applies ``wrapper_class`` outside its ``Monitor``), it answers the workers' calls itself.

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

    @property
    def _sb3_grpo_remote(self) -> RemoteCloner:
        """What :class:`~sb3_grpo.cloning.VecEnvCloner` calls in a ``SubprocVecEnv`` worker."""
        remote = self.__dict__.get("_remote")
        if remote is None:
            remote = self.__dict__["_remote"] = RemoteCloner(self)
        return remote  # type: ignore[no-any-return]


STATELESS_WRAPPERS.append(CloneableWrapper)
