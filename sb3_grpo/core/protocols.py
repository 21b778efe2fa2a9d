"""What the GRPO core needs from a policy and a reward model.

Both are :class:`typing.Protocol` classes: any object with these methods works, nothing has to inherit
from us. A ``torch.nn.Module`` already has ``train()``, ``eval()`` and ``to()``.

Conventions (``S`` states, group size ``G``, ``N = S * G`` samples):

* ``states`` given to :meth:`PolicyModel.generate_actions` is whatever the user passed to
  ``GRPOTrainer.step``: a ``torch.Tensor`` or ``numpy.ndarray`` whose first axis indexes states, or any
  sequence (a list of prompts, of dicts, ...).
* ``generate_actions(states, G)`` returns ``S`` lists of ``G`` actions each; an action can be anything
  (an int, a tensor, a string).
* Every other call works on the *flat* batch, group-major: state ``s`` repeated ``G`` times in a row,
  then the next state, and the ``G`` actions of each group in the order they were generated::

      flat_states  = [s_0, s_0, ..., s_0, s_1, ..., s_1, ...]   # repeat_interleave(G) for tensors/arrays
      flat_actions = [a_00, a_01, ..., a_0(G-1), a_10, ...]      # always a list of length N

  Sample ``n`` belongs to group ``n // G``. ``flat_states`` keeps the type of ``states`` (tensor ->
  tensor, array -> array, anything else -> list). Minibatches are made of whole groups and follow the
  same convention with fewer groups.
* ``get_log_probabilities``, ``compute_rewards`` and the optional ``entropy`` return a tensor of
  shape ``(N,)`` (one value per flat sample).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class PolicyModel(Protocol):
    """A stochastic policy the GRPO core can sample from and train.

    Optional: a method ``entropy(flat_states) -> Tensor[N]`` giving the exact entropy
    ``H(pi(.|s))`` of each flat sample's state (see :class:`SupportsEntropy`). When it is absent the
    entropy term is estimated as ``-log pi(a|s)`` of the sampled actions (see
    :func:`sb3_grpo.core.objective.grpo_loss`).
    """

    def generate_actions(self, states: Any, num_actions_per_state: int, **kwargs: Any) -> list[list[Any]]:
        """Sample ``num_actions_per_state`` actions for each state.

        :param states: ``S`` states (tensor/array with states on the first axis, or a sequence).
        :param num_actions_per_state: the group size ``G``.
        :param kwargs: generation options passed through from the trainer (``generation_kwargs``).
        :return: ``S`` lists of ``G`` actions each.
        """
        ...

    def get_log_probabilities(self, states: Any, actions: list[Any]) -> torch.Tensor:
        """``log pi(a_n | s_n)`` of each flat sample, differentiable w.r.t. the policy's parameters.

        :param states: ``N`` flat states (each state repeated ``G`` times, group-major).
        :param actions: ``N`` flat actions, a list.
        :return: tensor of shape ``(N,)``.
        """
        ...

    def get_parameters(self) -> dict[str, torch.Tensor]:
        """The trainable parameters by name (for example ``dict(module.named_parameters())``)."""
        ...

    def train(self) -> Any:
        """Switch to training mode (used for the update phase)."""
        ...

    def eval(self) -> Any:
        """Switch to evaluation mode (used while collecting experience)."""
        ...

    def to(self, device: Any) -> Any:
        """Move the model to ``device``."""
        ...


@runtime_checkable
class SupportsEntropy(Protocol):
    """A policy that can give the exact entropy of its action distribution."""

    def entropy(self, states: Any) -> torch.Tensor:
        """``H(pi(.|s_n))`` of each flat state, shape ``(N,)``, differentiable."""
        ...


@runtime_checkable
class RewardModel(Protocol):
    """Scores (state, action) pairs. Rewards are treated as constants (no gradient flows through them)."""

    def compute_rewards(self, states: Any, actions: list[Any]) -> torch.Tensor:
        """Reward of each flat sample.

        :param states: ``N`` flat states (each state repeated ``G`` times, group-major).
        :param actions: ``N`` flat actions, a list.
        :return: tensor of shape ``(N,)`` of finite rewards.
        """
        ...

    def train(self) -> Any:
        """Switch to training mode."""
        ...

    def eval(self) -> Any:
        """Switch to evaluation mode (the trainer calls this before scoring)."""
        ...

    def to(self, device: Any) -> Any:
        """Move the model to ``device``."""
        ...


def missing_methods(obj: object, protocol: type) -> list[str]:
    """Names of the methods of ``protocol`` that ``obj`` lacks (or has but not callable)."""
    names = [name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")]
    return [name for name in names if not callable(getattr(obj, name, None))]


def check_protocol(obj: object, protocol: type, role: str) -> None:
    """Raise a :class:`TypeError` naming the methods ``obj`` needs to act as ``protocol``.

    :param obj: the user's object.
    :param protocol: :class:`PolicyModel` or :class:`RewardModel`.
    :param role: how to name it in the message (e.g. ``"policy"``).
    """
    missing = missing_methods(obj, protocol)
    if missing:
        raise TypeError(
            f"{role} ({type(obj).__name__}) does not satisfy the {protocol.__name__} protocol: it lacks "
            f"method(s) {', '.join(missing)}. Add them to your class (no base class is needed); see "
            f"sb3_grpo.core.protocols.{protocol.__name__} for their signatures"
        )
