"""Optuna search space of GRPO for the zoo's ``-optimize`` (``HYPERPARAMS_SAMPLER["grpo"]``).

:func:`sample_grpo_params` draws the raw values (powers of two, ``1 - gamma``, an architecture name);
:func:`convert_grpo_params` turns them into GRPO's constructor arguments. The zoo calls the converter
on a stored trial's ``params`` for ``--trial-id``, so it depends on those params only.

``batch_size`` never exceeds ``n_steps x group_size``, the rollout of one sub-env: a rollout holds
``n_steps x n_envs x group_size`` samples, so the sampled minibatch fits whatever ``n_envs`` is, and
being powers of two, it divides the rollout.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import optuna
from torch import nn

#: Policy architectures by name (GRPO has no critic: one list of hidden layers).
NET_ARCHS: dict[str, list[int]] = {
    "linear": [],
    "tiny": [64],
    "small": [64, 64],
    "medium": [256, 256],
}

#: Activation functions by name.
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


def sample_grpo_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """
    Sample GRPO hyperparameters (the zoo's sampler signature).

    :param trial: The optuna trial to draw from
    :param n_actions: Dimension of a continuous action space (unused: GRPO needs no action noise)
    :param n_envs: Number of training sub-envs (unused: the batch size is bounded per sub-env)
    :param additional_args: Extra information from the zoo (unused)
    :return: keyword arguments for :class:`sb3_grpo.GRPO`
    """
    sampled = {
        "group_size_pow": trial.suggest_int("group_size_pow", 1, 4),  # G from 2 to 16
        "branch_horizon": trial.suggest_categorical("branch_horizon", [0, 1, 2, 4, 8, 16, 32, 64, 128]),
        "branch_interval": trial.suggest_categorical("branch_interval", [1, 2, 4, 8, 16]),
        "branch_noise": trial.suggest_categorical("branch_noise", ["independent", "common"]),
        "n_steps_pow": trial.suggest_int("n_steps_pow", 0, 7),  # 1 to 128 decisions (or groups)
        "batch_size_pow": trial.suggest_int("batch_size_pow", 1, 10),  # 2 to 1024, then bounded
        "n_epochs": trial.suggest_categorical("n_epochs", [1, 2, 4, 8]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 0.1, log=True),
        "one_minus_gamma": trial.suggest_float("one_minus_gamma", 1e-4, 0.1, log=True),
        "clip_range": trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3, 0.4]),
        "kl_coef": trial.suggest_categorical("kl_coef", [0.0, 0.001, 0.01, 0.1]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
        "net_arch": trial.suggest_categorical("net_arch", list(NET_ARCHS)),
        "activation_fn": trial.suggest_categorical("activation_fn", list(ACTIVATIONS)),
    }
    hyperparams = convert_grpo_params(sampled)
    # Shown in the zoo's report beside the raw values.
    for name in ("group_size", "n_steps", "batch_size", "gamma"):
        trial.set_user_attr(name, hyperparams[name])
    # Which machine and process ran the trial: workers on several machines share one study.
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    return hyperparams


def convert_grpo_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """
    Turn sampled values into GRPO's keyword arguments (the zoo's ``HYPERPARAMS_CONVERTER`` signature).

    :param sampled_params: The values drawn by :func:`sample_grpo_params` (a trial's ``params``)
    :return: keyword arguments for :class:`sb3_grpo.GRPO`
    """
    params = dict(sampled_params)
    group_size = 2 ** params.pop("group_size_pow")
    n_steps = 2 ** params.pop("n_steps_pow")
    batch_size = min(2 ** params.pop("batch_size_pow"), n_steps * group_size)
    gamma = 1.0 - params.pop("one_minus_gamma")
    net_arch = NET_ARCHS[params.pop("net_arch")]
    activation_fn = ACTIVATIONS[params.pop("activation_fn")]
    return {
        **params,
        "group_size": group_size,
        "n_steps": n_steps,
        "batch_size": batch_size,
        "gamma": gamma,
        "policy_kwargs": {"net_arch": net_arch, "activation_fn": activation_fn},
    }
