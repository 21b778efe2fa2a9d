"""Hyperparameters of the model-agnostic :class:`~sb3_grpo.core.trainer.GRPOTrainer`."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

from sb3_grpo.core.advantages import AdvantageScaling, Baseline
from sb3_grpo.core.objective import KLEstimator
from sb3_grpo.core.validation import check_hyperparameters


@dataclass
class GRPOConfig:
    """Configuration of GRPO (Shao et al. 2024, arXiv:2402.03300). Every field has a default and help text
    (``GRPOConfig.help("field")``); ``__post_init__`` rejects invalid values with a message saying what to
    change.
    """

    group_size: int = field(
        default=8,
        metadata={
            "help": "G, actions sampled per state; the advantage of each compares it with the other members "
            "of its group. Must be >= 2 (DeepSeekMath uses 64, TRL's default is 8)."
        },
    )
    learning_rate: float = field(
        default=3e-4,
        metadata={
            "help": "Learning rate of the Adam optimizer built by sb3_grpo.core.make_optimizer. Not used "
            "when you pass your own optimizer to GRPOTrainer."
        },
    )
    clip_range: float = field(
        default=0.2,
        metadata={"help": "eps_low: the ratio pi/pi_old is clipped below at 1 - clip_range. Must be >= 0."},
    )
    clip_range_high: float | None = field(
        default=None,
        metadata={
            "help": "eps_high: the ratio is clipped above at 1 + clip_range_high (DAPO's clip-higher uses "
            "0.28 with clip_range=0.2). None = clip_range (symmetric, as PPO)."
        },
    )
    kl_coef: float = field(
        default=0.0,
        metadata={
            "help": "beta, weight of the KL penalty to the reference policy (DeepSeekMath uses 0.04). "
            "0 = no penalty; then the reference policy is optional. Must be >= 0."
        },
    )
    kl_estimator: KLEstimator = field(
        default="k3",
        metadata={"help": "KL estimator: 'k1', 'k2' or 'k3' (Schulman; DeepSeekMath eq. 4 is 'k3')."},
    )
    ent_coef: float = field(
        default=0.0,
        metadata={
            "help": "Weight of the entropy bonus. Exact when the policy has an entropy(states) method; "
            "otherwise estimated as -log pi(a|s), whose gradient is zero in expectation."
        },
    )
    advantage_scaling: AdvantageScaling = field(
        default="group_std",
        metadata={
            "help": "'group_std' (GRPO: divide by each group's reward std), 'batch_std' (divide by the "
            "std of all rewards of the batch) or 'none' (Dr. GRPO)."
        },
    )
    baseline: Baseline = field(
        default="mean",
        metadata={"help": "'mean' (GRPO: the group's mean reward) or 'leave_one_out' (RLOO)."},
    )
    advantage_eps: float = field(
        default=1e-8,
        metadata={"help": "Added to the standard deviation before dividing the advantages by it."},
    )
    n_epochs: int = field(
        default=1,
        metadata={
            "help": "mu, passes over each batch of collected experience (GRPO's n_epochs; DeepSeekMath uses 1: "
            "then the ratio is 1 on the first minibatch and clipping only acts on later ones). Must be >= 1. "
            "Formerly num_epochs_per_update."
        },
    )
    groups_per_batch: int | None = field(
        default=None,
        metadata={
            "help": "Groups (states) per minibatch; each update shuffles the groups and splits them into "
            "minibatches of this many whole groups. None = one minibatch with every group. (GRPO's "
            "batch_size counts samples, G per group; this field was called batch_size before.)"
        },
    )
    max_grad_norm: float | None = field(
        default=0.5,
        metadata={
            "help": "Clip the global gradient norm of the policy's parameters to this (0.5, as GRPO and "
            "SB3's PPO). None = no clipping."
        },
    )
    seed: int | None = field(
        default=None,
        metadata={
            "help": "When set, GRPOTrainer calls torch.manual_seed(seed) once at construction (so a policy "
            "that samples with torch's global generator is reproducible) and seeds its own minibatch "
            "shuffling generator with it."
        },
    )

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        check_hyperparameters(values, get_type_hints(GRPOConfig))

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of field ``name``."""
        for f in fields(cls):
            if f.name == name:
                return str(f.metadata["help"])
        raise KeyError(f"GRPOConfig has no field {name!r}")


#: Old field names -> new ones; the constructor still takes the old names, with a DeprecationWarning.
RENAMED = {"num_epochs_per_update": "n_epochs", "batch_size": "groups_per_batch"}

_dataclass_init = GRPOConfig.__init__


@functools.wraps(_dataclass_init)
def _init_accepting_old_names(self: GRPOConfig, *args: Any, **kwargs: Any) -> None:
    for old, new in RENAMED.items():
        if old not in kwargs:
            continue
        if new in kwargs:
            raise ValueError(f"GRPOConfig got both {old} and {new}; pass only {new} ({old} is its old name).")
        warnings.warn(
            f"GRPOConfig({old}=...) is deprecated: use {new}=... (same meaning).",
            DeprecationWarning,
            stacklevel=2,
        )
        kwargs[new] = kwargs.pop(old)
    _dataclass_init(self, *args, **kwargs)


def _read_old_name(old: str, new: str) -> property:
    def get(self: GRPOConfig) -> Any:
        warnings.warn(f"GRPOConfig.{old} is deprecated: read {new}.", DeprecationWarning, stacklevel=2)
        return getattr(self, new)

    return property(get, doc=f"Deprecated name of :attr:`{new}`.")


# set after the class is built, so that the dataclass's fields and generated __init__ hold the new names only
setattr(GRPOConfig, "__init__", _init_accepting_old_names)  # noqa: B010
for _old, _new in RENAMED.items():
    setattr(GRPOConfig, _old, _read_old_name(_old, _new))
