"""SB3's ``EvalCallback`` and ``CheckpointCallback``, paced by env transitions instead of callback calls.

SB3 counts ``eval_freq`` and ``save_freq`` in callback calls, which for PPO are ``n_envs`` transitions
each. GRPO calls its callbacks once per *decision*, and a decision costs up to ``1 + G (H + 1)``
transitions per sub-env (its group's branches), or once per group of G whole episodes in episode mode:
SB3's callbacks would fire that many times less often than their frequency says (``eval_freq=100`` with
``learn(1500)`` never evaluates). These subclasses fire once ``num_timesteps`` has grown by
``freq x n_envs`` since they last fired, which is what the frequency means for PPO; for every SB3
algorithm that adds ``n_envs`` transitions per call (PPO, A2C, DQN, SAC...) they fire at the same steps
as their parents.

:func:`warn_step_paced_callbacks` is what GRPO calls at the start of ``learn()`` to warn, once per
callback, about SB3's own step-paced callbacks.

:class:`TransitionProgressBarCallback` is the bar of ``learn(progress_bar=True)``, advanced by transitions;
:func:`pace_progress_bars` turns a user's own SB3 ``ProgressBarCallback`` into one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import ClassVar

from stable_baselines3.common import callbacks as sb3_callbacks
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EventCallback


class _TransitionPaced(BaseCallback):
    """Fires the parent's ``_on_step`` every ``freq x n_envs`` transitions (``freq``: see below)."""

    #: the name of the parent's frequency attribute, in callback calls per sub-env
    frequency_attribute: ClassVar[str]
    _next_fire: int = 0

    def _init_callback(self) -> None:
        super()._init_callback()
        self._next_fire = self.model.num_timesteps + self._interval()

    def _interval(self) -> int:
        """Transitions between two firings: the frequency (per sub-env) times ``n_envs``."""
        return max(int(getattr(self, self.frequency_attribute)), 1) * self.training_env.num_envs

    def _on_step(self) -> bool:
        frequency = getattr(self, self.frequency_attribute)
        if frequency <= 0 or self.model.num_timesteps < self._next_fire:
            return True
        interval = self._interval()
        while self._next_fire <= self.model.num_timesteps:
            self._next_fire += interval
        # The parent fires when ``n_calls % freq == 0``: with a frequency of 1 it fires now.
        setattr(self, self.frequency_attribute, 1)
        try:
            return super()._on_step()
        finally:
            setattr(self, self.frequency_attribute, frequency)


class EvalCallback(_TransitionPaced, sb3_callbacks.EvalCallback):
    """SB3's :class:`~stable_baselines3.common.callbacks.EvalCallback`, paced by env transitions.

    Same arguments; ``eval_freq`` evaluates every ``eval_freq x n_envs`` transitions (branch steps
    included), as it does for PPO.
    """

    frequency_attribute = "eval_freq"


class CheckpointCallback(_TransitionPaced, sb3_callbacks.CheckpointCallback):
    """SB3's :class:`~stable_baselines3.common.callbacks.CheckpointCallback`, paced by env transitions.

    Same arguments; ``save_freq`` saves every ``save_freq x n_envs`` transitions (branch steps included),
    as it does for PPO.
    """

    frequency_attribute = "save_freq"


class TransitionProgressBarCallback(sb3_callbacks.ProgressBarCallback):
    """SB3's progress bar, advanced by the transitions actually made (GRPO's branch steps included)."""

    _start: int = 0

    def _on_step(self) -> bool:
        self.pbar.update(self.model.num_timesteps - self.pbar.n - self._start)
        return True

    def _on_training_start(self) -> None:
        self._start = self.model.num_timesteps
        super()._on_training_start()


def pace_progress_bars(callback: BaseCallback) -> None:
    """Make SB3's ``ProgressBarCallback`` objects in ``callback`` advance by transitions.

    SB3's bar advances by ``n_envs`` per callback call, and GRPO calls callbacks once per decision, worth
    up to ``1 + G (H + 1) / k`` transitions: a bar given by the user (``CallbackList([...,
    ProgressBarCallback()])``) would stop far short of the budget. Its class becomes
    :class:`TransitionProgressBarCallback`, which holds no other state.

    :param callback: the callback ``learn()`` runs
    """
    for child in _all_callbacks(callback):
        if type(child) is sb3_callbacks.ProgressBarCallback:
            child.__class__ = TransitionProgressBarCallback


#: SB3 callbacks whose frequency counts callback calls, and their frequency attribute
_STEP_PACED: tuple[tuple[type[BaseCallback], str, str], ...] = (
    (sb3_callbacks.EvalCallback, "eval_freq", "EvalCallback"),
    (sb3_callbacks.CheckpointCallback, "save_freq", "CheckpointCallback"),
)


def _all_callbacks(callback: BaseCallback | None) -> Iterator[BaseCallback]:
    """``callback`` and every callback it holds (lists, event callbacks' children)."""
    if callback is None:
        return
    yield callback
    if isinstance(callback, CallbackList):
        for child in callback.callbacks:
            yield from _all_callbacks(child)
    if isinstance(callback, EventCallback):
        yield from _all_callbacks(callback.callback)


def warn_step_paced_callbacks(callback: BaseCallback, transitions_per_call: float, how: str) -> None:
    """Warn (once per callback) about SB3 callbacks that would fire far less often than their frequency says.

    :param callback: the callback ``learn()`` runs.
    :param transitions_per_call: env transitions per callback call and sub-env (at most).
    :param how: what one call stands for, for the message (e.g. ``"1 + G(H+1) = 37"``).
    """
    if transitions_per_call < 2:
        return
    for child in _all_callbacks(callback):
        if isinstance(child, _TransitionPaced) or getattr(child, "_sb3_grpo_warned", False):
            continue
        for step_paced, attribute, name in _STEP_PACED:
            frequency = getattr(child, attribute, 0)
            if isinstance(child, step_paced) and frequency > 0:
                child._sb3_grpo_warned = True  # type: ignore[attr-defined]
                warnings.warn(
                    f"{type(child).__name__}({attribute}={frequency}) counts callback calls, and GRPO calls "
                    f"callbacks once per decision, worth up to {how} transitions per sub-env: it would fire "
                    f"about {transitions_per_call:.0f}x less often than {attribute} says. Use "
                    f"sb3_grpo.{name} instead (same arguments, paced by env transitions as for PPO).",
                    UserWarning,
                    stacklevel=4,
                )
