"""Train a small torch policy (not an SB3 policy) with the GRPO core on a contextual choice task.

Task: a context ``x ~ N(0, I_d)`` is shown with ``K`` choices. A reward model scores every choice with a
hidden linear function ``W* x`` and pays 1 for the top-scoring choice, 0 otherwise, so the best possible
expected reward is 1 and a uniformly random policy gets ``1 / K``. The policy is a small MLP over the
context; it never sees ``W*``, only the rewards of the ``G`` choices it samples per context.

``train()`` returns the policy's expected reward on held-out contexts as a fraction of the best possible
(computed exactly from its action probabilities, not sampled).

Run: ``python examples/core_contextual_choice.py``
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from sb3_grpo import GRPOConfig, GRPOTrainer


class ChoicePolicy(nn.Module):
    """pi(k|x) = softmax(MLP(x))_k. States are a (S, d) tensor; actions are ints in [0, K)."""

    def __init__(self, context_dim: int, num_choices: int, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(context_dim, hidden), nn.Tanh(), nn.Linear(hidden, num_choices))

    def distribution(self, states: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.net(states))

    # --- PolicyModel protocol -------------------------------------------------------------------
    def generate_actions(
        self, states: torch.Tensor, num_actions_per_state: int, **kwargs: Any
    ) -> list[list[int]]:
        actions = self.distribution(states).sample((num_actions_per_state,))  # (G, S)
        return actions.T.tolist()  # S lists of G ints

    def get_log_probabilities(self, states: torch.Tensor, actions: list[int]) -> torch.Tensor:
        return self.distribution(states).log_prob(torch.as_tensor(actions))

    def get_parameters(self) -> dict[str, torch.Tensor]:
        return dict(self.named_parameters())

    # optional: the exact entropy, used for the entropy bonus instead of the -log pi(a|s) estimate
    def entropy(self, states: torch.Tensor) -> torch.Tensor:
        return self.distribution(states).entropy()


class TopChoiceReward(nn.Module):
    """Pays 1 for the choice with the highest hidden score ``(W* x)_k``, else 0."""

    w_star: torch.Tensor

    def __init__(self, context_dim: int, num_choices: int, generator: torch.Generator) -> None:
        super().__init__()
        self.register_buffer("w_star", torch.randn(num_choices, context_dim, generator=generator))

    def best_choice(self, states: torch.Tensor) -> torch.Tensor:
        return (states @ self.w_star.T).argmax(dim=-1)

    # --- RewardModel protocol -------------------------------------------------------------------
    def compute_rewards(self, states: torch.Tensor, actions: list[int]) -> torch.Tensor:
        return (torch.as_tensor(actions) == self.best_choice(states)).float()


def fraction_of_best(policy: ChoicePolicy, reward_model: TopChoiceReward, contexts: torch.Tensor) -> float:
    """Expected reward of ``policy`` over ``contexts`` divided by the best possible (1 per context)."""
    with torch.no_grad():
        probs = policy.distribution(contexts).probs
        return float(probs.gather(1, reward_model.best_choice(contexts).unsqueeze(1)).mean())


def train(
    num_steps: int = 100,
    contexts_per_step: int = 64,
    context_dim: int = 6,
    num_choices: int = 5,
    seed: int = 0,
    verbose: bool = False,
) -> tuple[float, float]:
    """Train with GRPO; return the fraction of the best reward on held-out contexts ``(before, after)``."""
    config = GRPOConfig(
        group_size=8,
        learning_rate=0.01,
        clip_range=0.2,
        n_epochs=2,
        groups_per_batch=16,  # groups (contexts) per minibatch
        kl_coef=0.0,  # the reference policy is only monitored
        seed=seed,  # seeds torch's global generator, which the policy samples with
    )
    torch.manual_seed(seed)  # the policy's initial weights
    data = torch.Generator().manual_seed(seed)  # contexts and the hidden scorer
    policy = ChoicePolicy(context_dim, num_choices)
    reference = copy.deepcopy(policy).requires_grad_(False)
    reward_model = TopChoiceReward(context_dim, num_choices, data)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    trainer = GRPOTrainer(config, policy, reference, reward_model, optimizer)

    held_out = torch.randn(2000, context_dim, generator=data)
    before = fraction_of_best(policy, reward_model, held_out)
    for step in range(num_steps):
        metrics = trainer.step(torch.randn(contexts_per_step, context_dim, generator=data))
        if verbose and step % 20 == 0:
            print(
                f"step {step:4d}  reward {metrics['reward_mean']:.3f}  entropy {metrics['entropy']:.3f}  "
                f"kl_to_ref {metrics['kl']:.3f}  clip_fraction {metrics['clip_fraction']:.3f}  "
                f"zero_std_groups {metrics['frac_zero_std_groups']:.2f}"
            )
    after = fraction_of_best(policy, reward_model, held_out)
    return before, after


def main() -> float:
    before, after = train(verbose=True)
    print(f"expected reward / best possible: {before:.3f} (chance) -> {after:.3f} after GRPO")
    return after


if __name__ == "__main__":
    main()
