"""State of a whole env: every wrapper with state, plus the unwrapped env.

The first :func:`get_state`/:func:`set_state` on an env builds a :class:`ChainCloner` (which wrapper
needs what, which adapter fits the unwrapped env) and caches it on the env. The cloner generates two
small functions for the chain, one that reads its state and one that writes it back, so that later calls
are a dictionary lookup and one call of plain item reads and writes on the layers' ``__dict__``\\ s.

A state is a plain tuple ``(key, value, ...)``: the :class:`ChainKey` of the chain it was saved from,
then the attribute values (``TimeLimit`` counter, the unwrapped env's state array...) and one snapshot
per layer that needs code (the generator, ``Monitor`` statistics, native ``get_state``). Tuples are the
cheapest immutable container to build and unpack: the save+restore of a classic-control env costs about
0.4 us in all, and building and unpacking a class of its own (or a tuple subclass) would add a quarter.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from sb3_grpo.cloning.adapters import EnvAdapter, NativeAdapter, env_name, find_adapter
from sb3_grpo.cloning.layers import CACHE_ATTRIBUTE as _CACHE_ATTRIBUTE
from sb3_grpo.cloning.layers import LayerHandler, NativeLayerHandler, find_layer_handler, layer_label
from sb3_grpo.cloning.protocol import CloningError
from sb3_grpo.cloning.rng import restore_rng_lazy, save_rng_lazy

#: wrapper classes that hold no state of their own (CloneableWrapper adds itself on import)
STATELESS_WRAPPERS: list[type] = []


class ChainKey:
    """The first item of a state: which chain it was saved from and how its values are laid out.

    Keys are interned (one object per ``(labels, settled)`` pair in a process, unpickled ones included),
    so the hot path recognizes a state of its own chain with one ``is``.

    :param labels: the env id, then one label per saved layer, outermost first; statistics-only layers
        (``Monitor``, ``RecordEpisodeStatistics``) are prefixed with ``"stats:"``.
    :param settled: whether the one-way flags of the wrappers (``OrderEnforcing``, ``PassiveEnvChecker``)
        were all at their final values, and so left out of the state.
    """

    __slots__ = ("labels", "settled")

    labels: tuple[str, ...]
    settled: bool

    def __new__(cls, labels: tuple[str, ...], settled: bool) -> ChainKey:
        labels, settled = tuple(labels), bool(settled)
        key = _KEYS.get((labels, settled))
        if key is None:
            key = object.__new__(cls)
            key.labels = labels
            key.settled = settled
            _KEYS[(labels, settled)] = key
        return key

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (ChainKey, (self.labels, self.settled))

    def __copy__(self) -> ChainKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ChainKey:
        return self

    def __repr__(self) -> str:
        return f"ChainKey(env={self.labels[0]!r}, layers={list(self.labels[1:])}, settled={self.settled})"


_KEYS: dict[tuple[tuple[str, ...], bool], ChainKey] = {}


def _is_state(value: Any) -> bool:
    """Whether ``value`` has the layout of a state: a tuple that starts with a :class:`ChainKey`."""
    return type(value) is tuple and len(value) > 0 and type(value[0]) is ChainKey


class _ChainStateType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return _is_state(instance)


class ChainState(metaclass=_ChainStateType):
    """The type of the states :func:`get_state` returns: opaque, immutable and picklable.

    A state is a plain tuple whose first item is a :class:`ChainKey` (see the module docstring);
    ``isinstance(state, ChainState)`` recognizes them. Do not build or take apart states: their layout
    may change between versions.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> ChainState:
        raise TypeError(
            "ChainState cannot be instantiated: states are returned by sb3_grpo.cloning.get_state"
        )


def _rebuild_get(env: Any) -> Any:
    return cloner_for(env).get_state()


def _rebuild_set(env: Any, state: Any) -> None:
    cloner_for(env).set_state(state)


class _CacheSlot:
    """Holds an env's cached :class:`ChainCloner` and its current get/set functions.

    Pickles and deep-copies as an empty slot, whose functions build a cloner for the new env.
    """

    __slots__ = ("cloner", "get", "set")

    def __init__(self, cloner: ChainCloner | None = None) -> None:
        self.cloner = cloner
        self.get: Callable[[Any], Any] = _rebuild_get
        self.set: Callable[[Any, Any], None] = _rebuild_set

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_CacheSlot, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> _CacheSlot:
        return _CacheSlot()


#: the wrappers with one-way flags -> the cloners whose chain includes them (see ``_unsettle_sharers``)
_SHARERS: weakref.WeakKeyDictionary[Any, weakref.WeakSet[ChainCloner]] = weakref.WeakKeyDictionary()


class _Flat:
    """One plain attribute of one layer, saved by reference."""

    __slots__ = ("layer", "name", "one_way", "settled_value")

    def __init__(self, layer: int, name: str, one_way: bool, settled_value: Any) -> None:
        self.layer = layer  # index of the layer in ChainCloner._layers
        self.name = name
        self.one_way = one_way
        self.settled_value = settled_value


class _Rest:
    """The part of one layer's state that needs code: ``"lazy"`` generator, ``"method"``, ``"call"``."""

    __slots__ = ("get", "kind", "label", "layer", "set")

    def __init__(
        self, label: str, layer: int, kind: str, get: Callable[..., Any], set_: Callable[..., Any]
    ) -> None:
        self.label = label
        self.layer = layer
        self.kind = kind
        self.get = get  # "method": get(); "call": get(layer); "lazy": save_rng_lazy(layer)
        self.set = set_


class ChainCloner:
    """Saves/restores one env chain. Built once per env by :func:`cloner_for`.

    **Hot path.** Two functions are generated for the chain: ``get(env)`` returns
    ``(key, d0["_elapsed_steps"], d3["state"], <generator snapshot>)`` and ``set(env, state)`` checks
    the key and writes the values back, indexing the layers' ``__dict__``\\ s directly (``d0`` is the
    ``TimeLimit``'s, ``d3`` the unwrapped env's; no attribute walk down the chain, no loop, no call per
    layer). The lazy generator snapshot of the classic-control envs is inlined too.

    **One-way flags.** ``OrderEnforcing._has_reset`` and ``PassiveEnvChecker``'s checks-done flags move
    only from their initial values to their final ones (``True``, ``None`` for the checker's
    ``_previous_data``), in the first ``reset()`` and the first two ``step()``\\ s, and Gymnasium never
    sets them back. Once they are all final (the chain is *settled*) they cannot change, so the states
    leave them out and the generated functions neither read nor write them (the five flags were about
    a quarter of the cost of a save+restore). Until then, or after restoring an earlier (unsettled)
    state, the chain is saved and restored in full by slower generic methods, which switch back to the
    fast pair as soon as the flags are final again. The only code besides Gymnasium's that writes the flags is this
    module's, through some cloner: a cloner that restores unsettled values tells every other cloner
    whose chain holds the same wrappers (a cloner of ``env.env`` and one of ``env``) to leave the fast
    pair. Code that sets these private flags by hand is not supported.

    :param env: the outermost env (a wrapper or an unwrapped env).
    :raises CloningError: when the unwrapped env cannot be cloned.
    """

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        labels: list[str] = [env_name(env)]
        self._layers: list[Any] = []
        self._flats: list[_Flat] = []
        self._rests: list[_Rest] = []
        layer: Any = env
        skip = tuple(STATELESS_WRAPPERS)
        one_way_layers: list[Any] = []
        while isinstance(layer, gym.Wrapper):
            handler: LayerHandler | None = find_layer_handler(layer, skip)
            if handler is not None:
                label = ("stats:" if handler.stats_only else "") + layer_label(layer)
                labels.append(label)
                assert not (handler.stats_only and handler.flat), "statistics layers save no flat attributes"
                index = len(self._layers)
                self._layers.append(layer)
                settled = handler.settled
                for position, name in enumerate(handler.flat):
                    one_way = settled is not None
                    value = settled[position] if settled is not None else None
                    self._flats.append(_Flat(index, name, one_way, value))
                if settled is not None:
                    one_way_layers.append(layer)
                if handler.has_rest:
                    if isinstance(handler, NativeLayerHandler):
                        native: Any = layer
                        self._rests.append(_Rest(label, index, "method", native.get_state, native.set_state))
                    else:
                        self._rests.append(_Rest(label, index, "call", handler.get, handler.set))
            layer = layer.env
        self.unwrapped = layer
        self.adapter: EnvAdapter = find_adapter(layer)
        label = f"{type(layer).__qualname__}[{self.adapter.kind}]"
        labels.append(label)
        index = len(self._layers)
        self._layers.append(layer)
        for name in self.adapter.flat:
            self._flats.append(_Flat(index, name, False, None))
        if self.adapter.has_rest:
            adapter = self.adapter
            if adapter.get_rest is save_rng_lazy and adapter.set_rest is restore_rng_lazy:
                self._rests.append(_Rest(label, index, "lazy", save_rng_lazy, restore_rng_lazy))
            elif isinstance(adapter, NativeAdapter):
                self._rests.append(_Rest(label, index, "method", layer.get_state, layer.set_state))
            else:
                self._rests.append(_Rest(label, index, "call", adapter.get_rest, adapter.set_rest))
        #: the env id and the labels of the saved layers (as in ``check_cloneable``'s report)
        self.key: tuple[str, ...] = tuple(labels)
        self._key_full = ChainKey(self.key, False)
        self._key_settled = ChainKey(self.key, True)
        self._rest_labels = tuple(rest.label for rest in self._rests)
        self._one_way = [flat for flat in self._flats if flat.one_way]
        self._dynamic = [flat for flat in self._flats if not flat.one_way]
        self._one_way_layers = one_way_layers
        for shared in one_way_layers:
            _SHARERS.setdefault(shared, weakref.WeakSet()).add(self)
        self._writers: dict[ChainKey, tuple[Callable[[tuple[Any, ...]], None], int]] = {}
        #: writers of settled states from other chains (a Monitor-wrapped env's into a branch copy)
        self._fast_writers: dict[ChainKey, Callable[[tuple[Any, ...]], None]] = {}
        self._fast_get, self._fast_set = self._compile_fast_pair()
        self._slot = _CacheSlot(self)
        self._fast = False
        self._use_fast(
            self._is_settled([getattr(self._layers[f.layer], f.name, _MISSING) for f in self._flats])
        )

    @property
    def method(self) -> str:
        """How the unwrapped env is cloned: ``"native"``, ``"adapter"`` or ``"deepcopy fallback"``."""
        return self.adapter.kind

    def get_state(self) -> Any:
        """Snapshot every layer.

        :return: the state (a :class:`ChainState`).
        """
        return self._slot.get(self.env)

    def set_state(self, state: Any) -> None:
        """Restore a state taken from this chain or from one with the same layers.

        A state from a chain with extra statistics-only wrappers (a ``Monitor``) fits a chain without them
        (a branch copy); the statistics are then simply not restored.

        :param state: a value returned by :meth:`get_state`.
        :raises CloningError: when the state does not come from a matching env.
        """
        self._slot.set(self.env, state)

    # --- modes ---------------------------------------------------------------------------------------

    def _is_settled(self, values: list[Any]) -> bool:
        return all(
            value is flat.settled_value
            for flat, value in zip(self._flats, values, strict=True)
            if flat.one_way
        )

    def _use_fast(self, fast: bool) -> None:
        """Switch between the generated pair (settled chain) and the generic methods."""
        self._fast = fast
        if fast:
            self._slot.get, self._slot.set = self._fast_get, self._fast_set
        else:
            self._slot.get, self._slot.set = self._get_slow, self._set_slow

    def _unsettle_sharers(self) -> None:
        for layer in self._one_way_layers:
            for other in list(_SHARERS.get(layer, ())):
                if other is not self and other._fast:
                    other._use_fast(False)

    # --- generic paths -------------------------------------------------------------------------------

    def _get_slow(self, env: Any) -> tuple[Any, ...]:
        if env is not self.env:  # a shallow copy of our env shares its cache slot
            return cloner_for(env).get_state()  # type: ignore[no-any-return]
        layers = self._layers
        values = [getattr(layers[flat.layer], flat.name) for flat in self._flats]
        if self._is_settled(values):
            if not self._fast:
                self._use_fast(True)
            key = self._key_settled
            values = [value for flat, value in zip(self._flats, values, strict=True) if not flat.one_way]
        else:
            key = self._key_full
        for rest in self._rests:
            if rest.kind == "method":
                values.append(rest.get())
            else:
                values.append(rest.get(layers[rest.layer]))
        return (key, *values)

    def _set_other(self, env: Any, state: Any) -> None:
        """Fast mode, not a state of this chain: a settled state of a matching chain, or the slow path."""
        # _is_state(state), inlined: a Monitor-wrapped env's state restored on a branch copy comes here
        if env is self.env and type(state) is tuple and len(state) > 0 and type(state[0]) is ChainKey:
            writer = self._fast_writers.get(state[0])
            if writer is not None:
                writer(state)
                return
        self._set_slow(env, state)

    def _set_slow(self, env: Any, state: Any) -> None:
        if env is not self.env:  # a shallow copy of our env shares its cache slot
            cloner_for(env).set_state(state)
            return
        if not _is_state(state):
            raise CloningError(
                "set_state expects a state returned by sb3_grpo.cloning.get_state, got "
                f"{type(state).__name__} (env {self.key[0]!r})."
            )
        key: ChainKey = state[0]
        known = self._writers.get(key)
        if known is None:
            known = self._writers[key] = self._compile_writer(key)
            if key.settled and key is not self._key_settled:
                self._fast_writers[key] = known[0]
        writer, length = known
        if len(state) != length:
            raise CloningError(
                f"This state of env {key.labels[0]!r} holds {len(state) - 1} values where {length - 1} were "
                "expected: it was not returned by sb3_grpo.cloning.get_state."
            )
        if not key.settled:  # before writing: a writer that fails halfway leaves the flags unknown
            if self._fast:
                self._use_fast(False)
            self._unsettle_sharers()
        writer(state)
        if key.settled and not self._fast:
            layers = self._layers
            for flat in self._one_way:
                layers[flat.layer].__dict__[flat.name] = flat.settled_value
            self._use_fast(True)

    # --- code generation -----------------------------------------------------------------------------

    def _namespace(self) -> dict[str, Any]:
        namespace: dict[str, Any] = {
            "root": self.env,
            "save_rng_lazy": save_rng_lazy,
            "restore_rng_lazy": restore_rng_lazy,
        }
        for index, layer in enumerate(self._layers):
            namespace[f"o{index}"] = layer
            if any(flat.layer == index for flat in self._flats) or any(
                rest.layer == index and rest.kind == "lazy" for rest in self._rests
            ):
                namespace[f"d{index}"] = layer.__dict__
        for position, rest in enumerate(self._rests):
            namespace[f"g{position}"] = rest.get
            namespace[f"s{position}"] = rest.set
        return namespace

    def _rest_read(self, position: int, target: str) -> list[str]:
        rest = self._rests[position]
        if rest.kind == "method":
            return [f"{target} = g{position}()"]
        if rest.kind == "call":
            return [f"{target} = g{position}(o{rest.layer})"]
        return self._lazy_lines(position, target, read=True)

    def _rest_write(self, position: int, value: str, memo: bool = False) -> list[str]:
        rest = self._rests[position]
        if rest.kind == "method":
            return [f"s{position}({value})"]
        if rest.kind == "call":
            return [f"s{position}(o{rest.layer}, {value})"]
        if memo:
            return self._lazy_lines(position, value, read=False)
        return [f"restore_rng_lazy(o{self._rests[position].layer}, {value})"]

    def _lazy_lines(self, position: int, value: str, read: bool) -> list[str]:
        """Inline :func:`save_rng_lazy` / :func:`restore_rng_lazy` for the common case: nothing to do.

        The generated pair remembers the last ``(installed, frozen)`` pair it saw on the env: the object
        in the env's ``_np_random`` (a :class:`LazyGenerator`, or ``None``) and the frozen generator it
        stands in for. While ``_np_random`` is still that object, saving returns the same frozen
        generator and restoring that frozen generator has nothing to do: an installed ``LazyGenerator``
        is never materialized and its frozen generator never changes (see :class:`LazyGenerator`).
        Otherwise the real functions run and the pair is updated.
        """
        layer = self._rests[position].layer
        d, o, seen, frozen = f"d{layer}", f"o{layer}", f"seen_lazy{position}", f"seen_frozen{position}"
        lines = [
            f"global {seen}, {frozen}",
            "try:",
            f"    current = {d}['_np_random']",
            "except KeyError:",
            "    current = None",
        ]
        if read:
            return [
                *lines,
                f"if current is {seen}:",
                f"    {value} = {frozen}",
                "else:",
                f"    {value} = {frozen} = save_rng_lazy({o})",
                f"    {seen} = {d}.get('_np_random')",
            ]
        return [
            *lines,
            f"if current is not {seen} or {value} is not {frozen}:",
            f"    restore_rng_lazy({o}, {value})",
            f"    {seen} = {d}.get('_np_random')",
            f"    {frozen} = {value}",
        ]

    def _compile_fast_pair(self) -> tuple[Callable[[Any], Any], Callable[[Any, Any], None]]:
        """Generate ``get(env)`` and ``set(env, state)`` for settled states of this chain."""
        dynamic = self._dynamic
        values = [f"v{i}" for i in range(len(dynamic))] + [f"r{i}" for i in range(len(self._rests))]
        get_lines = [
            "def get(env):",
            "    if env is not root:",
            "        return get_slow(env)",
        ]
        if dynamic:
            get_lines += ["    try:"]
            get_lines += [f"        v{i} = d{flat.layer}[{flat.name!r}]" for i, flat in enumerate(dynamic)]
            get_lines += ["    except KeyError:", "        return get_slow(env)"]
        for position in range(len(self._rests)):
            get_lines += ["    " + line for line in self._rest_read(position, f"r{position}")]
        get_lines += [f"    return (key, {''.join(value + ', ' for value in values)})"]
        set_lines = [
            "def set(env, state):",
            "    try:",
            f"        k, {''.join(value + ', ' for value in values)}= state",
            "    except (TypeError, ValueError):",
            "        return set_other(env, state)",
            "    if k is not key or env is not root:",
            "        return set_other(env, state)",
        ]
        set_lines += [f"    d{flat.layer}[{flat.name!r}] = v{i}" for i, flat in enumerate(dynamic)]
        for position in range(len(self._rests)):
            set_lines += ["    " + line for line in self._rest_write(position, f"r{position}", memo=True)]
        namespace = self._namespace()
        namespace.update(key=self._key_settled, get_slow=self._get_slow, set_other=self._set_other)
        for position in range(len(self._rests)):
            namespace[f"seen_lazy{position}"] = namespace[f"seen_frozen{position}"] = _MISSING
        _compile("\n".join(get_lines) + "\n\n" + "\n".join(set_lines) + "\n", namespace)
        return namespace["get"], namespace["set"]

    def _compile_writer(self, key: ChainKey) -> tuple[Callable[[tuple[Any, ...]], None], int]:
        """Generate ``write(state)`` for states with ``key``: this chain's, or a matching chain's.

        :return: the writer and the length of the states it fits.
        :raises CloningError: when such states do not fit this chain.
        """
        flats = self._dynamic if key.settled else self._flats
        plan, n_source_rests = self._rest_plan(key.labels)
        lines = ["def write(state):"]
        lines += [f"    d{flat.layer}[{flat.name!r}] = state[{1 + i}]" for i, flat in enumerate(flats)]
        for position, source in plan:
            lines += [f"    value = state[{1 + len(flats) + source}]"]
            lines += ["    " + line for line in self._rest_write(position, "value")]
        if len(lines) == 1:
            lines.append("    pass")
        namespace = self._namespace()
        _compile("\n".join(lines) + "\n", namespace)
        return namespace["write"], 1 + len(flats) + n_source_rests

    def _rest_plan(self, labels: tuple[str, ...]) -> tuple[list[tuple[int, int]], int]:
        """Match the snapshots of a state saved from the chain with ``labels`` to this chain's layers.

        :return: ``(our rest position, the state's rest position)`` for each snapshot to restore, and
            the number of snapshots in the state.
        :raises CloningError: when the chains do not match.
        """
        if labels == self.key:
            return [(position, position) for position in range(len(self._rests))], len(self._rests)
        if labels[0] != self.key[0] or labels[-1] != self.key[-1]:
            raise CloningError(
                f"Cannot restore a state saved from env {labels[0]!r} ({labels[-1]}) into env {self.key[0]!r} "
                f"({self.key[-1]}): states only fit the env id and env class they were saved from."
            )
        mine = [label for label in self.key[1:] if not label.startswith("stats:")]
        theirs = [label for label in labels[1:] if not label.startswith("stats:")]
        if mine != theirs:
            raise CloningError(
                f"Cannot restore a state saved from env {labels[0]!r} with wrappers {list(labels[1:-1])} into "
                f"an env with wrappers {list(self.key[1:-1])}: the wrappers that have state must be the same "
                "(only statistics wrappers such as Monitor may be missing)."
            )
        # the source's rest labels, rebuilt from its labels: same non-statistics layers, so same flat part;
        # statistics layers are matched by label, in order, when both chains have them
        source_rest = [
            label for label in labels[1:] if label.startswith("stats:") or label in self._rest_labels
        ]
        plan: list[tuple[int, int]] = []
        used = 0
        for position, label in enumerate(self._rest_labels):
            for index in range(used, len(source_rest)):
                if source_rest[index] == label:
                    plan.append((position, index))
                    used = index + 1
                    break
        return plan, len(source_rest)


_MISSING = object()


#: compiled generated code by source: identical chains (branch copies) compile once
_CODE: dict[str, Any] = {}


def _compile(source: str, namespace: dict[str, Any]) -> None:
    """Define the functions in ``source`` in ``namespace``.

    The generated code only indexes dicts with the attribute names collected by :class:`ChainCloner`
    (written as ``repr`` literals) and calls the handlers it was given; no user input reaches it.
    """
    code = _CODE.get(source)
    if code is None:
        code = _CODE[source] = compile(source, "<sb3_grpo.cloning generated accessors>", "exec")
    exec(code, namespace)


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
        own[_CACHE_ATTRIBUTE] = cloner._slot
    return cloner


def get_state(env: gym.Env) -> ChainState:
    """Save the state of ``env``: its wrappers' counters and statistics and the unwrapped env.

    The unwrapped env is saved with its own ``get_state()`` when it has one, else with a registered adapter,
    else with a verified deep copy (with a one-time warning).

    :param env: an env, usually as returned by ``gym.make``.
    :return: an opaque, picklable state for :func:`set_state`.
    :raises CloningError: when the env cannot be cloned; the message says how to fix it.
    """
    # GRPO's per-decision hot path: one lookup of the env's cache slot, one call of its generated getter
    try:
        slot = env.__dict__[_CACHE_ATTRIBUTE]
    except (AttributeError, KeyError):
        return cloner_for(env).get_state()  # type: ignore[no-any-return]
    return slot.get(env)  # type: ignore[no-any-return]


def set_state(env: gym.Env, state: Any) -> None:
    """Put ``env`` back into a state returned by :func:`get_state`.

    ``env`` may be the env the state came from or an identical one (same id, same wrappers with state);
    statistics wrappers (``Monitor``) may be absent from ``env``.

    :param env: the env to restore.
    :param state: the saved state.
    :raises CloningError: when the state does not fit ``env``.
    """
    # runs G times per decision: one lookup of the env's cache slot, one call of its generated setter
    try:
        slot = env.__dict__[_CACHE_ATTRIBUTE]
    except (AttributeError, KeyError):
        cloner_for(env).set_state(state)
        return
    slot.set(env, state)


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
