"""Hyperparameters of the model-agnostic :class:`~sb3_grpo.core.trainer.GRPOTrainer`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sb3_grpo.core.advantages import ADVANTAGE_SCALINGS, BASELINES, AdvantageScaling, Baseline
from sb3_grpo.core.objective import KL_ESTIMATORS, KLEstimator
from sb3_grpo.core.validation import is_finite_real as _is_number
from sb3_grpo.core.validation import is_integer as _is_int


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
    num_epochs_per_update: int = field(
        default=1,
        metadata={
            "help": "mu, passes over each batch of collected experience (DeepSeekMath uses 1; then the "
            "ratio is 1 on the first minibatch and clipping only acts on later ones). Must be >= 1."
        },
    )
    batch_size: int | None = field(
        default=None,
        metadata={
            "help": "Groups (states) per minibatch; each update shuffles the groups and splits them into "
            "minibatches of this many whole groups. None = one minibatch with every group."
        },
    )
    max_grad_norm: float | None = field(
        default=1.0,
        metadata={
            "help": "Clip the global gradient norm of the policy's parameters to this. None = no clipping."
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
        if not _is_int(self.group_size) or self.group_size < 2:
            raise ValueError(
                f"group_size must be an int >= 2, got {self.group_size!r}; GRPO compares several actions "
                "per state, so sample at least 2 (8 is a common choice)"
            )
        if not _is_number(self.learning_rate) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not _is_number(self.clip_range) or not self.clip_range >= 0:
            raise ValueError(f"clip_range must be >= 0, got {self.clip_range!r}; 0.2 is the usual value")
        if self.clip_range_high is not None and (
            not _is_number(self.clip_range_high) or not self.clip_range_high >= 0
        ):
            raise ValueError(
                f"clip_range_high must be >= 0 or None, got {self.clip_range_high!r}; None = clip_range"
            )
        if not _is_number(self.kl_coef) or not self.kl_coef >= 0:
            raise ValueError(f"kl_coef must be >= 0, got {self.kl_coef!r}; use 0 to disable the KL penalty")
        if self.kl_estimator not in KL_ESTIMATORS:
            raise ValueError(f"kl_estimator must be one of {KL_ESTIMATORS}, got {self.kl_estimator!r}")
        if not _is_number(self.ent_coef):
            raise ValueError(f"ent_coef must be a finite number, got {self.ent_coef!r}")
        if self.advantage_scaling not in ADVANTAGE_SCALINGS:
            raise ValueError(
                f"advantage_scaling must be one of {ADVANTAGE_SCALINGS}, got {self.advantage_scaling!r}"
            )
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        if not _is_number(self.advantage_eps) or not self.advantage_eps >= 0:
            raise ValueError(f"advantage_eps must be >= 0, got {self.advantage_eps!r}")
        if not _is_int(self.num_epochs_per_update) or self.num_epochs_per_update < 1:
            raise ValueError(f"num_epochs_per_update must be an int >= 1, got {self.num_epochs_per_update!r}")
        if self.batch_size is not None and (not _is_int(self.batch_size) or self.batch_size < 1):
            raise ValueError(
                f"batch_size (groups per minibatch) must be an int >= 1 or None, got {self.batch_size!r}"
            )
        if self.max_grad_norm is not None and (
            not _is_number(self.max_grad_norm) or not self.max_grad_norm > 0
        ):
            raise ValueError(f"max_grad_norm must be > 0 or None (no clipping), got {self.max_grad_norm!r}")
        if self.seed is not None and not _is_int(self.seed):
            raise ValueError(f"seed must be an int or None, got {self.seed!r}")

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of field ``name``."""
        for f in fields(cls):
            if f.name == name:
                return str(f.metadata["help"])
        raise KeyError(f"GRPOConfig has no field {name!r}")
