"""Learning-rate schedules of GRPO's defaults."""

from __future__ import annotations


class LinearDecay:
    """
    ``initial * progress_remaining``: from ``initial`` at the start of :meth:`GRPO.learn` down to 0 at its
    budget, as rl-zoo's ``lin_<initial>`` (its PPO entry for CartPole uses ``lin_1e-3``).

    GRPO's default learning rate: once the policy is good, most groups tie and the few that do not move it
    by full-size steps; the decay ends a run on a settled policy (docs/benchmarks.md, "Staying solved").

    :param initial: The value at ``progress_remaining`` = 1
    """

    def __init__(self, initial: float) -> None:
        self.initial = initial

    def __call__(self, progress_remaining: float) -> float:
        """:param progress_remaining: 1 at the start of training, 0 at its end"""
        return self.initial * progress_remaining

    def __repr__(self) -> str:
        return f"LinearDecay({self.initial!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinearDecay) and other.initial == self.initial

    def __hash__(self) -> int:
        return hash(("LinearDecay", self.initial))


#: GRPO's default learning rate (an immutable value, shared by every model)
DEFAULT_LEARNING_RATE = LinearDecay(1e-3)
