"""sb3-grpo: Group-Relative Policy Optimization (GRPO) in the style of Stable-Baselines3.

Importing it registers the bandit env ids of :mod:`sb3_grpo.envs` (``DynamicBandit-v0``...) with
gymnasium, which since 1.0 loads no plugins by itself.
"""

import sb3_grpo.envs  # noqa: F401  (registers the bandit env ids)
from sb3_grpo.core import (
    GroupExperience,
    GRPOConfig,
    GRPOLossOutput,
    GRPOTrainer,
    PolicyModel,
    RewardModel,
    SupportsEntropy,
    group_advantages,
    grpo_loss,
    kl_divergence,
    make_optimizer,
    zero_std_groups,
)
from sb3_grpo.grpo import GRPO

#: The package version, read by setuptools at build time (the one place it is written).
__version__ = "0.1.0"

__all__ = [
    "GRPO",
    "GRPOConfig",
    "GRPOLossOutput",
    "GRPOTrainer",
    "GroupExperience",
    "PolicyModel",
    "RewardModel",
    "SupportsEntropy",
    "__version__",
    "group_advantages",
    "grpo_loss",
    "kl_divergence",
    "make_optimizer",
    "zero_std_groups",
]
