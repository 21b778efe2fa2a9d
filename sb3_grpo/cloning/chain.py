"""State of a whole env: every wrapper with state, then the unwrapped env.

GRPO uses one path: save the real env's state, restore it on private branch copies
(:func:`make_branch_copy`: deep copies of the chain without its statistics wrappers). A
:class:`ChainCloner` is the plan for one chain (a handler per wrapper that has state, an adapter for the
unwrapped env); it holds no env and walks the chain it is given, so that it can be cached per env
(:func:`cloner_for`, weakly) without living on any wrapper, and so that no copy of an env carries it.

Statistics wrappers (``Monitor``, ``RecordEpisodeStatistics``) are not part of a state: they record
what the real env did, branch copies leave them out, and a state of the real env fits its branch copies
because neither key names them. Restoring in place leaves the statistics as they are (with a one-time
warning): the steps taken since the save stay counted, as they stay in the ``Monitor``'s CSV file.
"""

from __future__ import annotations

import copy
import warnings
import weakref
from typing import Any

import gymnasium as gym

from sb3_grpo.cloning.adapters import EnvAdapter, env_name, find_adapter
from sb3_grpo.cloning.layers import LayerHandler, find_layer_handler, is_statistics, layer_label
from sb3_grpo.cloning.protocol import CloningError


class ChainState:
    """A saved state, as :func:`get_state` returns it: opaque and picklable; do not build or change one.

    :param key: the env id, the labels of the wrappers with state (outermost first) and the unwrapped
        env's label: states only fit chains with the same key.
    :param values: one snapshot per wrapper with state, then the unwrapped env's.
    """

    __slots__ = ("key", "values")

    def __init__(self, key: tuple[str, ...], values: tuple[Any, ...]) -> None:
        self.key = key
        self.values = values

    def __getstate__(self) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        return self.key, self.values

    def __setstate__(self, state: tuple[tuple[str, ...], tuple[Any, ...]]) -> None:
        self.key, self.values = state

    def __repr__(self) -> str:
        return f"ChainState(env={self.key[0]!r}, layers={list(self.key[1:])})"


class ChainCloner:
    """Saves/restores the chains that look like ``env``: same wrappers with state, same env class.

    :param env: the outermost env (a wrapper or an unwrapped env).
    :raises CloningError: when the unwrapped env cannot be cloned.
    """

    def __init__(self, env: gym.Env) -> None:
        #: per layer from the outermost, how to save it (``None``: nothing to save)
        self.handlers: list[LayerHandler | None] = []
        labels = [env_name(env)]
        statistics = []
        layer: Any = env
        while isinstance(layer, gym.Wrapper):
            handler = find_layer_handler(layer)
            self.handlers.append(handler)
            if handler is not None:
                labels.append(layer_label(layer))
            elif is_statistics(layer):
                statistics.append(type(layer).__qualname__)
            layer = layer.env
        self.adapter: EnvAdapter = find_adapter(layer)
        labels.append(f"{type(layer).__qualname__}[{self.adapter.kind}]")
        #: the env id, the labels of the saved layers and the unwrapped env's (``check_cloneable``'s report)
        self.key: tuple[str, ...] = tuple(labels)
        #: the statistics wrappers of the chain, which an in-place restore leaves as they are
        self.statistics = tuple(statistics)
        self._warned = False

    @property
    def draws_from_global_generators(self) -> bool:
        """Whether the unwrapped env draws from ``np.random``/``random`` (see ``EnvAdapter``)."""
        return self.adapter.draws_from_global_generators

    @property
    def method(self) -> str:
        """How the unwrapped env is cloned: ``"native"``, ``"adapter"`` or ``"deepcopy fallback"``."""
        return self.adapter.kind

    def get_state(self, env: gym.Env) -> ChainState:
        """Snapshot every layer of ``env`` that has state.

        :param env: the env this cloner was made for (or one with the same layers).
        """
        values = []
        layer: Any = env
        for handler in self.handlers:
            if handler is not None:
                values.append(handler.get(layer))
            layer = layer.env
        values.append(self.adapter.get_state(layer))
        return ChainState(self.key, tuple(values))

    def set_state(self, env: gym.Env, state: ChainState) -> None:
        """Restore a state saved from ``env`` or from a chain with the same layers (statistics excepted).

        :param env: the env this cloner was made for.
        :param state: a value returned by :meth:`get_state`.
        :raises CloningError: when the state does not come from a matching env.
        """
        if type(state) is not ChainState:
            raise CloningError(
                "set_state expects a state returned by sb3_grpo.cloning.get_state, got "
                f"{type(state).__name__} (env {self.key[0]!r})."
            )
        if state.key != self.key:
            raise CloningError(self._mismatch(state.key))
        if self.statistics and not self._warned:
            self._warned = True
            warnings.warn(
                f"Restoring env {self.key[0]!r} in place leaves its statistics wrappers "
                f"{list(self.statistics)} as they are: the steps taken since the state was saved stay in "
                "their episode statistics. Restore on branch copies (sb3_grpo.cloning.make_branch_copy, "
                "VecEnvCloner.make_branch_envs), as GRPO does, to keep them out.",
                UserWarning,
                stacklevel=3,
            )
        values = iter(state.values)
        layer: Any = env
        for handler in self.handlers:
            if handler is not None:
                handler.set(layer, next(values))
            layer = layer.env
        self.adapter.set_state(layer, next(values))

    def _mismatch(self, theirs: tuple[str, ...]) -> str:
        if theirs[0] != self.key[0] or theirs[-1] != self.key[-1]:
            return (
                f"Cannot restore a state saved from env {theirs[0]!r} ({theirs[-1]}) into env {self.key[0]!r} "
                f"({self.key[-1]}): states only fit the env id and env class they were saved from."
            )
        return (
            f"Cannot restore a state saved from env {theirs[0]!r} with wrappers {list(theirs[1:-1])} into an "
            f"env with wrappers {list(self.key[1:-1])}: the wrappers that have state must be the same (only "
            "statistics wrappers such as Monitor may differ)."
        )


#: each env's cloner, held weakly: an env carries nothing of ours, so no copy of it carries a cloner
_CLONERS: weakref.WeakKeyDictionary[gym.Env, ChainCloner] = weakref.WeakKeyDictionary()


def cloner_for(env: gym.Env) -> ChainCloner:
    """Return the cloner of ``env`` (made on first use, then kept while ``env`` lives).

    :param env: the outermost env.
    :raises CloningError: when the env cannot be cloned.
    """
    try:
        return _CLONERS[env]
    except KeyError:
        cloner = _CLONERS[env] = ChainCloner(env)
        return cloner
    except TypeError:  # an env that is unhashable or cannot be weakly referenced: no cache
        return ChainCloner(env)


def get_state(env: gym.Env) -> ChainState:
    """Save the state of ``env``: its wrappers' counters and flags and the unwrapped env.

    The unwrapped env is saved with its own ``get_state()`` when it has one, else with a registered adapter,
    else with a verified deep copy (with a one-time warning). Statistics wrappers are not saved.

    :param env: an env, usually as returned by ``gym.make``.
    :return: an opaque, picklable state for :func:`set_state`.
    :raises CloningError: when the env cannot be cloned; the message says how to fix it.
    """
    return cloner_for(env).get_state(env)


def set_state(env: gym.Env, state: Any) -> None:
    """Put ``env`` back into a state returned by :func:`get_state`.

    ``env`` may be the env the state came from or an identical one (same id, same wrappers with state), for
    instance a branch copy from :func:`make_branch_copy`; statistics wrappers may differ.

    :param env: the env to restore.
    :param state: the saved state.
    :raises CloningError: when the state does not fit ``env``.
    """
    cloner_for(env).set_state(env, state)


def make_branch_copy(env: gym.Env) -> gym.Env:
    """Deep-copy ``env`` without its statistics wrappers, for stepping branches.

    The copy has the same dynamics wrappers (``TimeLimit``...) as ``env`` but no ``Monitor`` or
    ``RecordEpisodeStatistics``: it writes no CSV file, keeps no growing statistics and shares nothing with
    ``env``. Call :func:`set_state` on it before use.

    :param env: the env to copy.
    :return: an independent copy.
    :raises CloningError: when the env cannot be cloned or copied.
    """
    cloner = cloner_for(env)
    memo: dict[int, Any] = {}
    statistics: list[gym.Wrapper] = []
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        if is_statistics(layer):
            statistics.append(layer)
        layer = layer.env
    try:
        if getattr(layer, "render_mode", None) is not None:
            _copy_without_rendering(layer, memo)  # memo[id(layer)]: the copy, wherever the chain holds it
        for wrapper in reversed(statistics):  # innermost first: copy what it wraps, and skip it
            memo[id(wrapper)] = copy.deepcopy(wrapper.env, memo)
        return copy.deepcopy(env, memo)  # type: ignore[no-any-return]
    except Exception as error:
        raise CloningError(
            f"Cannot make a branch copy of env {cloner.key[0]!r}: copy.deepcopy of its wrapper chain failed "
            f"({type(error).__name__}: {error}). Wrappers and env must be deep-copyable to be branched."
        ) from error


def _copy_without_rendering(env: gym.Env, memo: dict[int, Any]) -> None:
    """Deep-copy an unwrapped env that renders into ``memo[id(env)]``, as a copy that does not render.

    Branches are not shown (SB3's first example trains on ``gym.make("CartPole-v1", render_mode="human")``,
    and SB3's ``make_vec_env`` gives every env ``render_mode="rgb_array"``): the copy's ``render_mode`` is
    None. The env is copied as its class copies itself (ale-py's envs pickle their emulator); only if that
    fails, attribute by attribute, with what cannot be copied (the window or surface of an env that has
    rendered: pygame surfaces, viewers) None in the copy: only ``render()`` uses it, and the copy never
    calls it. A copy missing anything else fails the runtime check of the branches' first steps.

    :param env: the unwrapped env (``render_mode`` set).
    :param memo: the deep-copy memo of the chain's copy.
    """
    clone = _deepcopy_or_none(env, memo)
    if clone is None:
        clone = object.__new__(type(env))
        memo[id(env)] = clone
        for name, value in vars(env).items():
            clone.__dict__[name] = _deepcopy_or_none(value, memo)
    clone.__dict__["render_mode"] = None


def _deepcopy_or_none(value: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy(value, memo)``, or None if it fails (then ``memo`` is left as it was).

    :param value: what to copy.
    :param memo: the deep-copy memo, extended with the copy's objects when it succeeds.
    :return: the copy, or None.
    """
    attempt = dict(memo)  # a failed copy leaves half-built objects in its memo
    try:
        copied = copy.deepcopy(value, attempt)
    except Exception:
        return None
    kept_alive = attempt.pop(id(attempt), [])  # deepcopy's list keyed by its memo's id: move it over
    memo.update(attempt)
    memo.setdefault(id(memo), []).extend(kept_alive)
    return copied
