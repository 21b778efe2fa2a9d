"""Model-agnostic GRPO core (torch + numpy only): protocols, advantages, objective, experience, trainer.

Nothing here imports Stable-Baselines3 or Gymnasium; any policy and reward model that satisfy
:class:`PolicyModel` and :class:`RewardModel` can be trained with :class:`GRPOTrainer`.
"""

from sb3_grpo.core.advantages import AdvantageScaling, Baseline, group_advantages, zero_std_groups
from sb3_grpo.core.config import GRPOConfig
from sb3_grpo.core.experience import GroupExperience, collect_experience, repeat_states
from sb3_grpo.core.objective import GRPOLossOutput, KLEstimator, grpo_loss, kl_divergence
from sb3_grpo.core.protocols import PolicyModel, RewardModel, SupportsEntropy, check_protocol
from sb3_grpo.core.trainer import GRPOTrainer, make_optimizer

__all__ = [
    "AdvantageScaling",
    "Baseline",
    "GRPOConfig",
    "GRPOLossOutput",
    "GRPOTrainer",
    "GroupExperience",
    "KLEstimator",
    "PolicyModel",
    "RewardModel",
    "SupportsEntropy",
    "check_protocol",
    "collect_experience",
    "group_advantages",
    "grpo_loss",
    "kl_divergence",
    "make_optimizer",
    "repeat_states",
    "zero_std_groups",
]
