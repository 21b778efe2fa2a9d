"""Group-relative advantages (GRPO, Shao et al. 2024, arXiv:2402.03300, Sec. 4.1.2).

For a group ``i`` of ``n_i`` present members with rewards ``r_i1 .. r_in``:

* baseline ``"mean"``:            ``b_ij = mean_k r_ik``   (DeepSeekMath, outcome supervision)
* baseline ``"leave_one_out"``:   ``b_ij = (sum_k r_ik - r_ij) / (n_i - 1)`` (RLOO, Ahmadian et al. 2024)
* ``A_ij = (r_ij - b_ij) / s``, where ``s`` is

  - ``"group_std"``: ``std_k r_ik + eps`` (sample std over the group's present members, ddof=1, as TRL),
  - ``"batch_std"``: ``std of all present rewards in the batch + eps`` (ddof=1),
  - ``"none"``:      ``1`` (Dr. GRPO, Liu et al. 2025).

A group whose present rewards are all equal, or that has fewer than 2 present members, carries no
learning signal: its advantages are exactly 0 (never NaN). Absent members (``mask`` False) get exactly 0.
"""

from __future__ import annotations

from typing import Literal

import torch

from sb3_grpo.core.validation import RULES, check_choice

AdvantageScaling = Literal["group_std", "batch_std", "none"]
Baseline = Literal["mean", "leave_one_out"]


def _check_rewards_and_mask(
    rewards: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``rewards``/``mask`` and return ``(rewards as float, mask as bool)``.

    Values of ``rewards`` where ``mask`` is False are never read (they may be NaN).
    """
    if not isinstance(rewards, torch.Tensor):
        raise TypeError(
            "rewards must be a torch.Tensor of shape (num_groups, group_size), got "
            f"{type(rewards).__name__}; wrap it with torch.as_tensor(...)"
        )
    if rewards.ndim != 2:
        raise ValueError(
            f"rewards must be 2-D (num_groups, group_size), got shape {tuple(rewards.shape)}; "
            "reshape the flat rewards with rewards.view(num_groups, group_size)"
        )
    if rewards.shape[1] < 2:
        raise ValueError(
            f"group size G must be >= 2 to compare members of a group, got rewards of shape "
            f"{tuple(rewards.shape)}; sample at least 2 actions per state"
        )
    if not torch.is_floating_point(rewards):
        rewards = rewards.to(torch.get_default_dtype())
    if mask is None:
        mask = torch.ones_like(rewards, dtype=torch.bool)
    else:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask must be a bool torch.Tensor or None, got {type(mask).__name__}")
        if mask.shape != rewards.shape:
            raise ValueError(
                f"mask shape {tuple(mask.shape)} does not match rewards shape {tuple(rewards.shape)}; "
                "pass one bool per reward (True = member present)"
            )
        mask = mask.to(device=rewards.device, dtype=torch.bool)
    bad = mask & ~torch.isfinite(rewards)
    num_bad = int(bad.sum())
    if num_bad > 0:
        first_group = int(bad.any(dim=1).nonzero()[0, 0])
        raise ValueError(
            f"rewards contain {num_bad} NaN/inf value(s) among present members, the first in group "
            f"{first_group}; fix the reward function, or mark those members absent with mask=False"
        )
    return rewards, mask


def _zero_std_groups(r: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Groups with < 2 present members, or whose present rewards are all (exactly) equal."""
    inf = torch.tensor(float("inf"), dtype=r.dtype, device=r.device)
    r_max = torch.where(mask, r, -inf).amax(dim=1)
    r_min = torch.where(mask, r, inf).amin(dim=1)
    return (mask.sum(dim=1) < 2) | (r_max == r_min)


def zero_std_groups(rewards: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Which groups carry no learning signal.

    :param rewards: ``(num_groups, G)`` rewards, ``G >= 2``.
    :param mask: ``(num_groups, G)`` bool, True where the member is present; None = all present.
    :return: ``(num_groups,)`` bool, True where all present rewards are equal or fewer than 2 are present.
    """
    rewards, mask = _check_rewards_and_mask(rewards, mask)
    return _zero_std_groups(rewards, mask)


def group_advantages(
    rewards: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scaling: AdvantageScaling = "group_std",
    baseline: Baseline = "mean",
    eps: float = 1e-8,
) -> torch.Tensor:
    """Group-relative advantages of each member of each group.

    baseline ``"mean"``:          ``A_ij = r_ij - mean_k r_ik``  (DeepSeekMath, outcome supervision);
    baseline ``"leave_one_out"``: ``A_ij = r_ij - (sum_k r_ik - r_ij) / (n_i - 1)``  (RLOO);
    scaling ``"group_std"``: divide by ``std_k r_ik + eps`` (sample std over present members, ddof=1, as TRL);
    scaling ``"batch_std"``: divide by ``std of all present rewards in the batch + eps`` (ddof=1);
    scaling ``"none"``: no division (Dr. GRPO).
    Groups with fewer than 2 present members, or whose present rewards are all equal, get exactly
    zero advantage (never NaN).

    :param rewards: ``(num_groups, G)`` float rewards, ``G >= 2``. Entries where ``mask`` is False are
        ignored (they may hold anything, even NaN).
    :param mask: ``(num_groups, G)`` bool, True where the member is present (for example, process
        supervision: the members still alive at a step). None = all present.
    :param scaling: ``"group_std"``, ``"batch_std"`` or ``"none"``.
    :param baseline: ``"mean"`` or ``"leave_one_out"``.
    :param eps: added to the standard deviation before dividing.
    :return: ``(num_groups, G)`` advantages; exactly 0 where ``mask`` is False.
    """
    check_choice("scaling", scaling, AdvantageScaling)
    check_choice("baseline", baseline, Baseline)
    RULES["advantage_eps"].check("eps", eps)
    rewards, mask = _check_rewards_and_mask(rewards, mask)

    r = torch.where(mask, rewards, torch.zeros_like(rewards))  # absent members count as nothing
    n = mask.sum(dim=1, keepdim=True).to(r.dtype)  # present members per group
    r_sum = r.sum(dim=1, keepdim=True)
    r_mean = r_sum / n.clamp(min=1.0)

    if baseline == "mean":
        b = r_mean
    else:  # leave-one-out: mean of the other present members
        b = (r_sum - r) / (n - 1.0).clamp(min=1.0)
    advantages = r - b

    if scaling == "group_std":
        var = (((r - r_mean) ** 2) * mask).sum(dim=1, keepdim=True) / (n - 1.0).clamp(min=1.0)
        advantages = advantages / (var.sqrt() + eps)
    elif scaling == "batch_std":
        present = rewards[mask]
        batch_std = present.std() if present.numel() >= 2 else present.new_zeros(())
        advantages = advantages / (batch_std + eps)

    no_signal = _zero_std_groups(rewards, mask).unsqueeze(1)
    return torch.where(mask & ~no_signal, advantages, torch.zeros_like(advantages))
