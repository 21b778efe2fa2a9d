"""Minimal example of the model-agnostic GRPO core.

A tabular softmax policy over 3 actions learns, for integer states, to pick ``action == state % 3``.
Neither the policy nor the reward model inherits from anything: they only have the methods of the
``PolicyModel`` and ``RewardModel`` protocols.

Run: ``python examples/core_minimal.py``
"""

from __future__ import annotations

from typing import Any

import torch

from sb3_grpo import GRPOConfig, GRPOTrainer


class TabularPolicy:
    """pi(a|s) = softmax(logits[s]); states are ints in [0, num_states), actions ints in [0, num_actions)."""

    def __init__(self, num_states: int, num_actions: int) -> None:
        self.logits = torch.zeros(num_states, num_actions, requires_grad=True)

    def generate_actions(
        self, states: list[int], num_actions_per_state: int, **kwargs: Any
    ) -> list[list[int]]:
        probs = torch.softmax(self.logits[torch.as_tensor(states)], dim=-1)
        return torch.multinomial(probs, num_actions_per_state, replacement=True).tolist()

    def get_log_probabilities(self, states: list[int], actions: list[int]) -> torch.Tensor:
        # states are the flat states: each state repeated G times, aligned with the flat actions
        log_probs = torch.log_softmax(self.logits[torch.as_tensor(states)], dim=-1)
        return log_probs.gather(1, torch.as_tensor(actions).unsqueeze(1)).squeeze(1)

    def get_parameters(self) -> dict[str, torch.Tensor]:
        return {"logits": self.logits}

    def train(self) -> TabularPolicy:
        return self

    def eval(self) -> TabularPolicy:
        return self

    def to(self, device: Any) -> TabularPolicy:
        self.logits = self.logits.detach().to(device).requires_grad_()
        return self


class MatchReward:
    """Reward 1 when ``action == state % 3``, else 0."""

    def compute_rewards(self, states: list[int], actions: list[int]) -> torch.Tensor:
        return (torch.as_tensor(actions) == torch.as_tensor(states) % 3).float()

    def train(self) -> MatchReward:
        return self

    def eval(self) -> MatchReward:
        return self

    def to(self, device: Any) -> MatchReward:
        return self


def main(num_steps: int = 30) -> list[dict[str, float]]:
    config = GRPOConfig(group_size=4, learning_rate=0.1, seed=0)
    policy = TabularPolicy(num_states=6, num_actions=3)
    optimizer = torch.optim.Adam(policy.get_parameters().values(), lr=config.learning_rate)
    trainer = GRPOTrainer(config, policy, None, MatchReward(), optimizer)

    states = [0, 1, 2, 3, 4, 5]
    history = []
    for step in range(num_steps):
        metrics = trainer.step(states)
        history.append(metrics)
        if step == 0:
            print("metrics of the first step:")
            for key, value in metrics.items():
                print(f"  {key:22s} {value:.4f}")
        elif step % 10 == 9:
            print(f"step {step + 1:3d}  reward_mean {metrics['reward_mean']:.3f}")
    return history


if __name__ == "__main__":
    main()
