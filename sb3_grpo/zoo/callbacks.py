"""The zoo's evaluation callbacks, with their frequency counted in env transitions for GRPO.

The zoo turns ``--eval-freq`` (and, when tuning, ``n_timesteps / n_evaluations``) into a number of
callback calls, assuming one call per ``n_envs`` transitions. GRPO calls its callbacks once per
*decision*, and a decision costs ``1 + G x (1 + H)`` transitions at most (the group's branches), so the
zoo's evaluations would come up to that many times too late, and a tuning trial would often end without
a single evaluation (its score: ``-inf``). These subclasses evaluate once ``num_timesteps`` has grown
by ``eval_freq x n_envs`` since the last evaluation, which is what the zoo means for every algorithm.
Other algorithms keep the parent's behaviour.
"""

from __future__ import annotations

from rl_zoo3.callbacks import TrialEvalCallback
from stable_baselines3.common.callbacks import EvalCallback

from sb3_grpo.grpo import GRPO


class TransitionEvalCallback(EvalCallback):
    """SB3's :class:`~stable_baselines3.common.callbacks.EvalCallback`, paced by GRPO's transitions.

    Takes the same arguments as its parent; ``eval_freq`` is in callback calls per sub-env, as the zoo
    computes it.
    """

    _next_eval: int = 0

    def _init_callback(self) -> None:
        super()._init_callback()
        self._next_eval = self.model.num_timesteps + self._transition_interval()

    def _transition_interval(self) -> int:
        """Transitions between two evaluations: the zoo's ``eval_freq`` (per sub-env) times ``n_envs``."""
        return max(self.eval_freq, 1) * self.training_env.num_envs

    def _on_step(self) -> bool:
        if not isinstance(self.model, GRPO) or self.eval_freq <= 0:
            return super()._on_step()
        if self.model.num_timesteps < self._next_eval:
            return True
        interval = self._transition_interval()
        while self._next_eval <= self.model.num_timesteps:
            self._next_eval += interval
        # The parent evaluates when ``n_calls % eval_freq == 0``: with a frequency of 1 it evaluates now.
        eval_freq, self.eval_freq = self.eval_freq, 1
        try:
            return super()._on_step()
        finally:
            self.eval_freq = eval_freq


class TransitionTrialEvalCallback(TransitionEvalCallback, TrialEvalCallback):
    """The zoo's :class:`~rl_zoo3.callbacks.TrialEvalCallback` (evaluate, report to optuna, prune), paced
    by GRPO's transitions.

    Takes the same arguments as :class:`~rl_zoo3.callbacks.TrialEvalCallback`.
    """
