"""sb3-grpo: Group-Relative Policy Optimization (GRPO) in the style of Stable-Baselines3."""

from sb3_grpo.callbacks import CheckpointCallback, EvalCallback
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

__version__ = "0.1.0"

__all__ = [
    "GRPO",
    "CheckpointCallback",
    "EvalCallback",
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
