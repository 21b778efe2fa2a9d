"""State of a whole env: every wrapper with state, plus the unwrapped env.

The first :func:`get_state`/:func:`set_state` on an env builds a :class:`ChainCloner` (which wrapper
needs what, which adapter fits the unwrapped env) and caches it on the env, so later calls only read and
write attributes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import gymnasium as gym

from sb3_grpo.cloning.adapters import EnvAdapter, env_name, find_adapter
from sb3_grpo.cloning.layers import LayerHandler, find_layer_handler
from sb3_grpo.cloning.protocol import CloningError

_CACHE_ATTRIBUTE = "_sb3_grpo_chain_cloner"
#: wrapper classes that hold no state of their own (CloneableWrapper adds itself on import)
STATELESS_WRAPPERS: list[type] = []


class ChainState:
    """The saved state of an env and its wrappers. Opaque and picklable.

    :param key: the env id, then one label per saved layer, outermost first; statistics-only layers
        (``Monitor``, ``RecordEpisodeStatistics``) are prefixed with ``"stats:"``.
    :param flat: the immutable attribute values of all layers (counters, flags, state arrays).
    :param rest: one snapshot per layer that saves more than plain attributes (RNG, statistics...).
    """

    __slots__ = ("flat", "key", "rest")

    def __init__(self, key: tuple[str, ...], flat: tuple[Any, ...], rest: tuple[Any, ...]) -> None:
        self.key = key
        self.flat = flat
        self.rest = rest

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (ChainState, (self.key, self.flat, self.rest))

    def __repr__(self) -> str:
        return f"ChainState(env={self.key[0]!r}, layers={list(self.key[1:])})"


class _CacheSlot:
    """Holds an env's cached :class:`ChainCloner`; pickles and deep-copies as empty."""

    __slots__ = ("cloner",)

    def __init__(self, cloner: ChainCloner | None = None) -> None:
        self.cloner = cloner

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_CacheSlot, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> _CacheSlot:
        return _CacheSlot()


_Setter = Callable[[Any, Any], None]


class ChainCloner:
    """Saves/restores one env chain. Built once per env by :func:`cloner_for`.

    Plain attributes of every layer (``TimeLimit._elapsed_steps``, CartPole's ``state``...) are read with a
    single ``operator.attrgetter`` on dotted paths and written straight into the layers' ``__dict__``;
    only what needs code (the RNG, ``Monitor`` statistics, native ``get_state``) goes through calls.

    :param env: the outermost env (a wrapper or an unwrapped env).
    :raises CloningError: when the unwrapped env cannot be cloned.
    """

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        labels: list[str] = [env_name(env)]
        paths: list[str] = []
        self._flat_targets: list[tuple[dict[str, Any], str]] = []
        getters: list[tuple[Callable[[Any], Any], Any]] = []
        setters: list[tuple[_Setter, Any]] = []
        rest_labels: list[str] = []
        layer: Any = env
        prefix = ""
        skip = tuple(STATELESS_WRAPPERS)
        while isinstance(layer, gym.Wrapper):
            handler: LayerHandler | None = find_layer_handler(layer, skip)
            if handler is not None:
                label = ("stats:" if handler.stats_only else "") + type(layer).__qualname__
                labels.append(label)
                assert not (handler.stats_only and handler.flat), "statistics layers save no flat attributes"
                for name in handler.flat:
                    paths.append(prefix + name)
                    self._flat_targets.append((layer.__dict__, name))
                if handler.has_rest:
                    getters.append((handler.get, layer))
                    setters.append((handler.set, layer))
                    rest_labels.append(label)
            layer = layer.env
            prefix += "env."
        self.unwrapped = layer
        self.adapter: EnvAdapter = find_adapter(layer)
        label = f"{type(layer).__qualname__}[{self.adapter.kind}]"
        labels.append(label)
        for name in self.adapter.flat:
            paths.append(prefix + name)
            self._flat_targets.append((layer.__dict__, name))
        if self.adapter.has_rest:
            getters.append((self.adapter.get_rest, layer))
            setters.append((self.adapter.set_rest, layer))
            rest_labels.append(label)
        self.key = tuple(labels)
        self._rest_labels = tuple(rest_labels)
        if len(paths) > 1:
            self._get_flat: Callable[[Any], tuple[Any, ...]] = attrgetter(*paths)
        elif paths:
            single = attrgetter(paths[0])
            self._get_flat = lambda root: (single(root),)
        else:
            self._get_flat = lambda root: ()
        self._set_flat: Callable[[tuple[Any, ...]], None] = self._set_flat_loop
        if self._flat_targets:
            compiled_get, self._set_flat = _compile_flat_accessors(self._flat_targets)
            if all(name in target for target, name in self._flat_targets):
                self._get_flat = compiled_get
        self._getters = tuple(getters)
        self._setters = tuple(setters)
        if len(getters) == 1:
            (get_one, layer_one), (set_one, _) = getters[0], setters[0]
            self._get_rest: Callable[[], tuple[Any, ...]] = lambda: (get_one(layer_one),)
            self._set_rest: Callable[[tuple[Any, ...]], None] = lambda rest: set_one(layer_one, rest[0])
        else:
            self._get_rest = lambda: tuple([get(layer) for get, layer in self._getters])
            self._set_rest = self._set_rest_all
        self._plans: dict[tuple[str, ...], tuple[tuple[_Setter, Any, int], ...]] = {}

    @property
    def method(self) -> str:
        """How the unwrapped env is cloned: ``"native"``, ``"adapter"`` or ``"deepcopy fallback"``."""
        return self.adapter.kind

    def get_state(self) -> ChainState:
        """Snapshot every layer.

        :return: the state.
        """
        return ChainState(self.key, self._get_flat(self.env), self._get_rest())

    def set_state(self, state: ChainState) -> None:
        """Restore a state taken from this chain or from one with the same layers.

        A state from a chain with extra statistics-only wrappers (a ``Monitor``) fits a chain without them
        (a branch copy); the statistics are then simply not restored.

        :param state: a value returned by :meth:`get_state`.
        :raises CloningError: when the state does not come from a matching env.
        """
        if type(state) is not ChainState:
            raise CloningError(
                "set_state expects a state returned by sb3_grpo.cloning.get_state, got "
                f"{type(state).__name__} (env {self.key[0]!r})."
            )
        key = state.key
        if key is self.key or key == self.key:
            self._set_flat(state.flat)
            self._set_rest(state.rest)
            return
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._match(key)
        self._set_flat(state.flat)
        rest = state.rest
        for set_layer, layer, index in plan:
            set_layer(layer, rest[index])

    def _set_flat_loop(self, flat: tuple[Any, ...]) -> None:
        for (target, name), value in zip(self._flat_targets, flat, strict=True):
            target[name] = value

    def _set_rest_all(self, rest: tuple[Any, ...]) -> None:
        for (set_layer, layer), value in zip(self._setters, rest, strict=True):
            set_layer(layer, value)

    def _match(self, key: tuple[str, ...]) -> tuple[tuple[_Setter, Any, int], ...]:
        if key[0] != self.key[0] or key[-1] != self.key[-1]:
            raise CloningError(
                f"Cannot restore a state saved from env {key[0]!r} ({key[-1]}) into env {self.key[0]!r} "
                f"({self.key[-1]}): states only fit the env id and env class they were saved from."
            )
        mine = [label for label in self.key[1:] if not label.startswith("stats:")]
        theirs = [label for label in key[1:] if not label.startswith("stats:")]
        if mine != theirs:
            raise CloningError(
                f"Cannot restore a state saved from env {key[0]!r} with wrappers {list(key[1:-1])} into an "
                f"env with wrappers {list(self.key[1:-1])}: the wrappers that have state must be the same "
                "(only statistics wrappers such as Monitor may be missing)."
            )
        # the source's rest labels, rebuilt from its key: same non-statistics layers, so same flat part;
        # statistics layers are matched by label, in order, when both chains have them
        source_rest = [label for label in key[1:] if label.startswith("stats:") or label in self._rest_labels]
        plan: list[tuple[_Setter, Any, int]] = []
        used = 0
        for position, label in enumerate(self._rest_labels):
            for index in range(used, len(source_rest)):
                if source_rest[index] == label:
                    plan.append((*self._setters[position], index))
                    used = index + 1
                    break
        return tuple(plan)


def _compile_flat_accessors(
    targets: list[tuple[dict[str, Any], str]],
) -> tuple[Callable[[Any], tuple[Any, ...]], Callable[[tuple[Any, ...]], None]]:
    """Build a getter and a setter of the flat attributes that index the layers' ``__dict__`` directly.

    ``getter(root)`` returns ``(d0["a"], d1["b"], ...)`` and ``setter(values)`` runs
    ``d0["a"], d1["b"], ... = values``, each as one generated expression: about 3x faster than a dotted
    ``attrgetter`` that walks the wrapper chain and a Python loop of item assignments (the hot path of
    branching). The generated code only indexes dicts with the attribute names collected by
    :class:`ChainCloner`; no user input reaches it.

    :param targets: ``(layer.__dict__, attribute name)`` pairs, in the order of the state's flat tuple.
    :return: the getter (its argument is ignored) and the setter.
    """
    items = ", ".join(f"d{i}[{name!r}]" for i, (_, name) in enumerate(targets))
    source = f"def get_flat(root):\n    return ({items},)\n\ndef set_flat(values):\n    {items}, = values\n"
    namespace: dict[str, Any] = {f"d{i}": target for i, (target, _) in enumerate(targets)}
    exec(compile(source, "<sb3_grpo.cloning flat accessors>", "exec"), namespace)
    return namespace["get_flat"], namespace["set_flat"]


def cloner_for(env: gym.Env) -> ChainCloner:
    """Return the (cached) :class:`ChainCloner` of ``env``, building it on first use.

    :param env: the outermost env.
    :raises CloningError: when the env cannot be cloned.
    """
    own = getattr(env, "__dict__", None)
    slot = own.get(_CACHE_ATTRIBUTE) if own is not None else None
    if slot is not None and slot.cloner is not None and slot.cloner.env is env:
        return slot.cloner  # type: ignore[no-any-return]
    cloner = ChainCloner(env)
    if own is not None:
        own[_CACHE_ATTRIBUTE] = _CacheSlot(cloner)
    return cloner


def get_state(env: gym.Env) -> ChainState:
    """Save the state of ``env``: its wrappers' counters and statistics and the unwrapped env.

    The unwrapped env is saved with its own ``get_state()`` when it has one, else with a registered adapter,
    else with a verified deep copy (with a one-time warning).

    :param env: an env, usually as returned by ``gym.make``.
    :return: an opaque, picklable state for :func:`set_state`.
    :raises CloningError: when the env cannot be cloned; the message says how to fix it.
    """
    # The cache lookup of cloner_for(), inlined: this is GRPO's per-decision hot path.
    own = getattr(env, "__dict__", None)
    if own is not None:
        slot = own.get(_CACHE_ATTRIBUTE)
        if slot is not None:
            cloner = slot.cloner
            if cloner is not None and cloner.env is env:
                return cloner.get_state()  # type: ignore[no-any-return]
    return cloner_for(env).get_state()


def set_state(env: gym.Env, state: Any) -> None:
    """Put ``env`` back into a state returned by :func:`get_state`.

    ``env`` may be the env the state came from or an identical one (same id, same wrappers with state);
    statistics wrappers (``Monitor``) may be absent from ``env``.

    :param env: the env to restore.
    :param state: the saved state.
    :raises CloningError: when the state does not fit ``env``.
    """
    # The cache lookup of cloner_for(), inlined: set_state runs G times per decision.
    own = getattr(env, "__dict__", None)
    if own is not None:
        slot = own.get(_CACHE_ATTRIBUTE)
        if slot is not None:
            cloner = slot.cloner
            if cloner is not None and cloner.env is env:
                cloner.set_state(state)
                return
    cloner_for(env).set_state(state)


def make_branch_copy(env: gym.Env) -> gym.Env:
    """Deep-copy ``env`` without its statistics wrappers, for stepping branches.

    The copy has the same dynamics wrappers (``TimeLimit``...) as ``env`` but no ``Monitor`` or
    ``RecordEpisodeStatistics``: it writes no CSV file, keeps no growing statistics and shares nothing with
    ``env``. Call :func:`set_state` on it before use.

    :param env: the env to copy.
    :return: an independent copy.
    :raises CloningError: when the env cannot be copied.
    """
    cloner = cloner_for(env)
    statistics: list[gym.Wrapper] = []
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        handler = find_layer_handler(layer, tuple(STATELESS_WRAPPERS))
        if handler is not None and handler.stats_only:
            statistics.append(layer)
        layer = layer.env
    memo: dict[int, Any] = {}
    try:
        for wrapper in reversed(statistics):  # innermost first: its inner chain is copied, it is skipped
            memo[id(wrapper)] = copy.deepcopy(wrapper.env, memo)
        branch = copy.deepcopy(env, memo)
    except Exception as error:
        raise CloningError(
            f"Cannot make a branch copy of env {cloner.key[0]!r}: copy.deepcopy of its wrapper chain failed "
            f"({type(error).__name__}: {error}). Wrappers and env must be deep-copyable to be branched."
        ) from error
    return branch  # type: ignore[no-any-return]
