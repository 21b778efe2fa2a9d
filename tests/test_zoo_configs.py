"""Every entry of ``zoo_configs/grpo.yml`` builds a GRPO model with the values it names."""

from __future__ import annotations

import importlib.util

import pytest
import sb3_grpo.envs  # noqa: F401  (registers DynamicBandit-v0)
import yaml

from benchmarks._common import GRPO_ZOO_CONFIG, grpo_hyperparams
from benchmarks._runners import make_envs
from sb3_grpo import GRPO

with open(GRPO_ZOO_CONFIG) as _file:
    ENTRIES = sorted(yaml.safe_load(_file))
MUJOCO_ENVS = ("Hopper", "HalfCheetah", "Walker2d", "Ant")


@pytest.mark.parametrize("env_id", ENTRIES)
def test_zoo_entry_builds_a_model(env_id: str) -> None:
    if env_id.startswith("LunarLander") and importlib.util.find_spec("Box2D") is None:
        pytest.skip("box2d is not installed (pip install -e '.[box2d]')")
    if env_id.split("-")[0] in MUJOCO_ENVS and importlib.util.find_spec("mujoco") is None:
        pytest.skip("mujoco is not installed (pip install -e '.[mujoco]')")
    params = grpo_hyperparams(env_id)
    train_env, _ = make_envs(env_id.removeprefix("sb3_grpo.envs:"), params, seed=0)
    model = GRPO(params.policy, train_env, seed=0, **params.kwargs)
    for key, value in params.kwargs.items():
        attribute = getattr(model, key)
        if key == "policy_kwargs":
            assert value.items() <= model.policy_kwargs.items(), key
        elif callable(attribute) and not callable(value):  # SB3 turns clip_range into a schedule
            assert attribute(1.0) == pytest.approx(value), key
        else:
            assert attribute == value, key
    train_env.close()


def test_the_bandit_example_reads_its_settings_from_the_zoo_entry() -> None:
    from examples.dynamic_bandit import GRPO_BANDIT_KWARGS

    # the values the example held itself before it read grpo.yml (the measured bandit results' settings)
    assert GRPO_BANDIT_KWARGS == dict(
        group_size=20,
        branch_horizon=0,
        branch_interval=1,
        skip_identical_groups=False,
        n_steps=1,
        batch_size=20,
        n_epochs=1,
        learning_rate=0.1,
        ent_coef=0.05,
        advantage_scaling="none",
        clip_range=0.2,
        max_grad_norm=10.0,
        policy_kwargs=dict(net_arch=[], optimizer_kwargs=dict(betas=(0.0, 0.9), eps=1e-8)),
    )
    assert grpo_hyperparams("DynamicBandit-v0").kwargs == GRPO_BANDIT_KWARGS
