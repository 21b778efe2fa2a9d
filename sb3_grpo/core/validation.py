"""Checks of hyperparameters: one rule per knob, shared by :class:`~sb3_grpo.core.config.GRPOConfig`,
:func:`~sb3_grpo.core.objective.grpo_loss`, :func:`~sb3_grpo.core.advantages.group_advantages` and ``GRPO``.

A number must be a finite real (``NaN`` fails every comparison, so a range check alone lets it through,
and the first update then turns every weight into ``NaN``); a string or a bool is not a number; a flag
must be a real bool (``"False"`` is truthy); a choice is checked against the ``Literal`` type that
declares it (``typing.get_args``), so the allowed values are written once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal, get_args, get_origin

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


@dataclass(frozen=True)
class Rule:
    """What values a numeric hyperparameter accepts.

    :param integer: an integer (else a finite real number).
    :param minimum: the lowest value allowed (None: no lower bound).
    :param strict: the value must be above ``minimum``, not equal to it.
    :param maximum: the highest value allowed (None: no upper bound).
    :param optional: ``None`` is allowed.
    :param schedule: a callable (a schedule of the remaining progress) is allowed where the caller
        accepts schedules.
    :param hint: appended to the message: what the value means or what to pass.
    """

    integer: bool = False
    minimum: float | None = None
    strict: bool = False
    maximum: float | None = None
    optional: bool = False
    schedule: bool = False
    hint: str = ""

    def describe(self, schedules: bool) -> str:
        """What the rule allows, in words ("a finite number > 0 or a schedule")."""
        what = "an integer" if self.integer else "a finite number"
        if self.minimum is not None and self.maximum is not None:
            what += f" in [{self.minimum:g}, {self.maximum:g}]"
        elif self.minimum is not None:
            what += f" {'>' if self.strict else '>='} {self.minimum:g}"
        if self.schedule and schedules:
            what += " or a schedule"
        if self.optional:
            what += " or None"
        return what

    def check(self, name: str, value: Any, schedules: bool = False) -> None:
        """Raise unless ``value`` obeys the rule.

        :param name: the hyperparameter's name, for the message.
        :param value: its value.
        :param schedules: the caller accepts a schedule (callable) where the rule allows one.
        :raises ValueError: naming the hyperparameter, the value and what to pass instead.
        """
        if (self.optional and value is None) or (self.schedule and schedules and callable(value)):
            return
        valid = is_integer(value) if self.integer else is_finite_real(value)
        if valid and self.minimum is not None:
            valid = value > self.minimum if self.strict else value >= self.minimum
        if valid and self.maximum is not None:
            valid = value <= self.maximum
        if valid:
            return
        hint = (
            " (a string from a config file? convert it with float() or int())"
            if isinstance(value, str)
            else ""
        )
        raise ValueError(
            f"{name} must be {self.describe(schedules)}, got {value!r}{hint}"
            + (f"; {self.hint}" if self.hint else "")
            + "."
        )


#: The rule of each hyperparameter that the core and ``GRPO`` share (``GRPO`` adds its own beside it).
RULES: dict[str, Rule] = {
    "group_size": Rule(
        integer=True, minimum=2, hint="a group-relative advantage compares at least two members of a group"
    ),
    "learning_rate": Rule(minimum=0, strict=True, schedule=True),
    "clip_range": Rule(minimum=0, strict=True, schedule=True, hint="0.1-0.3 is usual (eps_low)"),
    "clip_range_high": Rule(
        minimum=0, strict=True, optional=True, hint="None clips symmetrically at clip_range (DAPO uses 0.28)"
    ),
    "kl_coef": Rule(minimum=0, hint="0 disables the KL penalty (DeepSeekMath uses 0.04)"),
    "ent_coef": Rule(minimum=0),
    "advantage_eps": Rule(minimum=0),
    "n_epochs": Rule(integer=True, minimum=1),
    "groups_per_batch": Rule(
        integer=True, minimum=1, optional=True, hint="None puts every group in one minibatch"
    ),
    "max_grad_norm": Rule(minimum=0, strict=True, optional=True, hint="None does not clip the gradient"),
    "seed": Rule(integer=True, optional=True),
}


def check(name: str, value: Any) -> None:
    """Check one shared hyperparameter by its rule in :data:`RULES` (no schedules).

    :param name: a key of :data:`RULES`.
    :param value: its value.
    :raises ValueError: when the value breaks the rule.
    """
    RULES[name].check(name, value)


def check_choice(name: str, value: Any, choices: Any) -> None:
    """Raise unless ``value`` is one of the values of the ``Literal`` type ``choices``.

    :param name: the hyperparameter's name, for the message.
    :param value: its value.
    :param choices: a ``Literal[...]`` type.
    :raises ValueError: naming the allowed values.
    """
    allowed = get_args(choices)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}.")


def is_choice(annotation: Any) -> bool:
    """Whether ``annotation`` is a ``Literal`` type of strings (a hyperparameter with named choices)."""
    return get_origin(annotation) is Literal


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


def check_hyperparameters(
    values: Mapping[str, Any],
    annotations: Mapping[str, Any],
    rules: Mapping[str, Rule] = RULES,
    schedules: bool = False,
) -> None:
    """Check each hyperparameter by its one rule: a ``Literal`` annotation lists its choices, a ``bool``
    annotation makes it a flag, anything else is looked up in ``rules``.

    :param values: name -> value.
    :param annotations: name -> type annotation (``typing.get_type_hints`` of the class or function).
    :param rules: the numeric rules (default: the shared :data:`RULES`).
    :param schedules: the caller accepts schedules where a rule allows them.
    :raises ValueError: at the first value that breaks its rule.
    """
    for name, value in values.items():
        annotation = annotations.get(name)
        if is_choice(annotation):
            check_choice(name, value, annotation)
        elif annotation is bool:
            check_bool(name, value)
        else:
            rules[name].check(name, value, schedules=schedules)
