"""Exact comparison of step outputs (observations, rewards, infos), reporting where they differ."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

#: info keys whose values are wall-clock times, which no replay can reproduce
TIME_KEYS = frozenset({"t", "episode_time", "time"})


def first_difference(expected: Any, got: Any, path: str = "") -> str | None:
    """Compare two step outputs exactly and describe the first difference.

    Arrays and floats must be bit-for-bit equal (NaN equals NaN). Inside an ``info["episode"]``
    dictionary, the wall-clock time entries (``"t"``) are ignored.

    :param expected: the value seen on the first run.
    :param got: the value seen on the replay.
    :param path: where the values sit, e.g. ``"info['episode']"``, used in the description.
    :return: ``None`` when equal, else a one-line description of the first difference.
    """
    where = path or "value"
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        a, b = np.asarray(expected), np.asarray(got)
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{where}: shape/dtype {a.shape}/{a.dtype} != {b.shape}/{b.dtype}"
        equal_nan = a.dtype.kind in "fc"
        if not np.array_equal(a, b, equal_nan=equal_nan):
            index = np.flatnonzero(~_elementwise_equal(a, b))[0]
            return f"{where}: {a.ravel()[index]!r} != {b.ravel()[index]!r} at flat index {index}"
        return None
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        if set(expected) != set(got):
            return f"{where}: keys {sorted(map(str, expected))} != {sorted(map(str, got))}"
        for key in expected:
            if path.endswith("['episode']") and key in TIME_KEYS:
                continue
            diff = first_difference(expected[key], got[key], f"{where}[{key!r}]")
            if diff is not None:
                return diff
        return None
    if isinstance(expected, (tuple, list)) and isinstance(got, (tuple, list)):
        if type(expected) is not type(got) or len(expected) != len(got):
            return f"{where}: {expected!r} != {got!r}"
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            diff = first_difference(a, b, f"{where}[{i}]")
            if diff is not None:
                return diff
        return None
    if isinstance(expected, float) and isinstance(got, float) and math.isnan(expected) and math.isnan(got):
        return None
    try:
        equal = bool(expected == got)
    except Exception:  # objects whose == is not a bool
        equal = repr(expected) == repr(got)
    return None if equal else f"{where}: {expected!r} != {got!r}"


def _elementwise_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    equal = np.asarray(a == b).reshape(-1)
    if a.dtype.kind in "fc":
        equal |= (np.isnan(a) & np.isnan(b)).reshape(-1)
    return equal
