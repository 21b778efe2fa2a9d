"""The Stable-Baselines3 algorithm: ``GRPO(OnPolicyAlgorithm)`` and its actor-only policies."""

from sb3_grpo.grpo.grpo import GRPO
from sb3_grpo.grpo.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["GRPO", "CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
