"""The hyperparameters of GRPO in the RL Zoo (``grpo.yml``), installed as ``sb3_grpo.zoo_configs``.

``python -m sb3_grpo.zoo train`` reads ``grpo.yml`` from here when no ``-conf`` is given; the examples and
the benchmarks read their settings from it with :func:`grpo_kwargs`, so each set exists once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The zoo's hyperparameter file of GRPO.
GRPO_YML = Path(__file__).with_name("grpo.yml")

#: Keys of a zoo entry that are not constructor arguments of the algorithm.
ZOO_ONLY_KEYS = (
    "n_timesteps",
    "n_envs",
    "policy",
    "normalize",
    "env_wrapper",
    "vec_env_wrapper",
    "frame_stack",
    "callback",
    "monitor_kwargs",
    "env_kwargs",
    "eval_env_kwargs",
    "normalize_kwargs",
)
#: Keys whose ``lin_X`` strings the zoo turns into linear schedules.
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf", "delta_std")


def load_entries(path: Path = GRPO_YML) -> dict[str, dict[str, Any]]:
    """Every entry of a zoo hyperparameter file, as yaml reads it (anchors resolved).

    :param path: the yaml file (default: GRPO's ``grpo.yml``).
    """
    import yaml

    with open(path) as file:
        return yaml.safe_load(file) or {}


def constructor_kwargs(entry: dict[str, Any]) -> dict[str, Any]:
    """The algorithm's keyword arguments in a zoo entry, read as the zoo reads them: zoo-only keys left
    out, ``lin_X`` strings made linear schedules, ``policy_kwargs`` (a string) evaluated.

    :param entry: one env's entry of a zoo hyperparameter file.
    """
    import torch as th
    from torch import nn

    kwargs = {key: value for key, value in entry.items() if key not in ZOO_ONLY_KEYS}
    for key in SCHEDULE_KEYS:
        value = kwargs.get(key)
        if isinstance(value, str) and value.startswith("lin_"):
            kwargs[key] = _linear_schedule(float(value[len("lin_") :]))
    if isinstance(kwargs.get("policy_kwargs"), str):
        # the zoo's own convention: a Python expression in a string, with nn and th in scope
        kwargs["policy_kwargs"] = eval(kwargs["policy_kwargs"], {"nn": nn, "th": th, "dict": dict})
    return kwargs


def grpo_kwargs(env_id: str) -> dict[str, Any]:
    """GRPO's keyword arguments for ``env_id`` from ``grpo.yml`` (``GRPO("MlpPolicy", env, **kwargs)``).

    :param env_id: a key of ``grpo.yml``.
    :raises KeyError: naming the entries there are.
    """
    entries = load_entries()
    if env_id not in entries:
        raise KeyError(f"grpo.yml has no entry {env_id!r}; it has {', '.join(sorted(entries))}")
    return constructor_kwargs(entries[env_id])


def _linear_schedule(initial_value: float) -> Any:
    """``initial_value`` at progress remaining 1 down to 0 at 0, as the zoo's ``lin_X`` (``rl_zoo3.utils``)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial_value

    return schedule
