"""GRPO.load(path, **kwargs) checks the hyperparameters it is given as the constructor does (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sb3_grpo import GRPO

SMALL = {"n_steps": 4, "batch_size": 8, "group_size": 2, "branch_horizon": 2, "branch_interval": 1}

#: bad values, each refused by the constructor
BAD = [
    {"gamma": float("nan")},
    {"gamma": 1.5},
    {"clip_range": float("inf")},
    {"clip_range": 0.0},
    {"kl_coef": float("nan")},
    {"kl_coef": -0.1},
    {"ent_coef": "0.01"},
    {"max_grad_norm": float("inf")},
    {"target_kl": float("nan")},
    {"learning_rate": float("nan")},
    {"skip_identical_groups": "False"},
    {"group_size": 1},
    {"branch_horizon": -1},
    {"n_epochs": 0},
    {"group_mode": "trajectory"},
    {"torch_threads": 0},
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("load") / "model.zip"
    GRPO("MlpPolicy", "CartPole-v1", seed=0, **SMALL).save(path)
    return path


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: "-".join(f"{k}={v}" for k, v in bad.items()))
def test_load_refuses_what_the_constructor_refuses(bad: dict[str, Any], saved: Path) -> None:
    with pytest.raises((ValueError, TypeError)) as from_constructor:
        GRPO("MlpPolicy", "CartPole-v1", **{**SMALL, **bad})
    with pytest.raises(type(from_constructor.value)) as from_load:
        GRPO.load(saved, **bad)
    assert str(from_load.value) == str(from_constructor.value)


def test_load_applies_good_values(saved: Path) -> None:
    model = GRPO.load(saved, env=None, gamma=0.9, ent_coef=0.01, kl_coef=0.1, skip_identical_groups=False)
    assert (model.gamma, model.ent_coef, model.kl_coef) == (0.9, 0.01, 0.1)
    assert model.skip_identical_groups is False
    assert model.reference_policy is not None  # 0 -> 0.1 builds the reference, as before


def test_load_without_kwargs_keeps_the_saved_values(saved: Path) -> None:
    model = GRPO.load(saved)
    assert (model.n_steps, model.group_size, model.branch_interval) == (4, 2, 1)
