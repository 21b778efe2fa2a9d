"""Exact, cheap snapshots of an env's ``np_random`` generator.

Two strategies, both exact:

* **eager**: copy ``bit_generator.state`` on save and write it back on restore (about 1 us each way).
  Right for envs that draw random numbers on most steps (FrozenLake slippery, Blackjack).
* **lazy**: on save, the env's current ``Generator`` object itself becomes the snapshot (it is frozen:
  nothing draws from it again) and the env gets a :class:`LazyGenerator` that copies the frozen
  generator the first time the env draws from it. Saving and restoring then cost one attribute swap;
  the copy (about 10 us) is paid only when the env really draws, which for the classic-control envs
  happens only in ``reset()``. Right for envs whose ``step()`` never draws random numbers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


def copy_generator(generator: np.random.Generator) -> np.random.Generator:
    """Return a new, independent generator in the same state as ``generator``.

    :param generator: the generator to copy; it is not advanced.
    :return: a generator that produces the same stream as ``generator`` would.
    """
    source = generator.bit_generator
    bit_generator = type(source)(0)
    bit_generator.state = source.state
    return np.random.Generator(bit_generator)


class LazyGenerator:
    """Stand-in for an env's ``np_random`` that copies a frozen generator on first use.

    Any attribute access (``uniform``, ``random``, ``bit_generator``...) makes a private copy of the frozen
    generator, installs that copy as the owner's ``_np_random`` and forwards to it, so the owner draws
    exactly the stream the frozen generator would have produced. The frozen generator is only read.

    An instance installed as an env's ``_np_random`` is never materialized: materializing replaces it
    there by the live copy, and :func:`save_rng_lazy` / :func:`restore_rng_lazy` only ever install new,
    unmaterialized instances (so that while the env holds one, its frozen generator is the snapshot).

    :param frozen: the snapshot generator; never drawn from.
    :param owner: the unwrapped env whose ``_np_random`` this object stands in for.
    """

    __slots__ = ("_frozen", "_live", "_owner")

    def __init__(self, frozen: np.random.Generator, owner: Any) -> None:
        self._frozen = frozen
        self._owner = owner
        self._live: np.random.Generator | None = None

    def materialize(self) -> np.random.Generator:
        """Copy the frozen generator (once) and install the copy on the owner.

        :return: the live generator now held by the owner.
        """
        if self._live is None:
            self._live = copy_generator(self._frozen)
            if self._owner.__dict__.get("_np_random") is self:
                self._owner._np_random = self._live
        return self._live

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.materialize(), name)

    def __getstate__(self) -> tuple[Any, Any, Any]:
        return (self._frozen, self._owner, self._live)

    def __setstate__(self, state: tuple[Any, Any, Any]) -> None:
        self._frozen, self._owner, self._live = state

    def __repr__(self) -> str:
        return f"LazyGenerator(frozen={self._frozen!r}, materialized={self._live is not None})"


def save_rng_lazy(env: Any) -> np.random.Generator | None:
    """Snapshot ``env._np_random`` by freezing the current generator (O(1), no copy).

    :param env: an unwrapped Gymnasium env.
    :return: the frozen generator, or ``None`` when the env has no generator yet.
    """
    current = env.__dict__.get("_np_random")
    if current is None:
        return None
    if type(current) is LazyGenerator:
        if current._live is None:
            return current._frozen
        current = current._live
    env._np_random = LazyGenerator(current, env)
    return current


def restore_rng_lazy(env: Any, frozen: np.random.Generator | None) -> None:
    """Make ``env`` draw, from now on, the stream that ``frozen`` would produce.

    :param env: an unwrapped Gymnasium env.
    :param frozen: a snapshot from :func:`save_rng_lazy`.
    """
    if frozen is None:
        env._np_random = None
        return
    current = env.__dict__.get("_np_random")
    if type(current) is LazyGenerator and current._frozen is frozen and current._live is None:
        return
    env._np_random = LazyGenerator(frozen, env)


def save_rng_eager(env: Any) -> dict[str, Any] | None:
    """Snapshot ``env._np_random`` by copying its bit-generator state.

    :param env: an unwrapped Gymnasium env.
    :return: the bit-generator state, or ``None`` when the env has no generator yet.
    """
    current = env.__dict__.get("_np_random")
    if current is None:
        return None
    if type(current) is LazyGenerator:
        current = current.materialize()
    return current.bit_generator.state  # type: ignore[no-any-return]


def restore_rng_eager(env: Any, state: dict[str, Any] | None) -> None:
    """Write a state from :func:`save_rng_eager` back into ``env``'s generator.

    :param env: an unwrapped Gymnasium env.
    :param state: the saved bit-generator state.
    """
    if state is None:
        env._np_random = None
        return
    current = env.__dict__.get("_np_random")
    if current is None or type(current) is LazyGenerator:
        bit_generator = getattr(np.random, state["bit_generator"])(0)
        bit_generator.state = state
        env._np_random = np.random.Generator(bit_generator)
    else:
        current.bit_generator.state = state


# ---- the process's global generators (an env that draws from them cannot be copied, only rewound)
GlobalGenerators = tuple[Any, Any]


def save_global_generators() -> GlobalGenerators:
    """The state of the process's global generators: numpy's legacy ``np.random`` and Python's ``random``.

    About 50 us: taken only for envs that draw from them (``DeepCopyAdapter.verify`` finds which).
    """
    return np.random.get_state(), random.getstate()  # noqa: NPY002


def restore_global_generators(saved: GlobalGenerators) -> None:
    """Set the process's global generators back to ``saved`` (from :func:`save_global_generators`)."""
    np.random.set_state(saved[0])  # noqa: NPY002
    random.setstate(saved[1])


def global_generators_moved(saved: GlobalGenerators) -> bool:
    """Whether anything drew from the process's global generators since ``saved`` was taken."""
    numpy_now, python_now = save_global_generators()
    numpy_then, python_then = saved
    same_numpy = numpy_now[2:] == numpy_then[2:] and np.array_equal(numpy_now[1], numpy_then[1])
    return not (same_numpy and python_now == python_then)


@contextmanager
def global_generators_rewound(rewind: bool = True) -> Iterator[None]:
    """Inside the block draw from the process's global generators; after it they are where they were.

    :param rewind: False makes the block an ordinary one (nothing saved).
    """
    saved = save_global_generators() if rewind else None
    try:
        yield
    finally:
        if saved is not None:
            restore_global_generators(saved)
