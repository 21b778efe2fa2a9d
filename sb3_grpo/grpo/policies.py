"""Actor-only policies for GRPO.

GRPO needs no value function: the baseline of every advantage is the mean score of the other members
of its group. These policies are SB3's ``ActorCriticPolicy`` family with the critic removed: the
same feature extractors, ``net_arch``, ``activation_fn``, ``ortho_init``, gSDE and distributions, but
no value head is built and ``predict_values`` refuses to run.

GRPO samples and scores actions through :func:`sample_actions` and :func:`log_prob_and_entropy`, which use
only ``get_distribution``: SB3's own ``ActorCriticPolicy`` classes work too (their critic stays unused).
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    MultiCategoricalDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    MlpExtractor,
    NatureCNN,
)
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn


class GRPOPolicy(ActorCriticPolicy):
    """
    Actor-only policy for GRPO (MlpPolicy).

    Takes every argument of SB3's :class:`~stable_baselines3.common.policies.ActorCriticPolicy`.
    ``net_arch`` is the actor's hidden layers: a list (``[64, 64]``) or a dict with a ``"pi"`` key; a
    ``"vf"`` key is ignored with a warning, since there is no critic; SB3's old ``[dict(pi=..., vf=...)]``
    format is accepted as PPO accepts it, and ``share_features_extractor`` has no effect.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule
    :param net_arch: The actor's hidden layer sizes
    :param kwargs: The other keyword arguments of ``ActorCriticPolicy``
    """

    #: Feature extractor used when ``policy_kwargs`` names none (subclasses change only this).
    default_features_extractor: type[BaseFeaturesExtractor] = FlattenExtractor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if isinstance(observation_space, spaces.Tuple):
            # PPO raises the same (from SB3's preprocessing); here before any env cloning is tried
            raise NotImplementedError(
                f"{observation_space} observation space is not supported: use a Dict observation space "
                "(e.g. gymnasium.spaces.Dict({'a': ..., 'b': ...})) with MultiInputPolicy."
            )
        kwargs.setdefault("features_extractor_class", self.default_features_extractor)
        # PPO's policy_kwargs carry over: without a critic there is nothing to share or not share
        kwargs["share_features_extractor"] = True
        if (
            isinstance(net_arch, list) and len(net_arch) == 1 and isinstance(net_arch[0], dict)
        ):  # SB3 < 1.8's format, still accepted by PPO: [dict(pi=[...], vf=[...])]
            net_arch = net_arch[0]
        elif isinstance(net_arch, list) and not all(isinstance(size, int) for size in net_arch):
            raise ValueError(
                f"net_arch={net_arch!r} is not supported: pass the actor's layer sizes as a list of ints "
                "(net_arch=[64, 64]) or a dict (net_arch=dict(pi=[64, 64]))."
            )
        if isinstance(net_arch, dict):
            if "vf" in net_arch:
                warnings.warn(
                    "GRPO has no value function: net_arch['vf'] is ignored (pass net_arch=[...] for the actor).",
                    UserWarning,
                    stacklevel=2,
                )
            net_arch = list(net_arch.get("pi", []))
        elif net_arch is None:
            net_arch = [] if kwargs["features_extractor_class"] is NatureCNN else [64, 64]
        super().__init__(
            observation_space, action_space, lr_schedule, net_arch, activation_fn, *args, **kwargs
        )

    def _build_mlp_extractor(self) -> None:
        # Only the actor branch has layers; the empty critic branch holds no parameters.
        assert isinstance(self.net_arch, list)
        self.mlp_extractor = MlpExtractor(
            self.features_dim,
            net_arch=dict(pi=self.net_arch, vf=[]),
            activation_fn=self.activation_fn,
            device=self.device,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        """
        Create the actor network, the action distribution's parameters and the optimizer (no critic).

        :param lr_schedule: Learning rate schedule; ``lr_schedule(1)`` is the initial learning rate
        """
        self._build_mlp_extractor()
        latent_dim_pi = self.mlp_extractor.latent_dim_pi

        if isinstance(self.action_dist, DiagGaussianDistribution):
            self.action_net, self.log_std = self.action_dist.proba_distribution_net(
                latent_dim=latent_dim_pi, log_std_init=self.log_std_init
            )
        elif isinstance(self.action_dist, StateDependentNoiseDistribution):
            self.action_net, self.log_std = self.action_dist.proba_distribution_net(
                latent_dim=latent_dim_pi, latent_sde_dim=latent_dim_pi, log_std_init=self.log_std_init
            )
        elif isinstance(
            self.action_dist, (CategoricalDistribution, MultiCategoricalDistribution, BernoulliDistribution)
        ):
            self.action_net = self.action_dist.proba_distribution_net(latent_dim=latent_dim_pi)
        else:
            raise NotImplementedError(f"Unsupported distribution '{self.action_dist}'.")

        if self.ortho_init:
            # Same gains as SB3's actor: sqrt(2) for hidden layers, 0.01 for the action head.
            module_gains = {
                self.features_extractor: np.sqrt(2),
                self.mlp_extractor: np.sqrt(2),
                self.action_net: 0.01,
            }
            for module, gain in module_gains.items():
                module.apply(partial(self.init_weights, gain=gain))

        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]

    def forward(self, obs: th.Tensor, deterministic: bool = False) -> tuple[th.Tensor, th.Tensor]:  # type: ignore[override]
        """
        Sample actions and their log-probabilities.

        :param obs: Observations (a batch)
        :param deterministic: Whether to take the distribution's mode instead of sampling
        :return: actions and ``log pi(a|s)``
        """
        return sample_actions(self, obs, deterministic)

    def evaluate_actions(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor | None]:  # type: ignore[override]
        """
        Log-probabilities and entropies of given actions under the current policy.

        :param obs: Observations
        :param actions: Actions taken in those observations
        :return: ``log pi(a|s)`` and the entropy of ``pi(.|s)`` (``None`` for distributions without a
            closed form, e.g. squashed gSDE)
        """
        return log_prob_and_entropy(self, obs, actions)

    def predict_values(self, obs: PyTorchObs) -> th.Tensor:
        raise NotImplementedError(
            "GRPO policies have no value function: advantages are relative to the group's mean score."
        )


class GRPOCnnPolicy(GRPOPolicy):
    """
    Actor-only CNN policy for GRPO (CnnPolicy): :class:`GRPOPolicy` with SB3's ``NatureCNN`` extractor.
    """

    default_features_extractor = NatureCNN


class GRPOMultiInputPolicy(GRPOPolicy):
    """
    Actor-only policy for Dict observation spaces (MultiInputPolicy), with SB3's ``CombinedExtractor``.
    """

    default_features_extractor = CombinedExtractor


def sample_actions(
    policy: ActorCriticPolicy, obs: PyTorchObs, deterministic: bool = False
) -> tuple[th.Tensor, th.Tensor]:
    """
    Actions of ``policy`` and their log-probabilities, through its action distribution only.

    GRPO samples through this, not through ``policy(obs)``, so that any ``ActorCriticPolicy`` (SB3's
    ``MlpPolicy``, whose ``forward`` also returns values) works as its policy.

    :param policy: A GRPO policy or any SB3 ``ActorCriticPolicy``
    :param obs: Observations (a batch)
    :param deterministic: Whether to take the distribution's mode instead of sampling
    :return: actions and ``log pi(a|s)``
    """
    distribution = policy.get_distribution(obs)
    actions = distribution.get_actions(deterministic=deterministic)
    log_prob = distribution.log_prob(actions)
    return actions.reshape((-1, *policy.action_space.shape)), log_prob  # type: ignore[misc]


def log_prob_and_entropy(
    policy: ActorCriticPolicy, obs: PyTorchObs, actions: th.Tensor
) -> tuple[th.Tensor, th.Tensor | None]:
    """
    ``log pi(a|s)`` of given actions and the entropy of ``pi(.|s)``, through the action distribution only.

    :param policy: A GRPO policy or any SB3 ``ActorCriticPolicy``
    :param obs: Observations
    :param actions: Actions taken in those observations
    :return: log-probabilities and entropies (``None`` for distributions without a closed form)
    """
    distribution = policy.get_distribution(obs)
    return distribution.log_prob(actions), distribution.entropy()


MlpPolicy = GRPOPolicy
CnnPolicy = GRPOCnnPolicy
MultiInputPolicy = GRPOMultiInputPolicy
