"""sb3-grpo: Group-Relative Policy Optimization (GRPO) in the style of Stable-Baselines3.

Importing it registers the bandit env ids of :mod:`sb3_grpo.envs` (``DynamicBandit-v0``...) with
gymnasium, which since 1.0 loads no plugins by itself.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

from sb3_grpo.callbacks import CheckpointCallback, EvalCallback
from sb3_grpo.core import (
    GroupExperience,
    GRPOConfig,
    GRPOLossOutput,
    GRPOTrainer,
    PolicyModel,
    RewardModel,
    SupportsEntropy,
    group_advantages,
    grpo_loss,
    kl_divergence,
    make_optimizer,
    zero_std_groups,
)
from sb3_grpo.grpo import GRPO


def _import_envs() -> None:
    """Import (and so register) the bandit envs: installed as ``sb3_grpo.envs``, or, in a source
    checkout used without installing it, the repository's ``envs/`` folder beside this package."""
    try:
        importlib.import_module("sb3_grpo.envs")
        return
    except ModuleNotFoundError as error:
        if error.name != "sb3_grpo.envs":
            raise
    init = Path(__file__).resolve().parent.parent / "envs" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "sb3_grpo.envs", init, submodule_search_locations=[str(init.parent)]
    )
    if not init.is_file() or spec is None or spec.loader is None:
        raise ModuleNotFoundError(
            "sb3_grpo.envs is missing: reinstall sb3-grpo (pip install sb3-grpo, or pip install -e . in a "
            "checkout)",
            name="sb3_grpo.envs",
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules["sb3_grpo.envs"] = module
    spec.loader.exec_module(module)
    globals()["envs"] = module  # what the import system sets on the parent package


_import_envs()

#: The package version, read by setuptools at build time (the one place it is written).
__version__ = "0.1.0"

__all__ = [
    "GRPO",
    "CheckpointCallback",
    "EvalCallback",
    "GRPOConfig",
    "GRPOLossOutput",
    "GRPOTrainer",
    "GroupExperience",
    "PolicyModel",
    "RewardModel",
    "SupportsEntropy",
    "__version__",
    "group_advantages",
    "grpo_loss",
    "kl_divergence",
    "make_optimizer",
    "zero_std_groups",
]
