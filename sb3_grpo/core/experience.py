"""Experience collection: ``G`` actions per state, their rewards and log-probabilities, as one flat batch.

Layout (see :mod:`sb3_grpo.core.protocols`): ``S`` groups of ``G`` samples, group-major, so flat sample
``n`` belongs to group ``n // G`` and ``rewards.view(S, G)`` gives the rewards of each group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sb3_grpo.core.protocols import PolicyModel, RewardModel


def num_states(states: Any) -> int:
    """Number of states in ``states`` (first axis of a tensor/array, ``len`` of a sequence)."""
    if isinstance(states, (torch.Tensor, np.ndarray)):
        if states.ndim == 0:
            raise ValueError(
                "states is a 0-d tensor/array; pass a batch of states with the states on the first axis"
            )
        return int(states.shape[0])
    if isinstance(states, (str, bytes)) or not isinstance(states, Sequence):
        raise TypeError(
            f"states must be a torch.Tensor, a numpy.ndarray or a sequence of states, got "
            f"{type(states).__name__}; wrap a single state in a list"
        )
    return len(states)


def repeat_states(states: Any, group_size: int) -> Any:
    """Each state repeated ``group_size`` times in a row, ``[s0, s0, .., s1, s1, ..]``; keeps the type."""
    if isinstance(states, torch.Tensor):
        return states.repeat_interleave(group_size, dim=0)
    if isinstance(states, np.ndarray):
        return np.repeat(states, group_size, axis=0)
    return [state for state in states for _ in range(group_size)]


def take(items: Any, indices: torch.Tensor) -> Any:
    """``items[indices]`` for a tensor, an array or a sequence (then a list)."""
    if isinstance(items, torch.Tensor):
        return items[indices.to(items.device)]
    if isinstance(items, np.ndarray):
        return items[indices.cpu().numpy()]
    return [items[i] for i in indices.tolist()]


def _as_flat_tensor(values: Any, n: int, what: str, source: str) -> torch.Tensor:
    """Check that ``values`` is ``(n,)`` and finite; return it as a float tensor."""
    tensor = values if isinstance(values, torch.Tensor) else torch.as_tensor(values)
    if tensor.shape != (n,):
        raise ValueError(
            f"{source} returned {what} of shape {tuple(tensor.shape)}, expected ({n},): one value per "
            f"(state, action) pair of the flat batch (num_states * group_size = {n})"
        )
    if not torch.is_floating_point(tensor):
        tensor = tensor.to(torch.get_default_dtype())
    bad = ~torch.isfinite(tensor)
    if bool(bad.any()):
        first = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{source} returned {int(bad.sum())} NaN/inf {what} (first at flat index {first}); "
            f"every value must be finite"
        )
    return tensor


@dataclass
class GroupExperience:
    """One batch of collected experience: ``S`` groups of ``G`` samples, flat (``N = S * G``), group-major.

    :param states: the ``S`` states as given by the user.
    :param flat_states: the ``N`` flat states (each state repeated ``G`` times).
    :param actions: the ``N`` flat actions (a list).
    :param group_index: ``(N,)`` long, the group (state index) of each sample: ``n // G``.
    :param rewards: ``(N,)`` rewards.
    :param old_log_probs: ``(N,)`` ``log pi_old(a|s)`` at collection time (no grad).
    :param ref_log_probs: ``(N,)`` ``log pi_ref(a|s)`` (no grad), or None without a reference policy.
    :param group_size: ``G``.
    :param advantages: ``(N,)`` advantages, filled in by the trainer (None until then).
    """

    states: Any
    flat_states: Any
    actions: list[Any]
    group_index: torch.Tensor
    rewards: torch.Tensor
    old_log_probs: torch.Tensor
    ref_log_probs: torch.Tensor | None
    group_size: int
    advantages: torch.Tensor | None = None

    @property
    def num_groups(self) -> int:
        """``S``, the number of groups (states)."""
        return self.rewards.shape[0] // self.group_size

    def __len__(self) -> int:
        """``N``, the number of flat samples."""
        return self.rewards.shape[0]

    def grouped_rewards(self) -> torch.Tensor:
        """Rewards as ``(S, G)``: row ``i`` is group ``i``."""
        return self.rewards.view(self.num_groups, self.group_size)

    def select_groups(self, groups: torch.Tensor) -> GroupExperience:
        """The experience of the given groups only (in that order), same layout.

        :param groups: ``(k,)`` long tensor of group indices.
        """
        groups = groups.to(torch.long).cpu()
        g = self.group_size
        flat = (groups.unsqueeze(1) * g + torch.arange(g)).reshape(-1)  # the samples of those groups

        def pick(tensor: torch.Tensor) -> torch.Tensor:
            return tensor[flat.to(tensor.device)]

        return GroupExperience(
            states=take(self.states, groups),
            flat_states=take(self.flat_states, flat),
            actions=take(self.actions, flat),
            group_index=torch.arange(len(groups)).repeat_interleave(g),
            rewards=pick(self.rewards),
            old_log_probs=pick(self.old_log_probs),
            ref_log_probs=None if self.ref_log_probs is None else pick(self.ref_log_probs),
            group_size=g,
            advantages=None if self.advantages is None else pick(self.advantages),
        )


@torch.no_grad()
def collect_experience(
    policy: PolicyModel,
    reward_model: RewardModel,
    states: Any,
    group_size: int,
    reference_policy: PolicyModel | None = None,
    generation_kwargs: dict[str, Any] | None = None,
) -> GroupExperience:
    """Sample ``group_size`` actions per state and record rewards, old and reference log-probabilities.

    The policy, the reference policy and the reward model are put in ``eval()`` mode; nothing here
    builds a graph (``torch.no_grad``).

    :param policy: the policy being trained (gives actions and ``log pi_old``).
    :param reward_model: scores each (state, action) pair.
    :param states: ``S >= 1`` states (tensor/array with states on the first axis, or a sequence).
    :param group_size: ``G >= 2``.
    :param reference_policy: gives ``log pi_ref``; None = skip.
    :param generation_kwargs: passed to ``policy.generate_actions`` as keyword arguments.
    :return: a :class:`GroupExperience` (without advantages).
    """
    s = num_states(states)
    if s == 0:
        raise ValueError("states is empty; pass at least one state to collect experience from")
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")
    n = s * group_size

    policy.eval()
    grouped_actions = policy.generate_actions(states, group_size, **(generation_kwargs or {}))
    if not isinstance(grouped_actions, Sequence):
        raise TypeError(
            f"policy.generate_actions returned a {type(grouped_actions).__name__}; return a list with one "
            f"list of {group_size} actions per state (for a tensor of shape (S, G, ...) use .tolist() or "
            "[list(row) for row in actions])"
        )
    if len(grouped_actions) != s:
        raise ValueError(
            f"policy.generate_actions returned {len(grouped_actions)} groups for {s} states; return one "
            f"list of {group_size} actions per state"
        )
    for i, group in enumerate(grouped_actions):
        if len(group) != group_size:
            raise ValueError(
                f"policy.generate_actions returned {len(group)} actions for state {i}, expected "
                f"num_actions_per_state={group_size}"
            )
    actions = [action for group in grouped_actions for action in group]
    flat_states = repeat_states(states, group_size)

    old_log_probs = _as_flat_tensor(
        policy.get_log_probabilities(flat_states, actions),
        n,
        "log-probabilities",
        "policy.get_log_probabilities",
    )
    reward_model.eval()
    rewards = _as_flat_tensor(
        reward_model.compute_rewards(flat_states, actions), n, "rewards", "reward_model.compute_rewards"
    ).to(old_log_probs.device)
    ref_log_probs = None
    if reference_policy is not None:
        reference_policy.eval()
        ref_log_probs = _as_flat_tensor(
            reference_policy.get_log_probabilities(flat_states, actions),
            n,
            "log-probabilities",
            "reference_policy.get_log_probabilities",
        ).to(old_log_probs.device)

    return GroupExperience(
        states=states,
        flat_states=flat_states,
        actions=actions,
        group_index=torch.arange(s).repeat_interleave(group_size),
        rewards=rewards,
        old_log_probs=old_log_probs.detach(),
        ref_log_probs=None if ref_log_probs is None else ref_log_probs.detach(),
        group_size=group_size,
    )
