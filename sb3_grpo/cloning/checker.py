"""``check_cloneable``: save, step, restore, replay and compare, in the spirit of SB3's ``check_env``."""

from __future__ import annotations

import copy
import pickle
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from sb3_grpo.cloning.adapters import HOW_TO_FIX, env_name
from sb3_grpo.cloning.chain import cloner_for, get_state, make_branch_copy, set_state
from sb3_grpo.cloning.compare import first_difference
from sb3_grpo.cloning.protocol import CloningError
from sb3_grpo.cloning.rng import restore_global_generators, save_global_generators

_FIELDS = ("obs", "reward", "terminated", "truncated", "info")


@dataclass
class Divergence:
    """Where a replay first differed from the original run.

    :param step: index of the step (0 = first step after the saved state).
    :param field: ``"obs"``, ``"reward"``, ``"terminated"``, ``"truncated"``, ``"info"`` or ``"reset obs"``...
    :param detail: the differing values.
    :param replay: which replay: ``"restore"`` (state object as saved), ``"pickled"`` (state after a pickle
        round trip) or ``"branch copy"`` (state restored on a branch copy, as GRPO uses it).
    """

    step: int
    field: str
    detail: str
    replay: str = "restore"

    def __str__(self) -> str:
        return f"step {self.step}, field {self.field!r} ({self.replay} replay): {self.detail}"


@dataclass
class CloneCheckReport:
    """Result of :func:`check_cloneable`; ``str(report)`` is a readable summary.

    :param env_id: the env's id or class name.
    :param ok: whether save/restore reproduced every step.
    :param method: how the unwrapped env is cloned (``"native"``, ``"adapter"``, ``"deepcopy fallback"``).
    :param layers: the layers whose state is saved, outermost first.
    :param n_steps: steps replayed.
    :param n_episode_ends: episode ends (followed by ``reset()``) inside the replayed sequence.
    :param save_restore_us: mean time of one save + one restore, in microseconds.
    :param step_us: mean time of one env step, in microseconds.
    :param divergence: the first divergence, if any.
    :param error: an exception raised while cloning, if any.
    :param picklable: whether the state survives ``pickle`` (needed for ``SubprocVecEnv``).
    :param recommendation: what to change.
    """

    env_id: str
    ok: bool
    method: str = ""
    layers: list[str] = field(default_factory=list)
    n_steps: int = 0
    n_episode_ends: int = 0
    save_restore_us: float = float("nan")
    step_us: float = float("nan")
    divergence: Divergence | None = None
    error: str | None = None
    picklable: bool = True
    recommendation: str = ""

    def __str__(self) -> str:
        status = "OK" if self.ok else "FAILED"
        lines = [f"check_cloneable({self.env_id!r}): {status}"]
        if self.method:
            lines.append(f"  method: {self.method}; saved layers: {', '.join(self.layers)}")
        if self.n_steps:
            lines.append(
                f"  replayed {self.n_steps} steps with {self.n_episode_ends} episode ends: "
                + ("identical" if self.divergence is None else "diverged")
            )
            ratio = self.save_restore_us / self.step_us if self.step_us > 0 else float("nan")
            lines.append(
                f"  save+restore {self.save_restore_us:.1f} us, step {self.step_us:.1f} us "
                f"({ratio:.2f}x a step)"
            )
        lines.append(f"  state picklable (SubprocVecEnv): {'yes' if self.picklable else 'no'}")
        if self.divergence is not None:
            lines.append(f"  divergence: {self.divergence}")
        if self.error is not None:
            lines.append(f"  error: {self.error}")
        if self.recommendation:
            lines.append(f"  fix: {self.recommendation}")
        return "\n".join(lines)


def _run(env: gym.Env, actions: list[Any]) -> tuple[list[tuple[str, int, Any]], int]:
    """Step through ``actions``, resetting after each episode end; record every output."""
    records: list[tuple[str, int, Any]] = []
    ends = 0
    for step, action in enumerate(actions):
        obs, reward, terminated, truncated, info = env.step(action)
        records.append(("step", step, (obs, reward, terminated, truncated, info)))
        if terminated or truncated:
            ends += 1
            records.append(("reset", step, env.reset()))
    return records, ends


def _without_statistics(records: list[tuple[str, int, Any]]) -> list[tuple[str, int, Any]]:
    """``records`` without the ``info["episode"]`` entries that statistics wrappers (``Monitor``) add."""
    out = []
    for kind, step, values in records:
        if kind == "step" and "episode" in values[4]:
            values = (*values[:4], {k: v for k, v in values[4].items() if k != "episode"})
        out.append((kind, step, values))
    return out


def _compare(
    expected: list[tuple[str, int, Any]], got: list[tuple[str, int, Any]], replay: str
) -> Divergence | None:
    # statistics wrappers are not part of a state: restored in place they keep counting, a branch copy has none
    expected, got = _without_statistics(expected), _without_statistics(got)
    for (kind, step, first), (kind2, _, second) in zip(expected, got, strict=False):
        if kind != kind2:
            return Divergence(
                step, "terminated/truncated", f"the original {kind}s here, the replay {kind2}s", replay
            )
        names = _FIELDS if kind == "step" else ("reset obs", "reset info")
        for name, a, b in zip(names, first, second, strict=False):
            diff = first_difference(a, b, "info" if name.endswith("info") else name)
            if diff is not None:
                return Divergence(step, name, diff, replay)
    if len(expected) != len(got):
        return Divergence(
            min(len(expected), len(got)), "length", "the replay ran a different number of steps", replay
        )
    return None


def _restore_in_place(env: gym.Env, state: Any) -> None:
    """:func:`set_state` without the warning that statistics wrappers are not restored (they are ignored here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        set_state(env, state)


def check_cloneable(
    env: gym.Env, n_steps: int = 200, seed: int = 0, raise_error: bool = False
) -> CloneCheckReport:
    """Check that ``get_state``/``set_state`` make ``env`` replay exactly.

    Resets ``env`` with ``seed``, saves its state, steps ``n_steps`` random actions (resetting after each
    episode end), restores the state, replays the same actions and compares observations, rewards,
    ``terminated``, ``truncated`` and infos (wall-clock times excepted). The replay is done three times:
    with the state object itself, with a pickled copy of it, and on a branch copy of ``env`` (as GRPO
    uses states: saved from the real env, restored on a private copy without statistics wrappers).
    ``env`` is left in the restored-and-replayed state.

    :param env: the env to check, wrapped as it will be used.
    :param n_steps: how many steps to replay.
    :param seed: seed for ``reset`` and for the random actions.
    :param raise_error: raise :class:`CloningError` instead of returning a failed report.
    :return: the report (``report.ok``, ``print(report)``).
    """
    report = CloneCheckReport(env_id=env_name(env), ok=False)
    pickle_error = ""
    global_generators = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            env.reset(seed=seed)
        cloner = cloner_for(env)
        report.method = cloner.method
        report.layers = list(cloner.key[1:])
        action_space = copy.deepcopy(env.action_space)
        action_space.seed(seed)
        actions = [action_space.sample() for _ in range(n_steps)]
        state = get_state(env)
        # an env that draws from np.random/random replays only from the same global state (GRPO rewinds
        # them for such an env's copies)
        global_generators = save_global_generators() if cloner.draws_from_global_generators else None
        try:
            pickled = pickle.loads(pickle.dumps(state))
        except Exception as error:
            report.picklable = False
            pickled = None
            pickle_error = f"{type(error).__name__}: {error}"
        start = time.perf_counter()
        expected, report.n_episode_ends = _run(env, actions)
        report.step_us = (time.perf_counter() - start) / max(1, n_steps) * 1e6
        report.n_steps = n_steps
        replays = [("restore", state)] + ([("pickled", pickled)] if pickled is not None else [])
        for name, saved in replays:
            _restore_in_place(env, saved)
            if global_generators is not None:
                restore_global_generators(global_generators)
            got, _ = _run(env, actions)
            report.divergence = _compare(expected, got, name)
            if report.divergence is not None:
                break
        if report.divergence is None:
            branch = make_branch_copy(env)
            try:
                set_state(branch, state)
                if global_generators is not None:
                    restore_global_generators(global_generators)
                got, _ = _run(branch, actions)
            finally:
                branch.close()
            report.divergence = _compare(expected, got, "branch copy")
        repeats = 200
        start = time.perf_counter()
        for _ in range(repeats):
            _restore_in_place(env, get_state(env))
        report.save_restore_us = (time.perf_counter() - start) / repeats * 1e6
    except CloningError as error:
        report.error = str(error)
    except Exception as error:
        report.error = f"{type(error).__name__}: {error}"
        report.recommendation = (
            "save/restore raised an exception; check that set_state() accepts exactly what get_state() "
            "returns."
        )
    if report.divergence is not None:
        report.recommendation = (
            "get_state() misses part of the state that step()/reset() use "
            f"({report.divergence.field} differed). "
            "Save every attribute that step() and reset() read or write, copy mutable ones (lists, arrays "
            "changed in place), and include the random number generator: "
            "`self.np_random.bit_generator.state` (restore it with "
            "`self.np_random.bit_generator.state = ...`). "
            "Do not draw from global generators (`random`, `np.random`)."
        )
        if report.divergence.replay == "pickled":
            report.recommendation = (
                "the state restores correctly as an object but not after pickling: make the state pickle "
                "every value it refers to."
            )
    elif report.error is not None and not report.recommendation:
        report.recommendation = HOW_TO_FIX
    if report.error is None and report.divergence is None and global_generators is not None:
        report.recommendation = (
            "the env draws from the process's global random generators (np.random or random): GRPO rewinds "
            "them for its copies, which is exact with one sub-env per process (n_envs=1 or SubprocVecEnv); "
            "drawing from self.np_random instead makes it exact everywhere."
        )
    if not report.picklable:
        note = f"the state cannot be pickled ({pickle_error}); SubprocVecEnv needs picklable states."
        report.recommendation = f"{report.recommendation} Also, {note}" if report.recommendation else note
    report.ok = report.error is None and report.divergence is None
    if raise_error and not report.ok:
        raise CloningError(str(report))
    return report
