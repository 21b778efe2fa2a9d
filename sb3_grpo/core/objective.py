"""The GRPO objective (Shao et al. 2024, arXiv:2402.03300, eq. 3), per sample::

    rho  = exp(log pi_theta(a|s) - log pi_old(a|s))
    L    = -min(rho * A, clip(rho, 1 - eps_low, 1 + eps_high) * A)      clipped surrogate (PPO)
         + kl_coef * KL(pi_theta || pi_ref)                             k1/k2/k3 estimate (eq. 4 is k3)
         - ent_coef * H(pi_theta(.|s))                                  optional entropy bonus

averaged over the batch (weighted by ``weights`` when given). ``eps_high > eps_low`` is DAPO's
"clip-higher" (Yu et al. 2025).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from sb3_grpo.core.validation import check, check_choice

KLEstimator = Literal["k1", "k2", "k3"]


def kl_divergence(
    log_prob: torch.Tensor, ref_log_prob: torch.Tensor, estimator: KLEstimator = "k3"
) -> torch.Tensor:
    """Per-sample estimate of ``KL(pi_theta || pi_ref)`` from actions sampled by ``pi_theta``.

    Schulman's estimators (http://joschu.net/blog/kl-approx.html), with ``log_r = log pi_ref - log pi_theta``:
    ``k1 = -log_r`` (unbiased, can be negative), ``k2 = log_r**2 / 2`` (biased, >= 0),
    ``k3 = exp(log_r) - log_r - 1`` (unbiased, >= 0; DeepSeekMath eq. 4).

    :param log_prob: ``log pi_theta(a|s)`` of the sampled actions.
    :param ref_log_prob: ``log pi_ref(a|s)`` of the same actions, same shape.
    :param estimator: ``"k1"``, ``"k2"`` or ``"k3"``.
    :return: per-sample estimates, same shape as ``log_prob``.
    """
    check_choice("kl_estimator", estimator, KLEstimator)
    if log_prob.shape != ref_log_prob.shape:
        raise ValueError(
            f"log_prob shape {tuple(log_prob.shape)} does not match ref_log_prob shape "
            f"{tuple(ref_log_prob.shape)}; evaluate both policies on the same (state, action) pairs"
        )
    log_r = ref_log_prob - log_prob
    if estimator == "k1":
        return -log_r
    if estimator == "k2":
        return log_r**2 / 2
    # exp(log_r) - 1 as expm1: without its cancellation a tiny log_r gave k3 = -1e-16, below its bound of 0
    return torch.expm1(log_r) - log_r


@dataclass
class GRPOLossOutput:
    """What :func:`grpo_loss` returns.

    :param loss: scalar to minimise, differentiable: ``policy_loss + kl_coef * kl - ent_coef * entropy``.
    :param policy_loss: scalar clipped-surrogate loss, differentiable.
    :param kl: scalar mean KL estimate to the reference policy (a 0 tensor when there is no reference).
    :param entropy: scalar mean entropy (exact, or its estimate ``-log_prob``).
    :param clip_fraction: (weighted) fraction of samples whose ratio lies outside
        ``[1 - eps_low, 1 + eps_high]``.
    :param approx_kl: (weighted) mean of ``(rho - 1) - log rho``, an estimate of ``KL(pi_old || pi_theta)``
        (as in CleanRL/SB3), detached.
    """

    loss: torch.Tensor
    policy_loss: torch.Tensor
    kl: torch.Tensor
    entropy: torch.Tensor
    clip_fraction: float
    approx_kl: float


def _check_same_length(n: int, **tensors: torch.Tensor | None) -> None:
    for name, tensor in tensors.items():
        if tensor is not None and (not isinstance(tensor, torch.Tensor) or tensor.shape != (n,)):
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise ValueError(
                f"{name} must be a 1-D tensor of the same length as log_prob (shape ({n},)), got {shape}; "
                "flatten every per-sample tensor to (N,) before calling grpo_loss"
            )


def grpo_loss(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    *,
    clip_range: float,
    clip_range_high: float | None = None,
    ref_log_prob: torch.Tensor | None = None,
    kl_coef: float = 0.0,
    kl_estimator: KLEstimator = "k3",
    entropy: torch.Tensor | None = None,
    ent_coef: float = 0.0,
    weights: torch.Tensor | None = None,
) -> GRPOLossOutput:
    """GRPO loss of a batch of N samples.

    ``rho = exp(logp - logp_old)``;
    ``L_clip = -E[min(rho * A, clip(rho, 1 - eps_low, 1 + eps_high) * A)]``;
    ``L = L_clip + kl_coef * E[KL] - ent_coef * E[H]``,
    where ``E[x] = sum_n w_n x_n / sum_n w_n`` (uniform weights when ``weights`` is None).

    :param log_prob: ``(N,)`` ``log pi_theta(a|s)``, differentiable.
    :param old_log_prob: ``(N,)`` ``log pi_old(a|s)`` recorded at collection time (treated as a constant).
    :param advantages: ``(N,)`` advantages (treated as constants).
    :param clip_range: ``eps_low`` (> 0).
    :param clip_range_high: ``eps_high`` (> 0), DAPO's clip-higher; None = ``clip_range``.
    :param ref_log_prob: ``(N,)`` ``log pi_ref(a|s)``; None = no reference (then ``kl`` is 0).
    :param kl_coef: weight of the KL penalty (``beta`` in the paper), >= 0; > 0 needs ``ref_log_prob``.
    :param kl_estimator: ``"k1"``, ``"k2"`` or ``"k3"`` (see :func:`kl_divergence`).
    :param entropy: ``(N,)`` exact entropy ``H(pi_theta(.|s_n))`` per sample. None = estimate it as
        ``-log_prob``: ``E_{a ~ pi}[-log pi(a|s)] = H``, so the *value* is an unbiased estimate of the
        entropy from on-policy samples; its *gradient* with the samples held fixed is
        ``-E[grad log pi] = 0`` in expectation, so with this estimate ``ent_coef`` mostly adds noise
        (the same holds for SB3's PPO). Pass the exact entropy when you want an entropy bonus.
    :param ent_coef: weight of the entropy bonus.
    :param weights: ``(N,)`` non-negative per-sample weights used by every mean (normalised by their sum);
        None = uniform.
    :return: a :class:`GRPOLossOutput`.
    """
    check("clip_range", clip_range)
    check("clip_range_high", clip_range_high)
    check("kl_coef", kl_coef)
    check_choice("kl_estimator", kl_estimator, KLEstimator)
    eps_low = float(clip_range)
    eps_high = eps_low if clip_range_high is None else float(clip_range_high)
    if kl_coef > 0.0 and ref_log_prob is None:
        raise ValueError(
            f"kl_coef={kl_coef} > 0 needs ref_log_prob (log-probabilities of the reference policy); "
            "pass ref_log_prob or set kl_coef=0"
        )
    if not isinstance(log_prob, torch.Tensor) or log_prob.ndim != 1:
        shape = tuple(log_prob.shape) if isinstance(log_prob, torch.Tensor) else type(log_prob).__name__
        raise ValueError(f"log_prob must be a 1-D tensor of shape (N,), got {shape}")
    n = log_prob.shape[0]
    if n == 0:
        raise ValueError("grpo_loss got an empty batch (N = 0); pass at least one sample")
    _check_same_length(
        n,
        old_log_prob=old_log_prob,
        advantages=advantages,
        ref_log_prob=ref_log_prob,
        entropy=entropy,
        weights=weights,
    )
    if weights is None:
        w = torch.full_like(log_prob, 1.0 / n).detach()
    else:
        if bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
            raise ValueError("weights must be finite and >= 0")
        total = weights.sum()
        if not total > 0:
            raise ValueError("weights sum to 0; give at least one sample a positive weight")
        w = (weights / total).to(log_prob.dtype).detach()

    def mean(x: torch.Tensor) -> torch.Tensor:
        return (w * x).sum()

    old_log_prob = old_log_prob.detach()
    advantages = advantages.detach().to(log_prob.dtype)

    # Clipped surrogate, read as a max of the two negated terms (CleanRL)
    log_ratio = log_prob - old_log_prob
    ratio = torch.exp(log_ratio)
    pg_loss1 = -advantages * ratio
    pg_loss2 = -advantages * torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    policy_loss = mean(torch.max(pg_loss1, pg_loss2))

    # KL penalty to the reference policy (DeepSeekMath eq. 4 is k3)
    if ref_log_prob is not None:
        kl = mean(kl_divergence(log_prob, ref_log_prob.detach(), kl_estimator))
    else:
        kl = log_prob.new_zeros(())

    # Entropy bonus: exact when given, else the estimate -log pi(a|s)
    entropy_mean = mean(entropy if entropy is not None else -log_prob)

    loss = policy_loss + kl_coef * kl - ent_coef * entropy_mean

    with torch.no_grad():
        clipped = (ratio < 1.0 - eps_low) | (ratio > 1.0 + eps_high)
        # divided by the weights' own sum (an ulp off 1 once normalised): all clipped gives exactly 1, and a
        # subset's sum of non-negative weights never rounds above the total, so the share stays in [0, 1]
        clip_fraction = float(mean(clipped.to(w.dtype)) / w.sum())
        approx_kl = float(mean((ratio - 1.0) - log_ratio))

    return GRPOLossOutput(
        loss=loss,
        policy_loss=policy_loss,
        kl=kl,
        entropy=entropy_mean,
        clip_fraction=clip_fraction,
        approx_kl=approx_kl,
    )
