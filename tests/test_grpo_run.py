"""SB3-style run tests of GRPO: action spaces x VecEnv kinds x group modes, save/load, callbacks."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import (
    CallbackList,
    CheckpointCallback,
    EvalCallback,
    StopTrainingOnRewardThreshold,
)
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import (
    FakeImageEnv,
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
    SimpleMultiObsEnv,
)
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from sb3_grpo import GRPO
from sb3_grpo.cloning import CloneableWrapper
from sb3_grpo.grpo.schedules import LinearDecay

ACTION_SPACE_ENVS = {
    "Discrete": lambda: IdentityEnv(3, ep_length=20),
    "Box": lambda: IdentityEnvBox(eps=0.5, ep_length=20),
    "MultiDiscrete": lambda: IdentityEnvMultiDiscrete(2, ep_length=20),
    "MultiBinary": lambda: IdentityEnvMultiBinary(2, ep_length=20),
}

SMALL = dict(n_steps=8, batch_size=32, n_epochs=2, group_size=4, branch_horizon=2, branch_interval=8, seed=0)


def make_env(name: str, n_envs: int, vec_env_cls: type) -> DummyVecEnv | SubprocVecEnv:
    kwargs = {"start_method": "fork"} if vec_env_cls is SubprocVecEnv else None
    return make_vec_env(
        ACTION_SPACE_ENVS[name],
        n_envs=n_envs,
        seed=0,
        vec_env_cls=vec_env_cls,
        vec_env_kwargs=kwargs,
        wrapper_class=CloneableWrapper if vec_env_cls is SubprocVecEnv else None,
    )


@pytest.mark.parametrize("space", list(ACTION_SPACE_ENVS))
@pytest.mark.parametrize("group_mode", ["state", "episode"])
@pytest.mark.parametrize("vec_env_cls", [DummyVecEnv, SubprocVecEnv])
def test_learn_predict_save_load(space: str, group_mode: str, vec_env_cls: type, tmp_path) -> None:
    env = make_env(space, n_envs=2, vec_env_cls=vec_env_cls)
    try:
        n_steps = 1 if group_mode == "episode" else SMALL["n_steps"]
        model = GRPO("MlpPolicy", env, **{**SMALL, "n_steps": n_steps, "group_mode": group_mode})
        model.learn(600)
        assert model.num_timesteps >= 600

        obs = env.reset()
        actions, _ = model.predict(obs, deterministic=True)
        assert env.action_space.contains(actions[0])

        model.save(tmp_path / "model.zip")
        loaded = GRPO.load(tmp_path / "model.zip", env=env)
        loaded_actions, _ = loaded.predict(obs, deterministic=True)
        np.testing.assert_array_equal(actions, loaded_actions)
        loaded.learn(200, reset_num_timesteps=False)
    finally:
        env.close()


def test_learn_without_arguments_has_a_documented_default() -> None:
    import inspect

    from sb3_grpo.grpo.grpo import DEFAULT_TOTAL_TIMESTEPS

    default = inspect.signature(GRPO.learn).parameters["total_timesteps"].default
    assert default == DEFAULT_TOTAL_TIMESTEPS == 100_000


@pytest.mark.parametrize("supervision", ["outcome", "process"])
def test_episode_supervision_kinds(supervision: str) -> None:
    model = GRPO(
        "MlpPolicy",
        "CartPole-v1",
        group_mode="episode",
        supervision=supervision,
        n_steps=1,
        batch_size=64,
        seed=0,
    )
    model.learn(1000)
    assert len(model.ep_info_buffer) >= model.group_size


def test_env_id_string_and_default_policy_kwargs() -> None:
    model = GRPO(
        "MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16], activation_fn=th.nn.ReLU), **SMALL
    )
    assert not hasattr(model.policy, "value_net")
    linear = [m for m in model.policy.mlp_extractor.policy_net if isinstance(m, th.nn.Linear)]
    assert [m.out_features for m in linear] == [16]
    model.learn(300)


def test_image_observations_cnn_policy() -> None:
    env = make_vec_env(
        lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True), n_envs=1
    )
    model = GRPO(
        "CnnPolicy", env, n_steps=4, batch_size=8, n_epochs=1, group_size=2, branch_horizon=1, seed=0
    )
    model.learn(60)
    assert model.num_timesteps >= 60


def test_dict_observations_multi_input_policy() -> None:
    env = make_vec_env(lambda: SimpleMultiObsEnv(random_start=False), n_envs=1)
    model = GRPO("MultiInputPolicy", env, **{**SMALL, "branch_horizon": 1})
    model.learn(200)
    obs = env.reset()
    model.predict(obs)


def test_use_sde_box_actions() -> None:
    model = GRPO("MlpPolicy", "Pendulum-v1", use_sde=True, sde_sample_freq=4, **SMALL)
    model.learn(300)
    assert model.num_timesteps >= 300


def test_callbacks_fire(tmp_path) -> None:
    eval_env = gym.make("CartPole-v1")
    stop = StopTrainingOnRewardThreshold(reward_threshold=1e9)
    eval_callback = EvalCallback(eval_env, eval_freq=20, n_eval_episodes=2, callback_on_new_best=stop)
    checkpoint = CheckpointCallback(save_freq=20, save_path=str(tmp_path / "ckpt"), name_prefix="grpo")
    model = GRPO("MlpPolicy", "CartPole-v1", **SMALL)
    model.learn(1500, callback=CallbackList([eval_callback, checkpoint]))
    assert eval_callback.n_calls > 0 and eval_callback.best_mean_reward > -np.inf
    assert any(name.startswith("grpo_") for name in os.listdir(tmp_path / "ckpt"))


def test_stop_training_on_reward_threshold_stops_early() -> None:
    eval_env = gym.make("CartPole-v1")
    stop = StopTrainingOnRewardThreshold(reward_threshold=-1.0)  # any return beats it: stop at first eval
    eval_callback = EvalCallback(eval_env, eval_freq=10, n_eval_episodes=1, callback_on_new_best=stop)
    model = GRPO("MlpPolicy", "CartPole-v1", **SMALL)
    model.learn(100_000, callback=eval_callback)
    assert model.num_timesteps < 5_000


def test_progress_bar_counts_transitions(capsys) -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", **SMALL)
    model.learn(500, progress_bar=True)
    assert model.num_timesteps >= 500


def test_tensorboard_logs_grpo_keys(tmp_path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model = GRPO("MlpPolicy", "CartPole-v1", tensorboard_log=str(tmp_path), **SMALL)
    model.learn(1200, tb_log_name="run")
    run_dir = tmp_path / os.listdir(tmp_path)[0]
    accumulator = EventAccumulator(str(run_dir))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    for key in ("train/approx_kl", "train/clip_fraction", "train/entropy_loss", "train/frac_zero_std_groups"):
        assert key in tags, f"{key} not logged; got {sorted(tags)}"
    assert "rollout/group_reward_std" in tags


def test_keyboard_interrupt_leaves_saveable_model(tmp_path) -> None:
    from stable_baselines3.common.callbacks import BaseCallback

    class Interrupt(BaseCallback):
        def _on_step(self) -> bool:
            if self.n_calls == 15:
                raise KeyboardInterrupt
            return True

    model = GRPO("MlpPolicy", "CartPole-v1", kl_coef=0.1, **SMALL)
    with pytest.raises(KeyboardInterrupt):
        model.learn(10_000, callback=Interrupt())
    model.save(tmp_path / "interrupted.zip")
    loaded = GRPO.load(tmp_path / "interrupted.zip", env=model.get_env())
    loaded.learn(300, reset_num_timesteps=False)


def test_reference_policy_saved_and_restored(tmp_path) -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", kl_coef=0.1, ref_update_interval=None, **SMALL)
    model.learn(800)
    assert model.reference_policy is not None
    ref_params = {k: v.clone() for k, v in model.reference_policy.state_dict().items()}
    policy_params = model.policy.state_dict()
    assert any(not th.equal(ref_params[k], policy_params[k]) for k in ref_params), "policy never moved"
    model.save(tmp_path / "m.zip")
    loaded = GRPO.load(tmp_path / "m.zip")
    assert loaded.reference_policy is not None
    for key, value in loaded.reference_policy.state_dict().items():
        assert th.equal(value, ref_params[key])


def test_reference_refresh_interval() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", kl_coef=0.1, ref_update_interval=1, **SMALL)
    model.learn(400)
    assert model.reference_policy is not None
    for key, value in model.reference_policy.state_dict().items():
        assert th.equal(value, model.policy.state_dict()[key])


def test_no_reference_without_kl() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", kl_coef=0.0, **SMALL)
    assert model.reference_policy is None


def test_get_set_parameters_roundtrip() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", **SMALL)
    params = model.get_parameters()
    other = GRPO("MlpPolicy", "CartPole-v1", **{**SMALL, "seed": 1})
    other.set_parameters(params)
    obs = np.zeros((1, 4), dtype=np.float32)
    assert np.array_equal(
        model.predict(obs, deterministic=True)[0], other.predict(obs, deterministic=True)[0]
    )


def test_set_env_rebuilds_branches() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", **SMALL)
    model.learn(200)
    old_pool = model._branch_pool
    model.set_env(make_vec_env("CartPole-v1", n_envs=1))
    assert model._branch_pool is None
    model.learn(200)
    assert model._branch_pool is not None and model._branch_pool is not old_pool


@pytest.mark.skipif(not th.cuda.is_available(), reason="needs a GPU")
def test_cuda_device() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", device="cuda", **SMALL)
    model.learn(300)
    assert next(model.policy.parameters()).is_cuda


def test_target_kl_stops_the_epochs_early() -> None:
    # n_steps 8 x G 4 = 32 samples, batch 8: 4 minibatches per epoch, 4 epochs
    # an entropy bonus moves the policy even when every group of CartPole's short branches ties
    kwargs = {**SMALL, "batch_size": 8, "n_epochs": 4, "ent_coef": 0.01}
    free = GRPO("MlpPolicy", "CartPole-v1", **kwargs)
    free.learn(1)
    assert free._n_updates == 4
    stopped = GRPO("MlpPolicy", "CartPole-v1", target_kl=1e-12, **kwargs)
    stopped.learn(1)
    assert stopped._n_updates == 1  # the second minibatch already exceeds 1.5 x target_kl


def test_default_learning_rate_decays_from_where_each_rollout_began() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", seed=0)
    assert model.learning_rate == LinearDecay(1e-3)
    model.learn(1)  # a budget under one rollout: its one update trains at the initial rate
    assert model.policy.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_learning_rate_and_clip_range_schedules() -> None:
    model = GRPO(
        "MlpPolicy",
        "CartPole-v1",
        learning_rate=lambda progress: 1e-3 * progress,
        clip_range=lambda progress: 0.1 + 0.1 * progress,
        **SMALL,
    )
    model.learn(1000)  # the last rollout overshoots 1000 transitions
    assert model.num_timesteps > 1000
    # the last update takes the schedules' values where its rollout began, not 0 (or below) at its end
    progress = 1 - model._rollout_start / 1000
    assert 0 < progress < 1 and model._current_progress_remaining == pytest.approx(progress)
    assert model.policy.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * progress)
    assert model.clip_range(0.5) == pytest.approx(0.15)
