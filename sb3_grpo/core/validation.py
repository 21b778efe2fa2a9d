"""Type checks of hyperparameters, shared by :class:`~sb3_grpo.core.config.GRPOConfig` and ``GRPO``.

Each rule is written once here; the range rules of each knob stay beside the knob. A number must be a
finite real (``NaN`` fails every comparison, so a range check alone lets it through, and the first update
then turns every weight into ``NaN``); a string or a bool is not a number; a flag must be a real bool
(``"False"`` is truthy).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np


def is_finite_real(value: Any) -> bool:
    """Whether ``value`` is a finite real number (Python or numpy; bools excluded).

    :param value: the value to test.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    return math.isfinite(float(value))


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or numpy; bools excluded).

    :param value: the value to test.
    """
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_finite_real(name: str, value: Any, optional: bool = False, schedule: bool = False) -> None:
    """Raise unless ``value`` is a finite real number.

    :param name: the hyperparameter's name, for the message.
    :param value: its value.
    :param optional: ``None`` is allowed.
    :param schedule: a callable (a schedule of the remaining progress) is allowed.
    :raises ValueError: naming the hyperparameter, the value and what to pass instead.
    """
    if (optional and value is None) or (schedule and callable(value)) or is_finite_real(value):
        return
    allowed = "a finite number" + (" or a schedule" if schedule else "") + (" or None" if optional else "")
    hint = " (a string from a config file? convert it with float())" if isinstance(value, str) else ""
    raise ValueError(f"{name} must be {allowed}, got {value!r}{hint}.")


def check_bool(name: str, value: Any) -> None:
    """Raise unless ``value`` is a bool (numpy's included).

    :param name: the hyperparameter's name, for the message.
    :param value: its value.
    :raises ValueError: naming the hyperparameter; a string such as ``"False"`` would count as true.
    """
    if isinstance(value, (bool, np.bool_)):
        return
    raise ValueError(
        f"{name} must be True or False, got {value!r}"
        + (
            " (a string counts as True: write false/true without quotes in YAML)"
            if isinstance(value, str)
            else ""
        )
        + "."
    )
