"""Make ``grpo`` an algorithm of the RL Baselines3 Zoo (``rl_zoo3``), the way the zoo takes external ones.

:func:`register_grpo` fills the zoo's own tables (``rl_zoo3.utils.ALGOS``, the optuna sampler and
converter tables) and swaps its evaluation callbacks for ones paced by env transitions
(:mod:`sb3_grpo.zoo.callbacks`); after it, the zoo's ``train``, ``enjoy``, ``record_video`` and
``-optimize`` accept ``--algo grpo``. :func:`register_env_alias` lets the zoo take a
``module:EnvId`` name such as ``sb3_grpo.envs:DynamicBandit-v0``.
"""

from __future__ import annotations

import importlib

import gymnasium as gym
import rl_zoo3.exp_manager
import rl_zoo3.hyperparams_opt
import rl_zoo3.utils

from sb3_grpo.grpo import GRPO
from sb3_grpo.zoo.callbacks import TransitionEvalCallback, TransitionTrialEvalCallback
from sb3_grpo.zoo.sampler import convert_grpo_params, sample_grpo_params

#: The key of GRPO in the zoo's tables (``--algo grpo``, ``logs/grpo/``, ``hyperparams/grpo.yml``).
ALGO_NAME = "grpo"


def register_grpo() -> None:
    """Register GRPO in ``rl_zoo3`` (idempotent).

    - ``rl_zoo3.utils.ALGOS["grpo"] = GRPO``: ``--algo grpo`` for ``train``, ``enjoy``, ``record_video``;
    - ``rl_zoo3.hyperparams_opt.HYPERPARAMS_SAMPLER["grpo"]`` and ``HYPERPARAMS_CONVERTER["grpo"]``:
      ``-optimize`` and ``--trial-id``;
    - the experiment manager's ``EvalCallback``/``TrialEvalCallback`` become their transition-paced
      subclasses, so that ``--eval-freq`` and ``--n-evaluations`` count env transitions for GRPO as they
      do for the other algorithms (other algorithms are evaluated as before).
    """
    rl_zoo3.utils.ALGOS[ALGO_NAME] = GRPO
    rl_zoo3.hyperparams_opt.HYPERPARAMS_SAMPLER[ALGO_NAME] = sample_grpo_params
    rl_zoo3.hyperparams_opt.HYPERPARAMS_CONVERTER[ALGO_NAME] = convert_grpo_params
    rl_zoo3.exp_manager.EvalCallback = TransitionEvalCallback  # type: ignore[misc]
    rl_zoo3.exp_manager.TrialEvalCallback = TransitionTrialEvalCallback  # type: ignore[misc]


def register_env_alias(env_id: str) -> None:
    """Let the zoo find an env given as ``module:EnvId`` (``sb3_grpo.envs:DynamicBandit-v0``).

    Gymnasium's ``make("module:EnvId")`` imports ``module`` first, but the zoo first looks the name up in
    the registry as it is, and stops. This imports ``module`` and files the spec under the full name too.
    Names without a module are left alone (``--gym-packages`` is the zoo's way for those).

    :param env_id: The ``--env`` value
    :raises ValueError: if the module does not register ``EnvId``
    """
    if ":" not in env_id or env_id in gym.registry:
        return
    module, name = env_id.split(":", 1)
    importlib.import_module(module)
    if name not in gym.registry:
        raise ValueError(f"Importing {module!r} did not register {name!r}: check the env id after the ':'.")
    gym.registry[env_id] = gym.registry[name]
