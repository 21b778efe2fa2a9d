"""Save/restore the own state of one wrapper in a chain (``TimeLimit``'s counter, a custom wrapper's fields).

:func:`find_layer_handler` returns ``None`` for wrappers without state and for statistics wrappers
(:func:`is_statistics`: ``Monitor``, ``RecordEpisodeStatistics``, which record what the real env did and
are never part of a state), the listed attributes for the Gymnasium wrappers that have state, the
wrapper's own ``get_state``/``set_state`` when it defines them, and otherwise a handler that deep-copies
the wrapper's extra attributes.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, RecordEpisodeStatistics, TimeLimit
from stable_baselines3.common.monitor import Monitor

from sb3_grpo.cloning.adapters import has_native_methods

# Gymnasium's own TimeLimit even where rl_zoo3 has replaced the name by its subclass
TimeLimit = next(cls for cls in TimeLimit.__mro__ if cls.__module__.startswith("gymnasium."))  # type: ignore[misc,assignment]

#: where ``remote.install`` puts a ``SubprocVecEnv`` sub-env's ``RemoteCloner`` (not state of the wrapper)
REMOTE_ATTRIBUTE = "_sb3_grpo_remote"

#: attributes every ``gym.Wrapper`` carries that never change after construction, and the
#: ``RemoteCloner`` that ``remote.install`` or ``CloneableWrapper`` put on a sub-env's outermost layer
WRAPPER_BASE_ATTRIBUTES = frozenset(
    {
        REMOTE_ATTRIBUTE,
        "_remote",
        "env",
        "_action_space",
        "_observation_space",
        "_metadata",
        "_reward_range",
        "_cached_spec",
        "_saved_kwargs",
        "_disable_render_order_enforcing",
        "_max_episode_steps",
    }
)

#: Gymnasium wrappers whose extra attributes are configuration only
STATELESS_WRAPPER_NAMES = frozenset(
    {
        "TransformObservation",
        "TransformAction",
        "TransformReward",
        "ClipAction",
        "RescaleAction",
        "ClipReward",
        "FlattenObservation",
        "FilterObservation",
        "DtypeObservation",
        "ReshapeObservation",
        "RescaleObservation",
        "ResizeObservation",
        "GrayscaleObservation",
    }
)

#: wrapper classes with no state of their own (``CloneableWrapper`` adds itself on import)
STATELESS_WRAPPERS: list[type] = []

#: wrappers that only record statistics of the real env: left out of states and of branch copies
STATISTICS_WRAPPERS: tuple[type, ...] = (Monitor, RecordEpisodeStatistics)


class LayerHandler:
    """Saves and restores the own attributes of one wrapper."""

    def get(self, wrapper: Any) -> Any:
        """Return a snapshot of the wrapper's own state.

        :param wrapper: the wrapper.
        """
        raise NotImplementedError

    def set(self, wrapper: Any, state: Any) -> None:
        """Restore a snapshot from :meth:`get`.

        :param wrapper: the wrapper (the same one, or the same wrapper in an identical chain).
        :param state: the snapshot.
        """
        raise NotImplementedError


class AttributeHandler(LayerHandler):
    """One immutable attribute (a counter, a flag), stored by reference.

    :param name: the attribute's name.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self, wrapper: Any) -> Any:
        return wrapper.__dict__[self.name]

    def set(self, wrapper: Any, state: Any) -> None:
        wrapper.__dict__[self.name] = state


class NativeLayerHandler(LayerHandler):
    """A wrapper that defines its own ``get_state()``/``set_state(state)`` for its own attributes."""

    def get(self, wrapper: Any) -> Any:
        return wrapper.get_state()

    def set(self, wrapper: Any, state: Any) -> None:
        wrapper.set_state(state)


class DeepCopyLayerHandler(LayerHandler):
    """Unknown wrapper with extra attributes: deep-copy those attributes on save and on restore.

    :param names: the wrapper's attributes beyond those of ``gym.Wrapper``.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def get(self, wrapper: Any) -> Any:
        own = wrapper.__dict__
        return copy.deepcopy({name: own[name] for name in self.names if name in own})

    def set(self, wrapper: Any, state: Any) -> None:
        wrapper.__dict__.update(copy.deepcopy(state))


# OrderEnforcing's render flag is left out: it concerns render(), not what step()/reset() return
_BUILTIN: dict[type, AttributeHandler] = {
    TimeLimit: AttributeHandler("_elapsed_steps"),
    OrderEnforcing: AttributeHandler("_has_reset"),
}
#: built-in wrappers without state: PassiveEnvChecker's flags only decide whether its one-time API checks
#: (which warn) run; they never change what step()/reset() return
_STATELESS_BUILTIN = (PassiveEnvChecker,)


def _builtin_for(wrapper: gym.Wrapper) -> tuple[type, AttributeHandler] | None:
    """The built-in class and handler of ``wrapper``: its own class's, or a base class's when the subclass
    adds no attribute beyond the base's saved ones (rl_zoo3's ``PatchedTimeLimit``, which replaces
    ``TimeLimit`` in a process that imports the zoo but not in a ``SubprocVecEnv`` worker that does not)."""
    handler = _BUILTIN.get(type(wrapper))
    if handler is not None:
        return type(wrapper), handler
    for base, handler in _BUILTIN.items():
        if isinstance(wrapper, base) and set(vars(wrapper)) - WRAPPER_BASE_ATTRIBUTES <= {handler.name}:
            return base, handler
    return None


def is_statistics(wrapper: gym.Wrapper) -> bool:
    """Whether ``wrapper`` only records statistics (``Monitor``, ``RecordEpisodeStatistics``, subclasses).

    :param wrapper: the wrapper.
    """
    return isinstance(wrapper, STATISTICS_WRAPPERS)


def layer_label(wrapper: gym.Wrapper) -> str:
    """The name of a wrapper in a state's key: its class's, or the built-in base class's it is saved as.

    :param wrapper: the wrapper.
    """
    builtin = _builtin_for(wrapper)
    return (builtin[0] if builtin is not None else type(wrapper)).__qualname__


def find_layer_handler(wrapper: gym.Wrapper) -> LayerHandler | None:
    """Choose how to save/restore one wrapper's own state.

    :param wrapper: the wrapper.
    :return: the handler, or ``None`` when the wrapper has no state (or only statistics).
    """
    wrapper_type = type(wrapper)
    if isinstance(wrapper, (*_STATELESS_BUILTIN, *STATELESS_WRAPPERS)) or is_statistics(wrapper):
        return None
    builtin = _builtin_for(wrapper)
    if builtin is not None:
        return builtin[1]
    if has_native_methods(wrapper):
        return NativeLayerHandler()
    extra = tuple(sorted(set(vars(wrapper)) - WRAPPER_BASE_ATTRIBUTES))
    if not extra or (
        wrapper_type.__module__.startswith("gymnasium.wrappers")
        and wrapper_type.__name__ in STATELESS_WRAPPER_NAMES
    ):
        return None
    return DeepCopyLayerHandler(extra)
