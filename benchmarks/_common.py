"""Shared pieces of the benchmark scripts: hyperparameters (rl-zoo and ``zoo_configs/grpo.yml``) and statistics.

Hyperparameters are read the way the RL Baselines3 Zoo reads them: ``policy_kwargs`` is a string
evaluated with ``nn``/``th`` in scope, ``lin_X`` strings become linear schedules, and ``n_timesteps``,
``n_envs``, ``policy`` and ``normalize`` are taken out of the algorithm's keyword arguments.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that `sb3_grpo.envs` and `examples` import from any working directory
    sys.path.insert(0, str(ROOT))

from sb3_grpo.zoo_configs import GRPO_YML, constructor_kwargs, load_entries  # noqa: E402

#: GRPO's zoo configuration.
GRPO_ZOO_CONFIG = GRPO_YML


@dataclass
class Hyperparams:
    """What one algorithm needs on one env.

    :param kwargs: keyword arguments of the algorithm's constructor
    :param n_envs: number of training sub-envs
    :param policy: policy alias
    :param normalize: ``None`` or the keyword arguments of ``VecNormalize``
    :param source: where they came from (for the report)
    """

    kwargs: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 1
    policy: str = "MlpPolicy"
    normalize: dict[str, Any] | None = None
    source: str = "defaults"


def parse_zoo_entry(entry: dict[str, Any], source: str) -> Hyperparams:
    """Turn one yaml entry of an rl-zoo hyperparameter file into :class:`Hyperparams`.

    :param entry: the env's entry (a dict of hyperparameters)
    :param source: a label saying where it was read
    :return: the parsed hyperparameters
    """
    entry = dict(entry)
    normalize_value = entry.get("normalize", False)
    normalize: dict[str, Any] | None = None
    if isinstance(normalize_value, str):
        normalize = dict(eval(normalize_value))  # the zoo's own convention: a dict literal in a string
    elif normalize_value:
        normalize = {}
    if normalize is not None and "gamma" in entry:
        normalize.setdefault("gamma", entry["gamma"])  # as the zoo does: the return scale of the algorithm
    return Hyperparams(
        kwargs=constructor_kwargs(entry),
        n_envs=int(entry.get("n_envs", 1)),
        policy=str(entry.get("policy", "MlpPolicy")),
        normalize=normalize,
        source=source,
    )


def zoo_hyperparams(algo: str, env_id: str) -> Hyperparams | None:
    """The rl-zoo tuned hyperparameters of SB3's ``algo`` (``"ppo"``, ``"a2c"``) on ``env_id``.

    :param algo: algorithm name as the zoo spells it
    :param env_id: Gymnasium env id
    :return: the hyperparameters, or None if the zoo has no entry for this env
    """
    import rl_zoo3

    path = Path(rl_zoo3.__file__).parent / "hyperparams" / f"{algo}.yml"
    with open(path) as file:
        table = yaml.safe_load(file)
    key = env_id if env_id in table else _older_version(env_id, table)
    if key is None:
        return None
    source = f"rl_zoo3 {algo}.yml" + ("" if key == env_id else f" ({key})")
    return parse_zoo_entry(table[key], source)


def _older_version(env_id: str, table: dict[str, Any]) -> str | None:
    """The newest entry of ``table`` for an older version of ``env_id`` (``Hopper-v4`` for ``Hopper-v5``:
    the zoo tunes MuJoCo on -v4, whose dynamics -v5 keeps), or None."""
    name, _, version = env_id.rpartition("-v")
    if not name or not version.isdigit():
        return None
    older = [f"{name}-v{v}" for v in range(int(version) - 1, -1, -1)]
    return next((key for key in older if key in table), None)


def grpo_hyperparams(env_id: str, config: Path = GRPO_ZOO_CONFIG) -> Hyperparams:
    """GRPO's hyperparameters on ``env_id``: its entry of ``zoo_configs/grpo.yml``, else GRPO's defaults.

    :param env_id: Gymnasium env id
    :param config: the yaml file to read
    :return: the hyperparameters
    """
    if config.exists():
        table = load_entries(config)
        if env_id in table:
            return parse_zoo_entry(table[env_id], f"{config.name}")
    return Hyperparams(source="GRPO defaults")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON rows of a results file written by :func:`append_row` (one object per line)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one run's row to a results file (JSON lines), so that runs of a sweep survive a stop."""
    with path.open("a") as file:
        file.write(json.dumps(row) + "\n")


def iqm(values: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% of the values (25% trimmed from each side).

    :param values: 1-D scores (one per run)
    :return: the IQM (the mean when fewer than 4 values leave nothing to trim)
    """
    values = np.sort(np.asarray(values, dtype=np.float64))
    cut = int(0.25 * len(values))
    return float(values[cut : len(values) - cut].mean())


def iqm_ci(values: np.ndarray, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap confidence interval of the IQM over runs.

    (``rliable`` 1.2 does the same; it is not used because its ``arch`` dependency fails to import with
    the installed pandas.)

    :param values: 1-D scores (one per run)
    :param reps: bootstrap resamples
    :param seed: seed of the resampling
    :return: (low, high)
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    samples = rng.choice(values, size=(reps, len(values)), replace=True)
    boot = np.array([iqm(row) for row in samples])
    low, high = np.percentile(boot, [2.5, 97.5])
    return float(low), float(high)
