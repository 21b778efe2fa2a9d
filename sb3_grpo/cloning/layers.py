"""Save/restore the own state of one wrapper in a chain (``TimeLimit`` counters, ``Monitor`` statistics...).

:func:`find_layer_handler` returns ``None`` for wrappers without state, a built-in handler for the
Gymnasium and SB3 wrappers that have state, the wrapper's own ``get_state``/``set_state`` when it defines
them, and otherwise a handler that deep-copies the wrapper's extra attributes.
"""

from __future__ import annotations

import copy
from collections import deque
from operator import attrgetter
from typing import Any

import gymnasium as gym
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, RecordEpisodeStatistics, TimeLimit
from stable_baselines3.common.monitor import Monitor

from sb3_grpo.cloning.protocol import CloningError

# Gymnasium's own TimeLimit even where rl_zoo3 has replaced the name by its subclass
TimeLimit = next(cls for cls in TimeLimit.__mro__ if cls.__module__.startswith("gymnasium."))  # type: ignore[misc,assignment]

#: where :func:`sb3_grpo.cloning.chain.cloner_for` caches an env's cloner (not state of the wrapper)
CACHE_ATTRIBUTE = "_sb3_grpo_chain_cloner"

#: where ``remote.install`` puts a ``SubprocVecEnv`` sub-env's ``RemoteCloner`` (not state of the wrapper)
REMOTE_ATTRIBUTE = "_sb3_grpo_remote"

#: attributes every ``gym.Wrapper`` carries that never change after construction (and our cache slot,
#: which a deep copy carries onto a branch copy's outermost wrapper)
WRAPPER_BASE_ATTRIBUTES = frozenset(
    {
        CACHE_ATTRIBUTE,
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


class LayerHandler:
    """Saves and restores the own attributes of one wrapper."""

    #: the wrapper only records statistics: branch copies may drop it, its state never changes dynamics
    stats_only: bool = False
    #: immutable attributes saved by reference; the chain reads all of them in one ``attrgetter`` call
    flat: tuple[str, ...] = ()
    #: whether :meth:`get`/:meth:`set` save anything beyond :attr:`flat`
    has_rest: bool = True
    #: for flags that only ever move one way: values of :attr:`flat` (same order) that the wrapper never
    #: changes again once they all hold; while they do, states leave them out (see ``chain.ChainCloner``)
    settled: tuple[Any, ...] | None = None

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


class AttributesHandler(LayerHandler):
    """Immutable attribute values (counters, flags), stored by reference.

    :param names: the attribute names.
    :param settled: see :attr:`LayerHandler.settled`; only for flags that the wrapper's own code moves
        one way and never back.
    """

    has_rest = False

    def __init__(self, *names: str, settled: tuple[Any, ...] | None = None) -> None:
        if settled is not None and len(settled) != len(names):
            raise ValueError(f"settled needs one value per attribute {names}, got {settled}")
        self.names = names
        self.flat = names
        self.settled = settled
        self._get = attrgetter(*names)

    def get(self, wrapper: Any) -> Any:
        return self._get(wrapper)

    def set(self, wrapper: Any, state: Any) -> None:
        if len(self.names) == 1:
            wrapper.__dict__[self.names[0]] = state
        else:
            wrapper.__dict__.update(zip(self.names, state, strict=False))


class RecordEpisodeStatisticsHandler(LayerHandler):
    """``gymnasium.wrappers.RecordEpisodeStatistics``: running episode sums and the bounded queues."""

    stats_only = True
    _scalars = attrgetter("episode_count", "episode_start_time", "episode_returns", "episode_lengths")

    def get(self, wrapper: Any) -> Any:
        return (
            self._scalars(wrapper),
            tuple(wrapper.time_queue),
            tuple(wrapper.return_queue),
            tuple(wrapper.length_queue),
        )

    def set(self, wrapper: Any, state: Any) -> None:
        scalars, times, returns, lengths = state
        (
            wrapper.episode_count,
            wrapper.episode_start_time,
            wrapper.episode_returns,
            wrapper.episode_lengths,
        ) = scalars
        for name, values in (("time_queue", times), ("return_queue", returns), ("length_queue", lengths)):
            queue: deque[Any] = getattr(wrapper, name)
            queue.clear()
            queue.extend(values)


class MonitorState:
    """Snapshot of an SB3 ``Monitor``, O(1) to take.

    The current episode's reward list is referenced, not copied (``Monitor`` only appends to it and
    replaces it on reset; a restore installs a copy). The all-time episode lists are referenced by a
    version number known to the ``Monitor``'s handler, so pickling a state (``SubprocVecEnv``) ships only
    the current episode's rewards, not the whole training history.
    """

    __slots__ = ("lengths", "needs_reset", "reset_info", "rewards", "total_steps", "version")

    def __init__(
        self,
        needs_reset: bool,
        total_steps: int,
        rewards: list[float],
        version: int,
        lengths: tuple[int, int, int, int],
        reset_info: dict[str, Any] | None,
    ) -> None:
        self.needs_reset = needs_reset
        self.total_steps = total_steps
        self.rewards = rewards
        self.version = version
        self.lengths = lengths
        self.reset_info = reset_info

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        rewards = self.rewards[: self.lengths[0]]
        return (
            MonitorState,
            (self.needs_reset, self.total_steps, rewards, self.version, self.lengths, self.reset_info),
        )

    def __repr__(self) -> str:
        return (
            f"MonitorState(needs_reset={self.needs_reset}, total_steps={self.total_steps}, "
            f"episode_len={self.lengths[0]}, episodes={self.lengths[1]})"
        )


class MonitorHandler(LayerHandler):
    """SB3 ``Monitor``: the current episode's rewards, the episode lists, counters, reset info.

    Restoring a ``Monitor`` in place undoes the branch steps in every statistic it reports; rows already
    written to its CSV file cannot be taken back (branch on copies, as :class:`VecEnvCloner` does, to
    avoid them).

    :param max_versions: how many generations of episode lists (one per in-place restore) stay
        restorable.
    """

    stats_only = True

    def __init__(self, max_versions: int = 64) -> None:
        self.max_versions = max_versions
        self._versions: dict[int, tuple[list[Any], list[Any], list[Any]]] = {}
        self._version = -1

    def _lists(self, monitor: Any) -> tuple[list[Any], list[Any], list[Any]]:
        return (monitor.episode_returns, monitor.episode_lengths, monitor.episode_times)

    def _current_version(self, monitor: Any) -> int:
        known = self._versions.get(self._version)
        if (
            known is None
            or known[0] is not monitor.episode_returns
            or known[1] is not monitor.episode_lengths
            or known[2] is not monitor.episode_times
        ):
            self._version += 1
            self._versions[self._version] = self._lists(monitor)
            while len(self._versions) > self.max_versions:
                del self._versions[min(self._versions)]
        return self._version

    def get(self, wrapper: Any) -> MonitorState:
        version = self._current_version(wrapper)
        reset_info = dict(wrapper.current_reset_info) if wrapper.current_reset_info else None
        lengths = (
            len(wrapper.rewards),
            len(wrapper.episode_returns),
            len(wrapper.episode_lengths),
            len(wrapper.episode_times),
        )
        return MonitorState(
            wrapper.needs_reset, wrapper.total_steps, wrapper.rewards, version, lengths, reset_info
        )

    def set(self, wrapper: Any, state: MonitorState) -> None:
        lists = self._versions.get(state.version)
        if lists is None:
            raise CloningError(
                f"This Monitor state is too old to restore: its episode statistics (version {state.version}) "
                f"were dropped after more than {self.max_versions} in-place restores, or it comes from "
                "another Monitor. Take a fresh state with get_state()."
            )
        wrapper.needs_reset = state.needs_reset
        wrapper.total_steps = state.total_steps
        n_rewards, n_returns, n_lengths, n_times = state.lengths
        # lists are only ever appended to, so an unchanged length means unchanged content; anything else
        # gets a fresh copy of the saved prefix (truncating in place would corrupt other saved states)
        if not (wrapper.rewards is state.rewards and len(state.rewards) == n_rewards):
            wrapper.rewards = list(state.rewards[:n_rewards])
        current = self._versions.get(self._version)
        unchanged = (
            state.version == self._version
            and current is not None
            and current[0] is wrapper.episode_returns
            and len(wrapper.episode_returns) == n_returns
            and len(wrapper.episode_lengths) == n_lengths
            and len(wrapper.episode_times) == n_times
        )
        if not unchanged:
            wrapper.episode_returns = lists[0][:n_returns]
            wrapper.episode_lengths = lists[1][:n_lengths]
            wrapper.episode_times = lists[2][:n_times]
            self._current_version(wrapper)
        if state.reset_info or wrapper.current_reset_info:
            wrapper.current_reset_info = dict(state.reset_info) if state.reset_info else {}


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


# render and close flags are left out: they concern render()/close(), not what step()/reset() return.
# The flags below only move one way in Gymnasium's code (checked in tests/test_cloning.py): the first
# reset() sets ``_has_reset`` and ``checked_reset`` to True, the first step() ``checked_step``, the
# second step() ``checked_data_reuse`` (dropping ``_previous_data``), and nothing sets them back. Once
# all hold, a chain's states leave them out.
_PASSIVE_CHECKER = AttributesHandler(
    "checked_reset", "checked_step", "checked_data_reuse", "_previous_data", settled=(True, True, True, None)
)
_BUILTIN: dict[type, LayerHandler] = {
    TimeLimit: AttributesHandler("_elapsed_steps"),
    OrderEnforcing: AttributesHandler("_has_reset", settled=(True,)),
    PassiveEnvChecker: _PASSIVE_CHECKER,
    RecordEpisodeStatistics: RecordEpisodeStatisticsHandler(),
}


def _builtin_for(wrapper: gym.Wrapper) -> tuple[type, LayerHandler] | None:
    """The built-in class and handler of ``wrapper``: its own class's, or a base class's when the subclass
    adds no attribute beyond the base's saved ones (rl_zoo3's ``PatchedTimeLimit``, which replaces
    ``TimeLimit`` in a process that imports the zoo but not in a ``SubprocVecEnv`` worker that does not)."""
    wrapper_type = type(wrapper)
    handler = _BUILTIN.get(wrapper_type)
    if handler is not None:
        return wrapper_type, handler
    for base, handler in _BUILTIN.items():
        if (
            handler.flat
            and isinstance(wrapper, base)
            and set(vars(wrapper)) - WRAPPER_BASE_ATTRIBUTES <= set(handler.flat)
        ):
            return base, handler
    return None


def layer_label(wrapper: gym.Wrapper) -> str:
    """The name of a wrapper in a state's key: its class's, or the built-in base class's it is saved as.

    :param wrapper: the wrapper.
    """
    builtin = _builtin_for(wrapper)
    return (builtin[0] if builtin is not None else type(wrapper)).__qualname__


def find_layer_handler(wrapper: gym.Wrapper, skip: tuple[type, ...] = ()) -> LayerHandler | None:
    """Choose how to save/restore one wrapper's own state.

    :param wrapper: the wrapper.
    :param skip: wrapper classes known to have no state of their own.
    :return: the handler, or ``None`` when the wrapper has no state.
    """
    wrapper_type = type(wrapper)
    if isinstance(wrapper, skip):
        return None
    if isinstance(wrapper, Monitor):
        return MonitorHandler()  # one per Monitor: it keeps that Monitor's episode-list versions
    builtin = _builtin_for(wrapper)
    if builtin is not None:
        return builtin[1]
    if callable(getattr(wrapper_type, "get_state", None)) and callable(
        getattr(wrapper_type, "set_state", None)
    ):
        return NativeLayerHandler()
    extra = tuple(sorted(set(vars(wrapper)) - WRAPPER_BASE_ATTRIBUTES))
    if not extra:
        return None
    if (
        wrapper_type.__module__.startswith("gymnasium.wrappers")
        and wrapper_type.__name__ in STATELESS_WRAPPER_NAMES
    ):
        return None
    return DeepCopyLayerHandler(extra)
