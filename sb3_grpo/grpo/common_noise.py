"""Common random numbers for the policy steps of a group's branches.

A member's score in state mode is ``R_j = r(s, a_j) + sum_{h=1..H} gamma^h r_h``: its first action
``a_j`` and then H steps of the policy. The continuation steps are not what the group compares, but
their sampling noise enters every ``R_j`` and so every advantage ``R_j - mean(R)``. Drawing the
continuation actions of all members of a group from the **same** random numbers (common random
numbers, as in the "vine" rollouts of TRPO, Schulman et al. 2015, Section 5.2) removes most of that
noise: with a deterministic env, two members whose first actions are equal follow identical branches
and tie exactly, and members whose first actions differ differ only through the consequences of
that action.

Each member still samples from the policy: the shared number is drawn afresh at every step, so each
continuation action keeps the marginal distribution ``pi(.|s)``; only the members' draws are coupled.

- Categorical: one uniform ``u`` per group, action = the first index whose CDF exceeds ``u``
  (inverse-CDF sampling).
- MultiCategorical: the same, one ``u`` per group and action dimension.
- Bernoulli: one ``u`` per group and dimension, action = ``u < p``.
- Diagonal Gaussian (and its tanh-squashed form): one ``eps ~ N(0, I)`` per group, action =
  ``mu + sigma * eps`` (then ``tanh``).
- gSDE: every row uses the shared exploration matrix ``M``: noise ``= latent(s) @ M``.
"""

from __future__ import annotations

import torch as th
from stable_baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    Distribution,
    MultiCategoricalDistribution,
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
)


def _inverse_cdf(probs: th.Tensor, uniforms: th.Tensor) -> th.Tensor:
    """Index ``k`` with ``CDF(k-1) <= u < CDF(k)`` for each row of ``probs``: ``(N, n) x (N,) -> (N,)``."""
    cdf = th.cumsum(probs, dim=-1)
    index = (cdf <= uniforms.unsqueeze(-1)).sum(dim=-1)
    # Rounding can leave cdf[-1] a hair below 1: never return an index past the last category.
    return index.clamp_(max=probs.shape[-1] - 1)


def sample_with_common_noise(distribution: Distribution, groups: th.Tensor, n_groups: int) -> th.Tensor:
    """
    Sample one action per row of ``distribution``, rows of the same group sharing their random numbers.

    :param distribution: The policy's action distribution for a batch of ``N`` observations
    :param groups: ``(N,)`` group index of each row, in ``[0, n_groups)``
    :param n_groups: Number of groups (random numbers are drawn for each)
    :return: ``(N, ...)`` actions, as the distribution's own ``sample()`` returns them
    """
    if isinstance(distribution, CategoricalDistribution):
        probs = distribution.distribution.probs
        uniforms = th.rand(n_groups, device=probs.device)[groups]
        return _inverse_cdf(probs, uniforms)
    if isinstance(distribution, MultiCategoricalDistribution):
        parts = distribution.distribution
        uniforms = th.rand(n_groups, len(parts), device=parts[0].probs.device)[groups]
        return th.stack([_inverse_cdf(part.probs, uniforms[:, d]) for d, part in enumerate(parts)], dim=1)
    if isinstance(distribution, BernoulliDistribution):
        probs = distribution.distribution.probs
        uniforms = th.rand(n_groups, probs.shape[-1], device=probs.device)[groups]
        return (uniforms < probs).to(probs.dtype)
    if isinstance(distribution, StateDependentNoiseDistribution):
        # gSDE: noise = latent_sde(s) @ M. Every row uses the one shared exploration matrix M (not the
        # per-row matrices of reset_noise(batch_size)), so members that reach the same state draw the
        # same noise.
        noise = th.mm(distribution._latent_sde, distribution.exploration_mat)
        actions = distribution.distribution.mean + noise
        return distribution.bijector.forward(actions) if distribution.bijector is not None else actions
    if isinstance(distribution, DiagGaussianDistribution):  # includes SquashedDiagGaussianDistribution
        normal = distribution.distribution
        eps = th.randn(n_groups, normal.mean.shape[-1], device=normal.mean.device)[groups]
        actions = normal.mean + normal.stddev * eps
        return th.tanh(actions) if isinstance(distribution, SquashedDiagGaussianDistribution) else actions
    raise TypeError(
        f"No common-noise sampler for {type(distribution).__name__}: use branch_noise='independent'."
    )
