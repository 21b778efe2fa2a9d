"""The cloning protocol that envs implement, and the error this package raises."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class CloningError(ValueError):
    """An env cannot be saved/restored, or a state does not fit the env it is restored into.

    The message names the env and says how to fix it.
    """


@runtime_checkable
class CloneableEnv(Protocol):
    """An env (unwrapped, or a wrapper) that can save and restore its own state.

    ``get_state()`` returns an opaque, picklable value. After ``set_state(state)``, repeating the same
    calls to ``step``/``reset`` must reproduce the same observations, rewards, ``terminated``,
    ``truncated`` and infos as after the moment the state was saved, random numbers included: save
    ``self.np_random.bit_generator.state`` with the rest of the state. The value must not change when the
    env moves on (return copies of mutable attributes).

    On an unwrapped env the methods cover that env only; the wrappers above it are handled by
    :func:`sb3_grpo.cloning.get_state`. On a wrapper (other than
    :class:`~sb3_grpo.cloning.CloneableWrapper`) they cover that wrapper's own attributes only.
    """

    def get_state(self) -> Any:
        """Return a picklable snapshot of the state."""

    def set_state(self, state: Any) -> None:
        """Restore a snapshot returned by :meth:`get_state`.

        :param state: a value returned by ``get_state`` on this env or an identical one.
        """
