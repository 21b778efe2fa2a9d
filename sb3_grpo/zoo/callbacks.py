"""The zoo's evaluation callbacks, with their frequency counted in env transitions for GRPO.

The zoo turns ``--eval-freq`` (and, when tuning, ``n_timesteps / n_evaluations``) into a number of
callback calls, assuming one call per ``n_envs`` transitions. GRPO calls its callbacks once per
*decision*, and a decision costs ``1 + G x (1 + H)`` transitions at most (the group's branches), so the
zoo's evaluations would come up to that many times too late, and a tuning trial would often end without
a single evaluation (its score: ``-inf``). :class:`sb3_grpo.callbacks.EvalCallback` evaluates once
``num_timesteps`` has grown by ``eval_freq x n_envs`` since the last evaluation, which is what the zoo
means for every algorithm (and what SB3's does for the others, one call being ``n_envs`` transitions).
"""

from __future__ import annotations

from rl_zoo3.callbacks import TrialEvalCallback

from sb3_grpo.callbacks import EvalCallback

#: the zoo's ``EvalCallback``, paced by transitions (one copy: :class:`sb3_grpo.callbacks.EvalCallback`)
TransitionEvalCallback = EvalCallback


class TransitionTrialEvalCallback(EvalCallback, TrialEvalCallback):
    """The zoo's :class:`~rl_zoo3.callbacks.TrialEvalCallback` (evaluate, report to optuna, prune), paced
    by env transitions.

    Takes the same arguments as :class:`~rl_zoo3.callbacks.TrialEvalCallback`.
    """
