"""A model-agnostic GRPO trainer: any policy and reward model that satisfy the protocols.

One :meth:`GRPOTrainer.step` is DeepSeekMath's Algorithm 1 inner loop for one batch of states
(Shao et al. 2024, arXiv:2402.03300):

1. collect: sample ``G`` actions per state from ``pi_old`` (= the current policy), score them, record
   ``log pi_old`` and ``log pi_ref`` (:func:`~sb3_grpo.core.experience.collect_experience`);
2. advantages: group-relative, :func:`~sb3_grpo.core.advantages.group_advantages`;
3. update: ``n_epochs`` epochs over shuffled minibatches of ``groups_per_batch`` whole groups,
   minimising :func:`~sb3_grpo.core.objective.grpo_loss` with gradient-norm clipping.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from typing import Any

import torch

from sb3_grpo.core.advantages import group_advantages, zero_std_groups
from sb3_grpo.core.config import GRPOConfig
from sb3_grpo.core.experience import GroupExperience, collect_experience, num_states
from sb3_grpo.core.objective import grpo_loss
from sb3_grpo.core.protocols import PolicyModel, RewardModel, SupportsEntropy, check_protocol


def make_optimizer(policy: PolicyModel, config: GRPOConfig) -> torch.optim.Optimizer:
    """Adam over ``policy.get_parameters()`` with ``config.learning_rate``.

    :param policy: the policy to train.
    :param config: supplies ``learning_rate``.
    """
    params = [p for p in policy.get_parameters().values() if p.requires_grad]
    if not params:
        raise ValueError("policy.get_parameters() has no parameter with requires_grad=True; nothing to train")
    return torch.optim.Adam(params, lr=config.learning_rate)


class GRPOTrainer:
    """Group-Relative Policy Optimization for any policy/reward model satisfying the protocols.

    :param config: the hyperparameters, a :class:`~sb3_grpo.core.config.GRPOConfig`.
    :param policy: the policy to train, a :class:`~sb3_grpo.core.protocols.PolicyModel`. If it has an
        ``entropy(flat_states)`` method, the entropy term uses it; otherwise it is estimated from the
        sampled actions' log-probabilities.
    :param reference_policy: the frozen reference ``pi_ref`` of the KL penalty (a ``PolicyModel``), or
        None. Required when ``config.kl_coef > 0``; when given with ``kl_coef == 0`` its KL is still
        measured and reported. None skips every reference evaluation.
    :param reward_model: a :class:`~sb3_grpo.core.protocols.RewardModel`.
    :param optimizer: a ``torch.optim.Optimizer`` over the policy's parameters (see :func:`make_optimizer`).
        None = compute experience, advantages, losses and metrics but update nothing.
    :param generation_kwargs: keyword arguments passed to ``policy.generate_actions`` on every step.
    """

    def __init__(
        self,
        config: GRPOConfig,
        policy: PolicyModel,
        reference_policy: PolicyModel | None,
        reward_model: RewardModel,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        generation_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(config, GRPOConfig):
            raise TypeError(f"config must be a GRPOConfig, got {type(config).__name__}")
        check_protocol(policy, PolicyModel, "policy")
        check_protocol(reward_model, RewardModel, "reward_model")
        if reference_policy is not None:
            check_protocol(reference_policy, PolicyModel, "reference_policy")
            if reference_policy is policy:
                warnings.warn(
                    "reference_policy is the policy being trained, so the KL to it is always 0; pass a "
                    "frozen copy (e.g. copy.deepcopy(policy)) instead",
                    stacklevel=2,
                )
        elif config.kl_coef > 0:
            raise ValueError(
                f"kl_coef={config.kl_coef} > 0 needs a reference_policy to measure the KL against; pass "
                "one (e.g. a frozen copy.deepcopy(policy) made before training) or set kl_coef=0"
            )
        if optimizer is not None and not (
            callable(getattr(optimizer, "zero_grad", None)) and callable(getattr(optimizer, "step", None))
        ):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer (or None to update nothing), got "
                f"{type(optimizer).__name__}"
            )
        self.config = config
        self.policy = policy
        self.reference_policy = reference_policy
        self.reward_model = reward_model
        self.optimizer = optimizer
        self.generation_kwargs = dict(generation_kwargs or {})
        if config.seed is not None:
            torch.manual_seed(config.seed)
            shuffle_seed = config.seed
        else:
            shuffle_seed = int(torch.randint(0, 2**62, (1,)))
        self._shuffle_generator = torch.Generator().manual_seed(shuffle_seed)
        self.num_steps = 0
        self.num_gradient_steps = 0

    def collect(self, states: Any) -> GroupExperience:
        """Sample ``G`` actions per state and record rewards and log-probabilities (no grad).

        :param states: ``S >= 1`` states (tensor/array with states on the first axis, or a sequence).
        """
        return collect_experience(
            self.policy,
            self.reward_model,
            states,
            self.config.group_size,
            reference_policy=self.reference_policy,
            generation_kwargs=self.generation_kwargs,
        )

    def compute_advantages(self, experience: GroupExperience) -> torch.Tensor:
        """Fill ``experience.advantages`` with group-relative advantages and return them, shape ``(N,)``."""
        cfg = self.config
        advantages = group_advantages(
            experience.grouped_rewards(),
            scaling=cfg.advantage_scaling,
            baseline=cfg.baseline,
            eps=cfg.advantage_eps,
        ).reshape(-1)
        experience.advantages = advantages
        return advantages

    def update(self, experience: GroupExperience) -> dict[str, float]:
        """Minibatch updates of the policy on ``experience`` (whose advantages must be computed).

        With an optimizer: ``n_epochs`` epochs, each over the groups shuffled and split into
        minibatches of ``groups_per_batch`` groups. Without one: a single pass, no gradient. Returns the loss
        metrics averaged over minibatches.
        """
        assert experience.advantages is not None, "call compute_advantages(experience) first"
        cfg = self.config
        updating = self.optimizer is not None
        groups_per_batch = cfg.groups_per_batch or experience.num_groups
        num_epochs = cfg.n_epochs if updating else 1
        params = [p for p in self.policy.get_parameters().values() if p.requires_grad]
        max_norm = cfg.max_grad_norm if cfg.max_grad_norm is not None else math.inf
        has_entropy = isinstance(self.policy, SupportsEntropy)

        if updating:
            self.policy.train()
        sums: dict[str, float] = defaultdict(float)
        num_minibatches = 0
        for _ in range(num_epochs):
            order = torch.randperm(experience.num_groups, generator=self._shuffle_generator)
            for start in range(0, experience.num_groups, groups_per_batch):
                mb = experience.select_groups(order[start : start + groups_per_batch])
                assert mb.advantages is not None
                with torch.set_grad_enabled(updating):
                    log_prob = self._log_probabilities(mb, require_grad=updating)
                    entropy = self.policy.entropy(mb.flat_states) if has_entropy else None  # type: ignore[attr-defined]
                    out = grpo_loss(
                        log_prob,
                        mb.old_log_probs,
                        mb.advantages,
                        clip_range=cfg.clip_range,
                        clip_range_high=cfg.clip_range_high,
                        ref_log_prob=mb.ref_log_probs,
                        kl_coef=cfg.kl_coef,
                        kl_estimator=cfg.kl_estimator,
                        entropy=entropy,
                        ent_coef=cfg.ent_coef,
                    )
                if updating:
                    assert self.optimizer is not None
                    self.optimizer.zero_grad()
                    out.loss.backward()
                    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
                    self.optimizer.step()
                    self.num_gradient_steps += 1
                sums["loss"] += float(out.loss.detach())
                sums["policy_loss"] += float(out.policy_loss.detach())
                sums["kl"] += float(out.kl.detach())
                sums["entropy"] += float(out.entropy.detach())
                sums["clip_fraction"] += out.clip_fraction
                sums["approx_kl"] += out.approx_kl
                if updating:
                    sums["grad_norm"] += grad_norm
                num_minibatches += 1
        metrics = {key: value / num_minibatches for key, value in sums.items()}
        metrics["num_minibatches"] = float(num_minibatches)
        return metrics

    def _log_probabilities(self, mb: GroupExperience, require_grad: bool) -> torch.Tensor:
        log_prob = self.policy.get_log_probabilities(mb.flat_states, mb.actions)
        n = len(mb)
        if not isinstance(log_prob, torch.Tensor) or log_prob.shape != (n,):
            shape = tuple(log_prob.shape) if isinstance(log_prob, torch.Tensor) else type(log_prob).__name__
            raise ValueError(
                f"policy.get_log_probabilities returned {shape}, expected a tensor of shape ({n},): one "
                "log-probability per (state, action) pair"
            )
        if require_grad and not log_prob.requires_grad:
            raise ValueError(
                "policy.get_log_probabilities returned a tensor that does not require grad, so the policy "
                "cannot be trained; compute it from the policy's parameters, outside torch.no_grad()"
            )
        return log_prob

    def step(self, states: Any) -> dict[str, float]:
        """One GRPO iteration on a batch of states: collect, compute advantages, update.

        :param states: ``S >= 1`` states (tensor/array with states on the first axis, or a sequence).
        :return: metrics: ``loss``, ``policy_loss``, ``kl``, ``entropy``, ``clip_fraction``, ``approx_kl``
            (means over minibatches), ``grad_norm`` (mean pre-clipping norm, only with an optimizer),
            ``reward_mean``, ``reward_std``, ``reward_min``, ``reward_max``, ``frac_zero_std_groups``,
            ``advantage_abs_mean``, ``num_groups``, ``num_samples``, ``num_minibatches``,
            ``num_gradient_steps`` (cumulative).
        """
        if num_states(states) == 0:
            raise ValueError("step() got no states; pass at least one state")
        experience = self.collect(states)
        advantages = self.compute_advantages(experience)
        metrics = self.update(experience)
        rewards = experience.rewards
        metrics.update(
            reward_mean=float(rewards.mean()),
            reward_std=float(rewards.std()),
            reward_min=float(rewards.min()),
            reward_max=float(rewards.max()),
            frac_zero_std_groups=float(zero_std_groups(experience.grouped_rewards()).float().mean()),
            advantage_abs_mean=float(advantages.abs().mean()),
            num_groups=float(experience.num_groups),
            num_samples=float(len(experience)),
            num_gradient_steps=float(self.num_gradient_steps),
        )
        self.num_steps += 1
        return metrics
