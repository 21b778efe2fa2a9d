"""The GRPO objective: PPO clipping by hand, gradients, KL estimators, weights and bad input."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sb3_grpo.core.objective import grpo_loss, kl_divergence

RATIOS = [0.5, 1.0, 1.5, 1.1]
ADVANTAGES = [1.0, -1.0, 1.0, -2.0]


def log_prob_for(ratios: list[float]) -> torch.Tensor:
    """log pi such that pi / pi_old = ratios with log pi_old = 0."""
    return torch.tensor([math.log(r) for r in ratios], dtype=torch.float64, requires_grad=True)


def zeros(n: int) -> torch.Tensor:
    return torch.zeros(n, dtype=torch.float64)


def test_equals_ppo_clipped_loss_by_hand() -> None:
    # eps = 0.2: per sample -min(rho A, clip(rho, 0.8, 1.2) A)
    #   rho 0.5, A  1: -min(0.5, 0.8)   = -0.5
    #   rho 1.0, A -1: -min(-1, -1)     =  1.0
    #   rho 1.5, A  1: -min(1.5, 1.2)   = -1.2
    #   rho 1.1, A -2: -min(-2.2, -2.2) =  2.2
    out = grpo_loss(log_prob_for(RATIOS), zeros(4), torch.tensor(ADVANTAGES), clip_range=0.2)
    assert out.policy_loss.item() == pytest.approx((-0.5 + 1.0 - 1.2 + 2.2) / 4)
    assert out.loss.item() == pytest.approx(out.policy_loss.item())
    assert out.clip_fraction == pytest.approx(0.5)  # 0.5 and 1.5 lie outside [0.8, 1.2]
    expected_approx_kl = sum((r - 1) - math.log(r) for r in RATIOS) / 4
    assert out.approx_kl == pytest.approx(expected_approx_kl)
    assert out.kl.item() == 0.0


def test_gradient_is_zero_where_clipped_in_the_sign_of_the_advantage() -> None:
    # clipped: rho 1.5 with A > 0, rho 0.5 with A < 0; unclipped: rho 0.5 with A > 0, rho 1.5 with A < 0
    ratios, advantages = [1.5, 0.5, 0.5, 1.5], [1.0, -1.0, 1.0, -1.0]
    log_prob = log_prob_for(ratios)
    grpo_loss(log_prob, zeros(4), torch.tensor(advantages), clip_range=0.2).loss.backward()
    assert log_prob.grad is not None
    # d/dlogp of -(rho A)/N is -rho A / N
    expected = [0.0, 0.0, -0.5 * 1.0 / 4, -1.5 * -1.0 / 4]
    torch.testing.assert_close(log_prob.grad, torch.tensor(expected, dtype=torch.float64))


def test_at_ratio_one_gradient_is_minus_advantage_over_n() -> None:
    log_prob = torch.zeros(3, requires_grad=True)
    advantages = torch.tensor([1.0, -2.0, 0.5])
    out = grpo_loss(log_prob, torch.zeros(3), advantages, clip_range=0.2)
    out.loss.backward()
    assert out.policy_loss.item() == pytest.approx(-float(advantages.mean()))
    torch.testing.assert_close(log_prob.grad, -advantages / 3)


def test_asymmetric_clip_higher() -> None:
    ratios, advantages = [1.25, 0.75], [1.0, -1.0]
    # symmetric 0.2: both clipped -> zero gradient
    log_prob = log_prob_for(ratios)
    out = grpo_loss(log_prob, zeros(2), torch.tensor(advantages), clip_range=0.2)
    out.loss.backward()
    assert log_prob.grad is not None and (log_prob.grad == 0).all()
    assert out.clip_fraction == 1.0
    # clip-higher 0.28: 1.25 is inside [0.8, 1.28] (gradient flows), 0.75 is still below 0.8
    log_prob = log_prob_for(ratios)
    out = grpo_loss(log_prob, zeros(2), torch.tensor(advantages), clip_range=0.2, clip_range_high=0.28)
    out.loss.backward()
    assert log_prob.grad is not None
    torch.testing.assert_close(log_prob.grad, torch.tensor([-1.25 / 2, 0.0], dtype=torch.float64))
    assert out.clip_fraction == 0.5
    assert out.policy_loss.item() == pytest.approx((-1.25 + 0.8) / 2)


def test_kl_estimators_by_hand() -> None:
    log_prob = torch.tensor([0.0, math.log(0.5)])
    ref = torch.tensor([math.log(2.0), math.log(0.5)])  # log_r = log 2, 0
    log2 = math.log(2.0)
    torch.testing.assert_close(kl_divergence(log_prob, ref, "k1"), torch.tensor([-log2, 0.0]))
    torch.testing.assert_close(kl_divergence(log_prob, ref, "k2"), torch.tensor([log2**2 / 2, 0.0]))
    torch.testing.assert_close(kl_divergence(log_prob, ref, "k3"), torch.tensor([2 - log2 - 1, 0.0]))
    torch.testing.assert_close(kl_divergence(log_prob, ref), kl_divergence(log_prob, ref, "k3"))


def test_k1_and_k3_are_unbiased_estimates_of_kl() -> None:
    torch.manual_seed(0)
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.2, 0.3, 0.5])
    exact = float((p * (p / q).log()).sum())  # KL(p || q)
    actions = torch.multinomial(p, 200_000, replacement=True)
    log_prob, ref = p.log()[actions], q.log()[actions]
    for estimator in ("k1", "k3"):
        estimate = float(kl_divergence(log_prob, ref, estimator).mean())  # type: ignore[arg-type]
        assert estimate == pytest.approx(exact, abs=0.01)


def test_kl_penalty_and_entropy_bonus_enter_the_loss() -> None:
    log_prob = torch.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    old = log_prob.detach().clone()
    ref = torch.tensor([-1.5, -1.0, -0.5])
    advantages = torch.tensor([1.0, -1.0, 0.0])
    entropy = torch.tensor([0.9, 0.8, 0.7])
    out = grpo_loss(
        log_prob,
        old,
        advantages,
        clip_range=0.2,
        ref_log_prob=ref,
        kl_coef=0.1,
        entropy=entropy,
        ent_coef=0.01,
    )
    kl = float(kl_divergence(log_prob.detach(), ref).mean())
    assert out.kl.item() == pytest.approx(kl)
    assert out.entropy.item() == pytest.approx(0.8)
    assert out.loss.item() == pytest.approx(out.policy_loss.item() + 0.1 * kl - 0.01 * 0.8)
    # at ratio 1: d/dlogp = -A / N + kl_coef * (1 - exp(ref - logp)) / N  (d k3 / d logp)
    out.loss.backward()
    expected = -advantages / 3 + 0.1 * (1 - (ref - old).exp()) / 3
    torch.testing.assert_close(log_prob.grad, expected)


def test_entropy_defaults_to_minus_log_prob() -> None:
    log_prob = torch.tensor([-1.0, -3.0])
    out = grpo_loss(log_prob, log_prob, torch.zeros(2), clip_range=0.2, ent_coef=0.5)
    assert out.entropy.item() == pytest.approx(2.0)
    assert out.loss.item() == pytest.approx(-0.5 * 2.0)


def test_weights_make_weighted_means() -> None:
    log_prob = log_prob_for(RATIOS)
    advantages = torch.tensor(ADVANTAGES)
    per_sample = [-0.5, 1.0, -1.2, 2.2]
    weights = torch.tensor([1.0, 0.0, 3.0, 0.0], dtype=torch.float64)
    out = grpo_loss(log_prob, zeros(4), advantages, clip_range=0.2, weights=weights)
    assert out.policy_loss.item() == pytest.approx((1 * per_sample[0] + 3 * per_sample[2]) / 4)
    assert out.clip_fraction == pytest.approx(1.0)  # both weighted samples are clipped
    scaled = grpo_loss(log_prob, zeros(4), advantages, clip_range=0.2, weights=weights * 7)
    assert scaled.policy_loss.item() == pytest.approx(out.policy_loss.item())
    uniform = grpo_loss(log_prob, zeros(4), advantages, clip_range=0.2, weights=torch.ones(4))
    assert uniform.policy_loss.item() == pytest.approx(sum(per_sample) / 4)


# --- property-based --------------------------------------------------------------------------------

log_probs = st.lists(st.floats(min_value=-20, max_value=0), min_size=1, max_size=20)


@settings(max_examples=100, deadline=None)
@given(a=log_probs, b=log_probs)
def test_k3_and_k2_are_non_negative_and_zero_at_equality(a: list[float], b: list[float]) -> None:
    n = min(len(a), len(b))
    log_prob, ref = torch.tensor(a[:n], dtype=torch.float64), torch.tensor(b[:n], dtype=torch.float64)
    assert (kl_divergence(log_prob, ref, "k3") >= 0).all()
    assert (kl_divergence(log_prob, ref, "k2") >= 0).all()
    for estimator in ("k1", "k2", "k3"):
        assert (kl_divergence(log_prob, log_prob, estimator) == 0).all()  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.floats(-3, 3), st.floats(-5, 5)),  # (log ratio, advantage)
        min_size=1,
        max_size=20,
    ),
    eps=st.floats(0.0, 0.5, exclude_min=True),  # clip_range must be > 0
)
def test_clipped_loss_is_never_below_unclipped(data: list[tuple[float, float]], eps: float) -> None:
    # min(rho A, clip(rho) A) <= rho A: the clipped objective is a pessimistic bound
    log_ratio = torch.tensor([d[0] for d in data], dtype=torch.float64)
    advantages = torch.tensor([d[1] for d in data], dtype=torch.float64)
    out = grpo_loss(log_ratio, torch.zeros_like(log_ratio), advantages, clip_range=eps)
    unclipped = float(-(log_ratio.exp() * advantages).mean())
    assert out.policy_loss.item() >= unclipped - 1e-9
    assert 0.0 <= out.clip_fraction <= 1.0 and out.approx_kl >= -1e-12


# --- bad input -------------------------------------------------------------------------------------


def test_mismatched_lengths_name_the_tensors() -> None:
    with pytest.raises(ValueError, match=r"advantages must be a 1-D tensor .*\(4,\).*got \(3,\)"):
        grpo_loss(torch.zeros(4), torch.zeros(4), torch.zeros(3), clip_range=0.2)
    with pytest.raises(ValueError, match=r"old_log_prob .*got \(4, 1\)"):
        grpo_loss(torch.zeros(4), torch.zeros(4, 1), torch.zeros(4), clip_range=0.2)
    with pytest.raises(ValueError, match="ref_log_prob"):
        grpo_loss(torch.zeros(4), torch.zeros(4), torch.zeros(4), clip_range=0.2, ref_log_prob=torch.zeros(5))
    with pytest.raises(ValueError, match="weights"):
        grpo_loss(torch.zeros(4), torch.zeros(4), torch.zeros(4), clip_range=0.2, weights=torch.ones(2))
    with pytest.raises(ValueError, match=r"log_prob must be a 1-D tensor .*got \(2, 2\)"):
        grpo_loss(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2), clip_range=0.2)
    with pytest.raises(ValueError, match="empty batch"):
        grpo_loss(torch.zeros(0), torch.zeros(0), torch.zeros(0), clip_range=0.2)


def test_kl_coef_needs_a_reference() -> None:
    with pytest.raises(ValueError, match=r"kl_coef=0\.1 > 0 needs ref_log_prob"):
        grpo_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), clip_range=0.2, kl_coef=0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clip_range": -0.1}, "clip_range must be a finite number > 0"),
        ({"clip_range": 0.2, "clip_range_high": -0.1}, "clip_range_high must be a finite number > 0 or None"),
        ({"clip_range": 0.2, "kl_coef": -1.0}, "kl_coef must be a finite number >= 0"),
        ({"clip_range": 0.2, "kl_estimator": "k4"}, "kl_estimator must be one of 'k1', 'k2', 'k3', got 'k4'"),
        ({"clip_range": 0.2, "weights": torch.tensor([1.0, -1.0])}, "weights must be finite and >= 0"),
        ({"clip_range": 0.2, "weights": torch.zeros(2)}, "weights sum to 0"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        grpo_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), **kwargs)


def test_kl_divergence_bad_input() -> None:
    with pytest.raises(ValueError, match="kl_estimator must be one of 'k1', 'k2', 'k3', got 'kl'"):
        kl_divergence(torch.zeros(2), torch.zeros(2), "kl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"shape \(2,\) does not match ref_log_prob shape \(3,\)"):
        kl_divergence(torch.zeros(2), torch.zeros(3))
