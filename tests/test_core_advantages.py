"""Group-relative advantages: hand-computed values, invariances and bad input."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sb3_grpo.core.advantages import AdvantageScaling, Baseline, group_advantages, zero_std_groups

SCALINGS: list[AdvantageScaling] = ["group_std", "batch_std", "none"]
BASELINES: list[Baseline] = ["mean", "leave_one_out"]


def t(values: list[list[float]]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# --- hand-computed values --------------------------------------------------------------------------


def test_group_std_mean_baseline_by_hand() -> None:
    # group 0: mean 2, sample std 1; group 1: mean 0.5, sample std sqrt(1/3)
    adv = group_advantages(t([[1, 2, 3, 2], [0, 0, 1, 1]]), eps=0.0)
    std0 = statistics.stdev([1, 2, 3, 2])
    expected0 = [(r - 2.0) / std0 for r in [1, 2, 3, 2]]
    expected1 = [-0.5 / math.sqrt(1 / 3)] * 2 + [0.5 / math.sqrt(1 / 3)] * 2
    torch.testing.assert_close(adv, t([expected0, expected1]))


def test_three_member_group_is_minus_one_zero_one() -> None:
    adv = group_advantages(t([[1, 2, 3]]), eps=0.0)
    torch.testing.assert_close(adv, t([[-1, 0, 1]]))


def test_eps_is_added_to_std() -> None:
    adv = group_advantages(t([[1, 2, 3]]), eps=1.0)  # std 1 -> divide by 2
    torch.testing.assert_close(adv, t([[-0.5, 0, 0.5]]))


def test_no_scaling_is_reward_minus_group_mean() -> None:
    adv = group_advantages(t([[1, 2, 6], [10, 20, 30]]), scaling="none")
    torch.testing.assert_close(adv, t([[-2, -1, 3], [-10, 0, 10]]))


def test_leave_one_out_by_hand() -> None:
    # A_ij = r_ij - mean of the other members
    adv = group_advantages(t([[1, 2, 3], [0, 4, 8]]), scaling="none", baseline="leave_one_out")
    torch.testing.assert_close(adv, t([[1 - 2.5, 2 - 2, 3 - 1.5], [0 - 6, 4 - 4, 8 - 2]]))


def test_leave_one_out_is_mean_baseline_times_n_over_n_minus_1() -> None:
    rewards = torch.randn(5, 4, dtype=torch.float64)
    loo = group_advantages(rewards, scaling="none", baseline="leave_one_out")
    mean = group_advantages(rewards, scaling="none", baseline="mean")
    torch.testing.assert_close(loo, mean * 4 / 3)


def test_batch_std_divides_by_std_of_all_rewards() -> None:
    values: list[list[float]] = [[1, 2, 3], [4, 4, 8]]
    batch_std = statistics.stdev([1, 2, 3, 4, 4, 8])
    adv = group_advantages(t(values), scaling="batch_std", eps=0.0)
    torch.testing.assert_close(adv, t([[-1, 0, 1], [-4 / 3, -4 / 3, 8 / 3]]) / batch_std)


def test_batch_std_uses_present_rewards_only() -> None:
    mask = torch.tensor([[True, True, True], [True, True, False]])
    adv = group_advantages(t([[1, 2, 3], [4, 6, 1000]]), mask, scaling="batch_std", eps=0.0)
    batch_std = statistics.stdev([1, 2, 3, 4, 6])
    torch.testing.assert_close(adv, t([[-1, 0, 1], [-1, 1, 0]]) / batch_std)


# --- masks and groups without signal ---------------------------------------------------------------


def test_mask_ignores_absent_members_even_nan() -> None:
    rewards = t([[1, 2, float("nan")], [0, 5, 10]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    adv = group_advantages(rewards, mask, eps=0.0)
    s = statistics.stdev([1, 2])
    torch.testing.assert_close(adv[0], t([[-0.5 / s, 0.5 / s, 0.0]])[0])
    torch.testing.assert_close(adv[1], t([[-1, 0, 1]])[0])


@pytest.mark.parametrize("scaling", SCALINGS)
@pytest.mark.parametrize("baseline", BASELINES)
def test_groups_without_signal_get_exact_zero(scaling: AdvantageScaling, baseline: Baseline) -> None:
    rewards = t([[3, 3, 3], [0.1, 0.1, 0.1], [7, 1, 2], [1, 2, 3]])
    mask = torch.tensor([[True] * 3, [True] * 3, [True, False, False], [True] * 3])
    adv = group_advantages(rewards, mask, scaling=scaling, baseline=baseline, eps=0.0)
    assert torch.isfinite(adv).all()
    assert (adv[:3] == 0).all()
    assert (adv[3] != torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64)).sum() == 2  # -x, 0, +x
    assert zero_std_groups(rewards, mask).tolist() == [True, True, True, False]


def test_all_masked_group_is_zero() -> None:
    rewards = t([[1, 2], [3, 4]])
    mask = torch.tensor([[False, False], [True, True]])
    adv = group_advantages(rewards, mask)
    assert (adv[0] == 0).all() and (adv[1] != 0).all()


def test_zero_std_groups_without_mask() -> None:
    assert zero_std_groups(t([[1, 1], [1, 2], [0, 0]])).tolist() == [True, False, True]


def test_integer_rewards_are_accepted() -> None:
    adv = group_advantages(torch.tensor([[0, 1]]))
    assert adv.dtype == torch.get_default_dtype()
    torch.testing.assert_close(adv, torch.tensor([[-0.5, 0.5]]) / math.sqrt(0.5), atol=1e-6, rtol=1e-6)


# --- property-based --------------------------------------------------------------------------------

reward_value = st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False)


@st.composite
def reward_batches(draw: st.DrawFn) -> torch.Tensor:
    num_groups = draw(st.integers(1, 5))
    group_size = draw(st.integers(2, 6))
    values = draw(st.lists(reward_value, min_size=num_groups * group_size, max_size=num_groups * group_size))
    return torch.tensor(values, dtype=torch.float64).view(num_groups, group_size)


@st.composite
def masks_for(draw: st.DrawFn, rewards: torch.Tensor) -> torch.Tensor:
    flags = draw(st.lists(st.booleans(), min_size=rewards.numel(), max_size=rewards.numel()))
    return torch.tensor(flags).view_as(rewards)


@settings(max_examples=60, deadline=None)
@given(rewards=reward_batches(), data=st.data())
def test_advantages_of_each_group_sum_to_zero(rewards: torch.Tensor, data: st.DataObject) -> None:
    mask = data.draw(masks_for(rewards))
    scaling = data.draw(st.sampled_from(SCALINGS))
    baseline = data.draw(st.sampled_from(BASELINES))  # LOO: sum_j (n r_j - S) / (n - 1) = 0 too
    adv = group_advantages(rewards, mask, scaling=scaling, baseline=baseline)
    assert torch.isfinite(adv).all()
    assert (adv[~mask] == 0).all()
    # Rounding in r - mean is at most G * float64-eps * |r|; scaling divides it by at least eps = 1e-8.
    rounding = rewards.shape[1] * torch.finfo(torch.float64).eps * max(1.0, float(rewards.abs().max())) / 1e-8
    assert adv.sum(dim=1).abs().max() <= 1e-9 * max(1.0, float(adv.abs().max())) + rounding


@settings(max_examples=60, deadline=None)
@given(rewards=reward_batches(), shift=reward_value)
def test_mean_baseline_is_shift_invariant(rewards: torch.Tensor, shift: float) -> None:
    scalings: list[AdvantageScaling] = ["group_std", "none"]
    for scaling in scalings:
        a = group_advantages(rewards, scaling=scaling)
        b = group_advantages(rewards + shift, scaling=scaling)
        # groups whose equality changes under rounding are compared only where both have signal
        both = ~(zero_std_groups(rewards) | zero_std_groups(rewards + shift))
        torch.testing.assert_close(a[both], b[both], atol=1e-6, rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(rewards=reward_batches(), scale=st.floats(min_value=0.1, max_value=10))
def test_group_std_is_scale_invariant(rewards: torch.Tensor, scale: float) -> None:
    # eps = 1e-8 is added to the std: far below the std (and the std x scale) it is invisible
    assume(bool((rewards.std(dim=1) > 1e-1).all()))
    for baseline in BASELINES:
        a = group_advantages(rewards, scaling="group_std", baseline=baseline)
        b = group_advantages(rewards * scale, scaling="group_std", baseline=baseline)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(rewards=reward_batches())
def test_group_std_advantages_have_unit_sample_std(rewards: torch.Tensor) -> None:
    # eps = 1e-8 is added to the std: far below the std (and the std x scale) it is invisible
    assume(bool((rewards.std(dim=1) > 1e-1).all()))
    adv = group_advantages(rewards, eps=0.0)
    torch.testing.assert_close(adv.std(dim=1), torch.ones(rewards.shape[0], dtype=torch.float64))


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rewards", "match"),
    [
        (torch.ones(6), "2-D"),
        (torch.ones(2, 3, 1), "2-D"),
        (torch.ones(4, 1), "G must be >= 2"),
    ],
)
def test_bad_shapes(rewards: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        group_advantages(rewards)
    with pytest.raises(ValueError, match=match):
        zero_std_groups(rewards)


def test_mask_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"mask shape \(2, 2\) does not match rewards shape \(2, 3\)"):
        group_advantages(torch.ones(2, 3), torch.ones(2, 2, dtype=torch.bool))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_rewards_name_count_and_group(bad: float) -> None:
    rewards = torch.zeros(4, 3)
    rewards[2, 1] = bad
    rewards[3, 0] = bad
    with pytest.raises(ValueError, match=r"2 NaN/inf value\(s\).*group 2"):
        group_advantages(rewards)


def test_unknown_scaling_and_baseline() -> None:
    with pytest.raises(
        ValueError, match="scaling must be one of 'group_std', 'batch_std', 'none', got 'std'"
    ):
        group_advantages(torch.ones(2, 3), scaling="std")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="baseline must be one of 'mean', 'leave_one_out', got 'median'"):
        group_advantages(torch.ones(2, 3), baseline="median")  # type: ignore[arg-type]


def test_not_a_tensor() -> None:
    with pytest.raises(TypeError, match=r"torch\.as_tensor"):
        group_advantages([[1.0, 2.0]])  # type: ignore[arg-type]
