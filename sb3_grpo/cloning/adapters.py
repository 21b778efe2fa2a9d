"""Save/restore the state of an *unwrapped* env: native methods, registered adapters, deepcopy fallback.

:func:`find_adapter` picks, in this order:

1. the env's own ``get_state``/``set_state`` methods (:class:`NativeAdapter`);
2. an adapter registered for the env's class with :func:`register_adapter` (the built-in ones cover
   Gymnasium's classic-control and toy-text envs);
3. :class:`MujocoAdapter` for Gymnasium's MuJoCo envs, when ``mujoco`` is installed, and
   :class:`AleAdapter` for ale-py's Atari envs;
4. :class:`DeepCopyAdapter`, after checking that deep copies of the env step identically, with a
   one-time warning that it is slow.

The wrappers above the unwrapped env are handled by :mod:`sb3_grpo.cloning.layers`.
"""

from __future__ import annotations

import copy
import sys
import warnings
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import gymnasium as gym
import numpy as np

from sb3_grpo.cloning.compare import first_difference
from sb3_grpo.cloning.protocol import CloningError
from sb3_grpo.cloning.rng import (
    global_generators_moved,
    restore_global_generators,
    restore_rng_eager,
    restore_rng_lazy,
    save_global_generators,
    save_rng_eager,
    save_rng_lazy,
)

HOW_TO_FIX = (
    "Two ways out: (1) give the env `get_state()` / `set_state(state)` methods that save and restore "
    "everything `step()`/`reset()` read (including `self.np_random.bit_generator.state`), or register an "
    "adapter with `sb3_grpo.cloning.register_adapter`; (2) make the env deep-copyable "
    "(`copy.deepcopy(env)` must work and the copy must step like the original: no open files, locks, "
    "sockets or C handles as attributes). See docs/cloning.md."
)


def env_name(env: gym.Env) -> str:
    """Return a readable name for an env: its registered id, else its class name.

    :param env: any env or wrapper.
    :return: e.g. ``"CartPole-v1"`` or ``"MyEnv"``.
    """
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return str(spec.id)
    return type(env.unwrapped).__qualname__


class EnvAdapter:
    """Saves and restores the state of one kind of unwrapped env.

    Subclass it (or use :class:`AttributeAdapter`) and register it with :func:`register_adapter` to make a
    class of envs cloneable without touching their code.
    """

    #: how the adapter shows up in reports
    kind: str = "adapter"
    #: whether the env draws from the process's global generators (``np.random``, ``random``): its copies
    #: then reproduce it only when the global generators are rewound to where they were at the save
    draws_from_global_generators: bool = False

    def get_state(self, env: Any) -> Any:
        """Return a picklable snapshot of ``env`` that later steps do not change.

        :param env: the unwrapped env.
        """
        raise NotImplementedError

    def set_state(self, env: Any, state: Any) -> None:
        """Restore a snapshot from :meth:`get_state` into ``env`` (or an identical env).

        :param env: the unwrapped env.
        :param state: the snapshot.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AttributeAdapter(EnvAdapter):
    """Snapshot a fixed list of attributes plus the env's random number generator.

    The attribute values are stored by reference, so they must be immutable or replaced, never mutated in
    place, by the env (true of numbers, tuples and the state arrays of the classic-control envs, which
    build a new array each step). Pass ``copy_values=True`` otherwise.

    :param attributes: names of the instance attributes that make up the state.
    :param rng: ``"lazy"`` for envs that draw random numbers only in ``reset()`` (O(1) save/restore),
        ``"eager"`` for envs that draw in ``step()``, ``"none"`` for deterministic envs.
    :param copy_values: deep-copy the values on save and on restore.
    """

    def __init__(self, attributes: tuple[str, ...], rng: str = "eager", copy_values: bool = False) -> None:
        if rng not in RNG_MODES:
            raise ValueError(f"rng must be one of {tuple(RNG_MODES)}, got {rng!r}")
        if not attributes:
            raise ValueError("AttributeAdapter needs at least one attribute name")
        self.attributes = tuple(attributes)
        self.rng = rng
        self.copy_values = copy_values
        getter = attrgetter(*self.attributes)
        self._get: Callable[[Any], Any] = getter if len(self.attributes) > 1 else (lambda env: (getter(env),))
        self._save_rng, self._restore_rng = RNG_MODES[rng]

    def get_state(self, env: Any) -> tuple[tuple[Any, ...], Any]:
        values = self._get(env)
        if self.copy_values:
            values = copy.deepcopy(values)
        return values, self._save_rng(env)

    def set_state(self, env: Any, state: tuple[tuple[Any, ...], Any]) -> None:
        values, rng_state = state
        if self.copy_values:
            values = copy.deepcopy(values)
        env.__dict__.update(zip(self.attributes, values, strict=False))
        self._restore_rng(env, rng_state)

    def __repr__(self) -> str:
        return f"AttributeAdapter({self.attributes}, rng={self.rng!r})"


def _no_rng(env: Any) -> None:
    return None


def _no_rng_restore(env: Any, state: Any) -> None:
    return None


#: how to snapshot the env's ``np_random`` (see :mod:`sb3_grpo.cloning.rng`): save and restore functions
RNG_MODES: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], None]]] = {
    "lazy": (save_rng_lazy, restore_rng_lazy),
    "eager": (save_rng_eager, restore_rng_eager),
    "none": (_no_rng, _no_rng_restore),
}


class BlackjackAdapter(EnvAdapter):
    """Blackjack: the two hands are lists the env appends to, so they are copied."""

    def get_state(self, env: Any) -> tuple[Any, ...]:
        return (
            tuple(env.dealer),
            tuple(env.player),
            env.__dict__.get("dealer_top_card_suit"),
            env.__dict__.get("dealer_top_card_value_str"),
            save_rng_eager(env),
        )

    def set_state(self, env: Any, state: tuple[Any, ...]) -> None:
        dealer, player, suit, value_str, rng_state = state
        env.dealer = list(dealer)
        env.player = list(player)
        env.dealer_top_card_suit = suit
        env.dealer_top_card_value_str = value_str
        restore_rng_eager(env, rng_state)


class NativeAdapter(EnvAdapter):
    """Use the env's own ``get_state()``/``set_state(state)`` methods."""

    kind = "native"

    def get_state(self, env: Any) -> Any:
        return env.get_state()

    def set_state(self, env: Any, state: Any) -> None:
        env.set_state(state)


class MujocoAdapter(EnvAdapter):
    """Gymnasium MuJoCo envs: MuJoCo's own ``mj_getState``/``mj_setState`` on the integration state.

    The integration state holds time, qpos, qvel, act, the warm-start accelerations, controls, mocap
    poses, user data and plugin state: everything ``mj_step`` reads. The envs also read body positions
    (``xpos``/``xipos``, e.g. Ant's and Humanoid's forward velocity) *before* stepping; MuJoCo computed
    those from the last substep, so they are saved too rather than recomputed by ``mj_forward`` (which
    would give slightly different rewards). The generator is saved lazily (drawn only in ``reset()``).
    """

    #: kinematic quantities of ``mjData`` that the envs read before ``mj_step`` recomputes them
    DERIVED = ("xpos", "xquat", "xmat", "xipos", "ximat", "geom_xpos", "geom_xmat", "site_xpos", "site_xmat")

    def __init__(self) -> None:
        import mujoco

        self._mujoco = mujoco
        self._spec = mujoco.mjtState.mjSTATE_INTEGRATION

    def get_state(self, env: Any) -> tuple[np.ndarray, tuple[np.ndarray, ...], Any]:
        model, data = env.model, env.data
        physics = np.empty(self._mujoco.mj_stateSize(model, self._spec))
        self._mujoco.mj_getState(model, data, physics, self._spec)
        derived = tuple(getattr(data, name).copy() for name in self.DERIVED)
        return physics, derived, save_rng_lazy(env)

    def set_state(self, env: Any, state: tuple[np.ndarray, tuple[np.ndarray, ...], Any]) -> None:
        physics, derived, rng_state = state
        data = env.data
        self._mujoco.mj_setState(env.model, data, physics, self._spec)
        for name, values in zip(self.DERIVED, derived, strict=True):
            getattr(data, name)[...] = values
        restore_rng_lazy(env, rng_state)


class AleAdapter(EnvAdapter):
    """ale-py's Atari envs: the emulator's own ``cloneState(include_rng=True)``/``restoreState``.

    The emulator state holds RAM, CPU, TIA and the ALE's own generator (sticky actions); the env's
    ``np_random`` (random frame skips) is copied beside it.
    """

    def get_state(self, env: Any) -> tuple[Any, Any]:
        return env.ale.cloneState(include_rng=True), save_rng_eager(env)

    def set_state(self, env: Any, state: tuple[Any, Any]) -> None:
        emulator, rng_state = state
        env.ale.restoreState(emulator)
        restore_rng_eager(env, rng_state)


class _Self:
    """Placeholder for references from an env's attributes back to the env itself."""

    def __repr__(self) -> str:
        return "<the env itself>"


_SELF = _Self()


class DeepCopyAdapter(EnvAdapter):
    """Fallback: the state is a deep copy of the env's attribute dictionary.

    Slow (5x-1700x an env step measured, 19x-154x on most classic envs) but general. Call :meth:`verify` before trusting it: some envs
    deep-copy without error into copies that do not work (Box2D bodies, for instance).
    """

    kind = "deepcopy fallback"

    def get_state(self, env: Any) -> dict[str, Any]:
        return copy.deepcopy(env.__dict__, {id(env): _SELF})  # type: ignore[no-any-return]

    def set_state(self, env: Any, state: dict[str, Any]) -> None:
        restored = copy.deepcopy(state, {id(_SELF): env})
        env.__dict__.clear()
        env.__dict__.update(restored)

    def _probe(self, env: Any, state: dict[str, Any], actions: list[Any]) -> list[Any]:
        """Restore ``state`` on a blank env of ``env``'s class and step it with ``actions``; its outputs."""
        probe = object.__new__(type(env))
        outputs: list[Any] = []
        try:
            self.set_state(probe, state)
            if probe.__dict__.get("_np_random") is None:  # not seeded yet: same stream for both probes
                probe.__dict__["_np_random"] = np.random.default_rng(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for action in actions:
                    result = probe.step(action)
                    outputs.append(result)
                    if result[2] or result[3]:
                        break
        except Exception as error:
            raise CloningError(
                f"Cannot clone env {env_name(env)!r} ({type(env).__qualname__}): a deep copy of it fails to "
                f"step ({type(error).__name__}: {error}), so it holds state that copy.deepcopy loses "
                f"(Box2D bodies, C handles...). {HOW_TO_FIX}"
            ) from error
        return outputs

    def verify(self, env: Any, n_steps: int = 5) -> None:
        """Prove that restored copies of ``env`` step, and step identically.

        Two blank envs of the same class get the saved state; both are stepped with the same actions and
        their outputs are compared. The original env is not touched.

        :param env: the unwrapped env.
        :param n_steps: how many steps to compare.
        :raises CloningError: when the env cannot be deep-copied, a copy fails to step, or copies diverge.
        """
        name = env_name(env)
        try:
            state = self.get_state(env)
        except Exception as error:
            raise CloningError(
                f"Cannot clone env {name!r} ({type(env).__qualname__}): it has no get_state()/set_state() "
                f"and copy.deepcopy failed with {type(error).__name__}: {error}. {HOW_TO_FIX}"
            ) from error
        action_space = copy.deepcopy(env.action_space)
        action_space.seed(0)
        actions = [action_space.sample() for _ in range(n_steps)]
        runs: list[list[Any]] = []
        # both probes draw the same numbers from the global generators (as GRPO rewinds them for its
        # copies), and the caller's global streams are left where they were
        global_generators = save_global_generators()
        try:
            for _ in range(2):
                restore_global_generators(global_generators)
                runs.append(self._probe(env, state, actions))
                self.draws_from_global_generators |= global_generators_moved(global_generators)
        finally:
            restore_global_generators(global_generators)
        for step, (first, second) in enumerate(zip(*runs, strict=False)):
            diff = first_difference(first, second, "(obs, reward, terminated, truncated, info)")
            if diff is not None:
                raise CloningError(
                    f"Cannot clone env {name!r} ({type(env).__qualname__}): two deep copies of the same "
                    f"state diverge at step {step} ({diff}), so the env depends on state outside itself "
                    f"(a random generator shared outside it, such as a module-level np.random.default_rng(), a file, "
                    f"a process...). {HOW_TO_FIX}"
                )


_ADAPTERS: dict[type, EnvAdapter] = {}
_SUBCLASS_ADAPTERS: dict[type, EnvAdapter] = {}
_WARNED_FALLBACK: set[type] = set()


def register_adapter(env_type: type, adapter: EnvAdapter, include_subclasses: bool = False) -> None:
    """Make every env of class ``env_type`` cloneable through ``adapter``.

    :param env_type: the unwrapped env class.
    :param adapter: saves/restores such envs.
    :param include_subclasses: also use the adapter for subclasses (only safe when they add no state).
    """
    if not isinstance(adapter, EnvAdapter):
        raise TypeError(f"adapter must be an EnvAdapter, got {type(adapter).__name__}")
    _ADAPTERS[env_type] = adapter
    if include_subclasses:
        _SUBCLASS_ADAPTERS[env_type] = adapter


def has_native_methods(env: Any) -> bool:
    """Whether ``env``'s class defines both ``get_state`` and ``set_state``.

    :param env: any object.
    """
    return callable(getattr(type(env), "get_state", None)) and callable(getattr(type(env), "set_state", None))


def find_adapter(env: Any) -> EnvAdapter:
    """Choose how to save/restore an unwrapped env (see the module docstring for the order).

    :param env: the unwrapped env.
    :return: the adapter; a :class:`DeepCopyAdapter` only after it passed :meth:`DeepCopyAdapter.verify`.
    :raises CloningError: when no way works.
    """
    if has_native_methods(env):
        return NativeAdapter()
    _register_builtin_adapters()
    env_type = type(env)
    adapter = _ADAPTERS.get(env_type)
    if adapter is not None:
        return adapter
    for base in env_type.__mro__[1:]:
        if base in _SUBCLASS_ADAPTERS:
            return _SUBCLASS_ADAPTERS[base]
    # a MuJoCo env's class comes from this module, so it is imported already when env is one
    mujoco_env = sys.modules.get("gymnasium.envs.mujoco.mujoco_env")
    if mujoco_env is not None and isinstance(env, mujoco_env.MujocoEnv):
        return MujocoAdapter()
    if env_type.__module__.startswith("ale_py") and hasattr(env, "ale"):
        return AleAdapter()
    fallback = DeepCopyAdapter()
    fallback.verify(env)
    if env_type not in _WARNED_FALLBACK:
        _WARNED_FALLBACK.add(env_type)
        warnings.warn(
            f"Env {env_name(env)!r} ({env_type.__qualname__}) has no get_state()/set_state() and no "
            "registered adapter: sb3_grpo.cloning falls back to copy.deepcopy, which usually costs "
            "5x-1700x an env step (19x-154x on most classic envs). Add get_state()/set_state() methods to the env (see docs/cloning.md) "
            "or register an adapter with sb3_grpo.cloning.register_adapter.",
            UserWarning,
            stacklevel=3,
        )
    return fallback


_BUILTINS_REGISTERED = False


def _register_builtin_adapters() -> None:
    global _BUILTINS_REGISTERED
    if _BUILTINS_REGISTERED:
        return
    _BUILTINS_REGISTERED = True
    from gymnasium.envs.classic_control import (
        AcrobotEnv,
        CartPoleEnv,
        Continuous_MountainCarEnv,
        MountainCarEnv,
        PendulumEnv,
    )
    from gymnasium.envs.toy_text import BlackjackEnv, CliffWalkingEnv, FrozenLakeEnv, TaxiEnv

    # Classic control: step() never draws random numbers (Acrobot only with torque noise, which the
    # lazy generator also handles exactly). The saved attributes are stored by reference, not copied,
    # which is exact because these envs never mutate them in place: in Gymnasium 1.x, step() and reset()
    # assign a new value to `state` every time (CartPole, MountainCarContinuous and Pendulum a new
    # np.array, Acrobot a new array from its integrator, MountainCar a new tuple) and only read it
    # otherwise; `steps_beyond_terminated` and `last_u` are numbers or None. (MountainCarContinuous
    # returns `self.state` itself as the observation: code that changes an observation in place would
    # change the env's state, saved or not.) tests/test_cloning.py fails if a later Gymnasium mutates them.
    _ADAPTERS.setdefault(CartPoleEnv, AttributeAdapter(("state", "steps_beyond_terminated"), rng="lazy"))
    _ADAPTERS.setdefault(AcrobotEnv, AttributeAdapter(("state",), rng="lazy"))
    _ADAPTERS.setdefault(MountainCarEnv, AttributeAdapter(("state",), rng="lazy"))
    _ADAPTERS.setdefault(Continuous_MountainCarEnv, AttributeAdapter(("state",), rng="lazy"))
    _ADAPTERS.setdefault(PendulumEnv, AttributeAdapter(("state", "last_u"), rng="lazy"))
    # toy text: integer states; slippery/rainy variants draw in step(), so the generator is copied
    _ADAPTERS.setdefault(FrozenLakeEnv, AttributeAdapter(("s", "lastaction"), rng="eager"))
    _ADAPTERS.setdefault(CliffWalkingEnv, AttributeAdapter(("s", "lastaction"), rng="eager"))
    _ADAPTERS.setdefault(
        TaxiEnv, AttributeAdapter(("s", "lastaction", "fickle_step", "taxi_orientation"), rng="eager")
    )
    _ADAPTERS.setdefault(BlackjackEnv, BlackjackAdapter())
