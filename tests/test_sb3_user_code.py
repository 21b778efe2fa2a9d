"""The PPO code SB3 users write (SB3's documentation examples), with ``PPO`` replaced by ``GRPO``.

Each test is one usage pattern of SB3's guide (examples, callbacks, tensorboard, save/load, export,
custom policy, vec envs) on a tiny budget. What cannot apply to GRPO (PPO's critic arguments) must stop
at once with an error that says what to remove. Checked list and fixes: docs/sb3_compat.md.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
    ProgressBarCallback,
    StopTrainingOnNoModelImprovement,
    StopTrainingOnRewardThreshold,
)
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import SimpleMultiObsEnv
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

import sb3_grpo
from sb3_grpo import GRPO

#: A decision costs 1 + G (H + 1) = 7 transitions: learn(100) is two or three updates.
TINY: dict[str, Any] = {"n_steps": 2, "batch_size": 4, "branch_horizon": 2, "branch_interval": 1}


def linear_schedule(initial_value: float) -> Callable[[float], float]:
    """SB3's "learning rate schedule" example."""

    def func(progress_remaining: float) -> float:
        return progress_remaining * initial_value

    return func


def actor_weights(model: GRPO) -> list[th.Tensor]:
    return [p.detach().clone() for name, p in model.policy.named_parameters() if "value" not in name]


# --- save, load, parameters -------------------------------------------------------------------------


def test_save_load_predict_and_continue(tmp_path: Path) -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", seed=0, **TINY)
    model.learn(100)
    obs = np.linspace(-0.1, 0.1, 4 * 5, dtype=np.float32).reshape(5, 4)
    expected, _ = model.predict(obs, deterministic=True)
    model.save(tmp_path / "grpo_cartpole")
    steps = model.num_timesteps
    del model

    loaded = GRPO.load(tmp_path / "grpo_cartpole")
    assert loaded.get_env() is None
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], expected)
    buffer = io.BytesIO()
    loaded.save(buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(
        GRPO.load(buffer, device="cpu").predict(obs, deterministic=True)[0], expected
    )

    # PPO.load(path, env) with another number of envs, then learn on: the counter continues
    continued = GRPO.load(tmp_path / "grpo_cartpole.zip", env=make_vec_env("CartPole-v1", n_envs=2))
    continued.learn(50, reset_num_timesteps=False)
    assert continued.num_timesteps >= steps + 50
    continued.learn(50)  # reset_num_timesteps=True starts the count again
    assert 50 <= continued.num_timesteps < steps + 50


def test_get_set_parameters_and_policy_state_dict(tmp_path: Path) -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", ent_coef=0.01, **TINY)  # the entropy term moves every update
    params = copy.deepcopy(model.get_parameters())  # state dicts share the live tensors
    assert set(params) == {"policy", "policy.optimizer"}
    before = actor_weights(model)
    model.learn(100)
    assert any(not th.equal(a, b) for a, b in zip(before, actor_weights(model), strict=True))
    model.set_parameters(params)
    assert all(th.equal(a, b) for a, b in zip(before, actor_weights(model), strict=True))

    # model.policy.state_dict() / load_state_dict, and the policy saved on its own (SB3's export guide)
    state = {key: value.clone() for key, value in model.policy.state_dict().items()}
    other = GRPO("MlpPolicy", "CartPole-v1", seed=1, **TINY)
    other.policy.load_state_dict(state)
    obs = np.full((3, 4), 0.05, dtype=np.float32)
    np.testing.assert_array_equal(
        other.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
    )
    model.policy.save(tmp_path / "policy.pth")
    policy = type(model.policy).load(tmp_path / "policy.pth")
    np.testing.assert_array_equal(
        policy.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
    )


def test_load_with_the_zoos_custom_objects(tmp_path: Path) -> None:
    """rl-zoo's enjoy loads models saved by another Python with these ``custom_objects``."""
    model = GRPO("MlpPolicy", "CartPole-v1", **TINY)
    model.save(tmp_path / "m")
    custom_objects = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0}
    loaded = GRPO.load(tmp_path / "m", custom_objects=custom_objects)
    assert loaded.learning_rate == 0.0
    action, _ = loaded.predict(np.zeros(4, dtype=np.float32), deterministic=True)
    assert action in (0, 1)


# --- logging ------------------------------------------------------------------------------------------


def test_tensorboard_runs_and_continuation(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    model = GRPO("MlpPolicy", "CartPole-v1", tensorboard_log=str(tmp_path), **TINY)
    model.learn(60, tb_log_name="first_run")
    model.learn(60, tb_log_name="second_run", reset_num_timesteps=False)
    model.learn(60, tb_log_name="first_run")
    runs = sorted(path.name for path in tmp_path.iterdir())
    assert runs == ["first_run_1", "first_run_2", "second_run_0"]
    for run in runs:
        assert list((tmp_path / run).glob("events.out.tfevents.*"))


def test_configure_logger_and_custom_records(tmp_path: Path) -> None:
    class RecordCallback(BaseCallback):
        """SB3's tensorboard guide: a custom value recorded from a callback."""

        def _on_step(self) -> bool:
            self.logger.record("custom/random_value", 0.5)
            return True

    model = GRPO("MlpPolicy", "CartPole-v1", **TINY)
    new_logger = configure(str(tmp_path), ["csv", "json"])
    model.set_logger(new_logger)
    assert model.logger is new_logger
    model.learn(60, callback=RecordCallback())
    new_logger.close()
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    for key in ("time/total_timesteps", "train/approx_kl", "train/clip_fraction", "train/learning_rate"):
        assert key in header
    assert "custom/random_value" in header


def test_callback_locals_as_in_sb3s_examples() -> None:
    seen: dict[str, Any] = {}

    class Locals(BaseCallback):
        def _on_training_start(self) -> None:
            seen["gamma"] = self.model.gamma
            seen["lr"] = self.model.learning_rate

        def _on_step(self) -> bool:
            for key in ("rewards", "infos", "dones", "new_obs", "actions"):
                seen.setdefault(key, self.locals[key])
            seen["n_calls"] = self.n_calls
            return True

        def _on_rollout_end(self) -> None:
            seen["rollout_buffer"] = self.locals["rollout_buffer"]

    model = GRPO("MlpPolicy", "CartPole-v1", **TINY)
    model.learn(60, callback=Locals())
    assert len(seen["rewards"]) == len(seen["dones"]) == len(seen["infos"]) == 1
    assert seen["new_obs"].shape == (1, 4) and seen["n_calls"] > 0
    assert seen["rollout_buffer"] is model.rollout_buffer and seen["gamma"] == model.gamma


# --- callbacks ----------------------------------------------------------------------------------------


def test_users_progress_bar_callback_reaches_the_budget() -> None:
    pytest.importorskip("tqdm")
    pytest.importorskip("rich")
    bar = ProgressBarCallback()
    model = GRPO("MlpPolicy", "CartPole-v1", **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm.rich is experimental
        model.learn(150, callback=CallbackList([bar]))
    # SB3's bar advances by n_envs per call: GRPO makes it advance by the transitions made
    assert bar.pbar.n == model.num_timesteps >= 150


@pytest.mark.parametrize("stopper", ["reward_threshold", "no_improvement"])
def test_eval_callback_stops_training(stopper: str, tmp_path: Path) -> None:
    eval_env = make_vec_env("CartPole-v1", seed=0)
    if stopper == "reward_threshold":
        # any return beats it: training stops after the first evaluation
        kwargs: dict[str, Any] = {
            "callback_on_new_best": StopTrainingOnRewardThreshold(reward_threshold=-1.0)
        }
    else:
        kwargs = {"callback_after_eval": StopTrainingOnNoModelImprovement(max_no_improvement_evals=0)}
    eval_callback = sb3_grpo.EvalCallback(
        eval_env,
        eval_freq=20,
        n_eval_episodes=1,
        log_path=str(tmp_path),
        best_model_save_path=str(tmp_path),
        **kwargs,
    )
    model = GRPO("MlpPolicy", "CartPole-v1", seed=0, **TINY)
    model.learn(100_000, callback=eval_callback)
    assert model.num_timesteps < 1_000
    # the threshold stops at the first evaluation, no improvement at the first that does not improve
    n_evaluations = len(eval_callback.evaluations_timesteps)
    assert n_evaluations == 1 if stopper == "reward_threshold" else n_evaluations >= 2
    assert (tmp_path / "evaluations.npz").is_file() and (tmp_path / "best_model.zip").is_file()


# --- envs ---------------------------------------------------------------------------------------------


def test_vec_normalize_save_load_round_trip(tmp_path: Path) -> None:
    env = VecNormalize(
        make_vec_env("Pendulum-v1", n_envs=2, seed=0), norm_obs=True, norm_reward=True, clip_obs=10.0
    )
    model = GRPO("MlpPolicy", env, seed=0, **TINY)
    model.learn(200)
    assert model.get_vec_normalize_env() is env
    model.save(tmp_path / "grpo_pendulum")
    env.save(str(tmp_path / "vec_normalize.pkl"))

    eval_env = VecNormalize.load(str(tmp_path / "vec_normalize.pkl"), make_vec_env("Pendulum-v1", seed=1))
    eval_env.training = False
    eval_env.norm_reward = False
    loaded = GRPO.load(tmp_path / "grpo_pendulum", env=eval_env)
    assert loaded.get_vec_normalize_env() is eval_env
    np.testing.assert_allclose(eval_env.obs_rms.mean, env.obs_rms.mean)
    raw = np.array([[1.0, 0.0, 0.5]], dtype=np.float32)
    np.testing.assert_array_equal(
        loaded.predict(eval_env.normalize_obs(raw), deterministic=True)[0],
        model.predict(env.normalize_obs(raw), deterministic=True)[0],
    )
    mean_reward, _ = evaluate_policy(loaded, eval_env, n_eval_episodes=1)
    assert mean_reward < 0  # Pendulum's rewards, not normalized ones
    loaded.learn(60, reset_num_timesteps=False)


@pytest.mark.parametrize("render_mode", ["rgb_array", "human"])
def test_sb3_readme_example_on_a_rendering_env(render_mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SB3's first example trains on ``gym.make("CartPole-v1", render_mode="human")``: the branch copies
    must neither fail to copy the env's window nor render (only the agent's env is shown)."""
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")  # no display needed
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    env = gym.make("CartPole-v1", render_mode=render_mode)
    env.reset(seed=0)
    env.render()  # the env now holds a pygame surface, which copy.deepcopy refuses
    rendered_by: list[object] = []
    render = CartPoleEnv.render

    def counting_render(self: CartPoleEnv) -> Any:
        rendered_by.append(self)
        return render(self)

    monkeypatch.setattr(CartPoleEnv, "render", counting_render)
    model = GRPO("MlpPolicy", env, **TINY)
    model.learn(total_timesteps=100)
    vec_env = model.get_env()
    assert vec_env is not None
    obs = vec_env.reset()
    for _ in range(3):
        action, _states = model.predict(obs, deterministic=True)
        obs, _reward, _done, _info = vec_env.step(action)
        vec_env.render()
    assert rendered_by and all(renderer is env.unwrapped for renderer in rendered_by)
    if render_mode == "human":  # the agent's steps render (as for PPO), its branches do not
        assert len(rendered_by) < model.num_timesteps / 2


class _Emulator:
    """Refuses copy.deepcopy, as ale-py's ALEInterface does; its env pickles it through the env's own state."""

    def __init__(self, position: int = 0) -> None:
        self.position = position

    def __deepcopy__(self, memo: dict[int, Any]) -> _Emulator:
        raise TypeError("cannot deep-copy the emulator")


class _EmulatedEnv(gym.Env):
    """An env that copies itself through __getstate__/__setstate__ (ale-py's AtariEnv does)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.emulator = _Emulator()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["emulator"] = self.emulator.position
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.emulator = _Emulator(state["emulator"])

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.emulator.position = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.emulator.position += int(action)
        return np.array([self.emulator.position], dtype=np.float32), 0.0, False, False, {}

    def get_state(self) -> int:
        return self.emulator.position

    def set_state(self, state: int) -> None:
        self.emulator.position = state


def test_branch_copy_of_a_rendering_env_is_made_as_its_class_copies_itself() -> None:
    # SB3's make_vec_env gives every env render_mode="rgb_array": its copies must keep what the class's own
    # copy keeps (the emulator of an Atari env), only without rendering
    from sb3_grpo.cloning.chain import make_branch_copy

    env = _EmulatedEnv(render_mode="rgb_array")
    env.reset(seed=0)
    env.step(1)
    branch = make_branch_copy(env)
    assert isinstance(branch, _EmulatedEnv)
    assert branch.render_mode is None and env.render_mode == "rgb_array"
    assert branch.emulator is not env.emulator and branch.emulator.position == 1


def test_subproc_make_vec_env_with_env_kwargs() -> None:
    env = make_vec_env("Pendulum-v1", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv, env_kwargs={"g": 3.0})
    try:
        assert env.get_attr("g") == [3.0, 3.0]
        model = GRPO("MlpPolicy", env, **TINY)
        model.learn(60)
        assert model.num_timesteps >= 60
    finally:
        env.close()


def test_multi_input_policy_on_a_dict_env() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the env is cloned by deep copy (no get_state)
        model = GRPO("MultiInputPolicy", DummyVecEnv([lambda: SimpleMultiObsEnv(random_start=False)]), **TINY)
        model.learn(60)
    obs, _ = SimpleMultiObsEnv(random_start=False).reset()
    action, _ = model.predict(obs, deterministic=True)
    assert model.action_space.contains(action)


def test_predict_with_state_episode_start_and_evaluate_policy() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", **TINY)
    vec_env = model.get_env()
    assert vec_env is not None
    obs = vec_env.reset()
    state = None
    episode_starts = np.ones((vec_env.num_envs,), dtype=bool)
    for _ in range(3):
        action, state = model.predict(obs, state=state, episode_start=episode_starts, deterministic=True)
        obs, _, episode_starts, _ = vec_env.step(action)
    assert state is None
    mean_reward, std_reward = evaluate_policy(model, vec_env, n_eval_episodes=2)
    assert mean_reward >= 8 and std_reward >= 0
    rewards, lengths = evaluate_policy(
        model, gym.make("CartPole-v1"), n_eval_episodes=2, return_episode_rewards=True, warn=False
    )
    assert len(rewards) == len(lengths) == 2


def test_set_random_seed_reproduces_a_run() -> None:
    def run() -> list[th.Tensor]:
        set_random_seed(0)
        model = GRPO("MlpPolicy", "CartPole-v1", seed=3, **TINY)
        model.learn(100)
        return actor_weights(model)

    for a, b in zip(run(), run(), strict=True):
        assert th.equal(a, b)


# --- hyperparameters and policies --------------------------------------------------------------------


def test_callable_schedules_for_learning_rate_and_clip_range(tmp_path: Path) -> None:
    model = GRPO(
        "MlpPolicy",
        "CartPole-v1",
        learning_rate=linear_schedule(1e-3),
        clip_range=linear_schedule(0.2),
        **TINY,
    )
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(200)
    assert model.policy.optimizer.param_groups[0]["lr"] < 1e-3
    model.logger.close()
    rows = (tmp_path / "progress.csv").read_text().splitlines()
    header = rows[0].split(",")
    column = header.index("train/clip_range")
    clip_ranges = [float(row.split(",")[column]) for row in rows[1:] if row.split(",")[column]]
    assert clip_ranges[0] > clip_ranges[-1] > 0
    model.save(tmp_path / "scheduled")
    assert GRPO.load(tmp_path / "scheduled").lr_schedule(0.5) == pytest.approx(5e-4)


def test_custom_features_extractor_and_net_arch_dict() -> None:
    class Extractor(BaseFeaturesExtractor):
        def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 16) -> None:
            super().__init__(observation_space, features_dim)
            self.net = th.nn.Sequential(th.nn.Linear(observation_space.shape[0], features_dim), th.nn.ReLU())

        def forward(self, observations: th.Tensor) -> th.Tensor:
            return self.net(observations)

    policy_kwargs = {
        "features_extractor_class": Extractor,
        "features_extractor_kwargs": {"features_dim": 8},
        "activation_fn": th.nn.ReLU,
        "net_arch": {"pi": [16, 16]},
    }
    model = GRPO("MlpPolicy", "CartPole-v1", policy_kwargs=policy_kwargs, **TINY)
    assert isinstance(model.policy.features_extractor, Extractor)
    assert [m.out_features for m in model.policy.mlp_extractor.policy_net if isinstance(m, th.nn.Linear)] == [
        16,
        16,
    ]
    model.learn(60)


class CustomNetwork(th.nn.Module):
    """SB3's custom-policy example: separate actor and critic networks over the features."""

    def __init__(self, feature_dim: int, last_layer_dim_pi: int = 16, last_layer_dim_vf: int = 16) -> None:
        super().__init__()
        self.latent_dim_pi = last_layer_dim_pi
        self.latent_dim_vf = last_layer_dim_vf
        self.policy_net = th.nn.Sequential(th.nn.Linear(feature_dim, last_layer_dim_pi), th.nn.ReLU())
        self.value_net = th.nn.Sequential(th.nn.Linear(feature_dim, last_layer_dim_vf), th.nn.ReLU())

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        return self.policy_net(features)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        return self.value_net(features)


class CustomActorCriticPolicy(ActorCriticPolicy):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ortho_init"] = False
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = CustomNetwork(self.features_dim)


class CustomGRPOPolicy(sb3_grpo.grpo.policies.GRPOPolicy):
    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = CustomNetwork(self.features_dim)


@pytest.mark.parametrize("policy", ["sb3 MlpPolicy", CustomActorCriticPolicy])
def test_sb3_actor_critic_policies_train_their_actor(policy: Any) -> None:
    """SB3's ``ppo.MlpPolicy`` and the custom-policy guide's ``ActorCriticPolicy`` subclass, as for PPO."""
    if policy == "sb3 MlpPolicy":
        from stable_baselines3.ppo import MlpPolicy as policy
    with pytest.warns(UserWarning, match="never uses or trains its value network"):
        model = GRPO(policy, "CartPole-v1", ent_coef=0.01, **TINY)
    critic = [p.detach().clone() for name, p in model.policy.named_parameters() if "value" in name]
    before = actor_weights(model)
    model.learn(100)
    assert any(not th.equal(a, b) for a, b in zip(before, actor_weights(model), strict=True))
    after = [p for name, p in model.policy.named_parameters() if "value" in name]
    assert critic and all(th.equal(a, b) for a, b in zip(critic, after, strict=True))


def test_grpo_policy_subclass_with_the_guides_network_trains_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GRPO(CustomGRPOPolicy, "CartPole-v1", **TINY)
    model.learn(60)


def test_a_policy_without_an_action_distribution_is_refused() -> None:
    from stable_baselines3.dqn import MlpPolicy as DQNPolicy

    with pytest.raises(TypeError, match="GRPO needs an on-policy actor policy"):
        GRPO(DQNPolicy, "CartPole-v1", **TINY)


def test_traced_actor_exports_like_sb3s_export_guide(tmp_path: Path) -> None:
    """SB3's export guide: trace ``policy(obs, deterministic=True)``; GRPO's returns (actions, log_prob)."""

    class OnnxableSB3Policy(th.nn.Module):
        def __init__(self, policy: th.nn.Module) -> None:
            super().__init__()
            self.policy = policy

        def forward(self, observation: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
            return self.policy(observation, deterministic=True)

    model = GRPO("MlpPolicy", "Pendulum-v1", device="cpu", **TINY)  # the guide exports from the CPU
    model.learn(60)
    observation = np.array([[0.5, -0.2, 0.1], [1.0, 0.0, -1.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notices
        traced = th.jit.trace(OnnxableSB3Policy(model.policy).eval(), th.as_tensor(observation))
        th.jit.save(traced, str(tmp_path / "traced.pt"))
        with th.no_grad():
            actions, log_prob = th.jit.load(str(tmp_path / "traced.pt"))(th.as_tensor(observation))
    expected, _ = model.predict(observation, deterministic=True)
    low, high = model.action_space.low, model.action_space.high  # predict clips, the traced graph does not
    np.testing.assert_allclose(np.clip(actions.numpy(), low, high), expected, rtol=1e-6)
    assert log_prob.shape == (2,)


def test_a_ppo_model_is_refused_by_load_and_its_weights_start_grpo(tmp_path: Path) -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.ppo import MlpPolicy

    ppo = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16)
    ppo.save(tmp_path / "ppo_cartpole")
    with pytest.raises(ValueError, match=r"saved by another algorithm.*set_parameters"):
        GRPO.load(tmp_path / "ppo_cartpole")
    with pytest.warns(UserWarning, match="never uses or trains its value network"):
        model = GRPO(MlpPolicy, "CartPole-v1", **TINY)
    model.set_parameters(str(tmp_path / "ppo_cartpole"))
    obs = np.full((3, 4), 0.05, dtype=np.float32)
    np.testing.assert_array_equal(
        model.predict(obs, deterministic=True)[0], ppo.predict(obs, deterministic=True)[0]
    )
    model.learn(60)


# --- PPO's arguments that GRPO does not have ----------------------------------------------------------

PPO_ONLY = [
    ("gae_lambda", 0.95, "no critic"),
    ("vf_coef", 0.5, "no critic"),
    ("clip_range_vf", 0.2, "no critic"),
    ("rollout_buffer_class", object, "GroupRolloutBuffer"),
    ("rollout_buffer_kwargs", {}, "GroupRolloutBuffer"),
]


@pytest.mark.parametrize(("name", "value", "why"), PPO_ONLY)
def test_ppo_only_arguments_are_refused_naming_the_fix(
    name: str, value: Any, why: str, tmp_path: Path
) -> None:
    with pytest.raises(TypeError, match=rf"GRPO\(\.\.\.\) got PPO's {name}, .*{why}.*Remove it") as error:
        GRPO("MlpPolicy", "CartPole-v1", **{name: value})
    assert f"delete the key {name}" in str(error.value)
    GRPO("MlpPolicy", "CartPole-v1", n_steps=8, **{name: None}).save(
        tmp_path / "m"
    )  # None: PPO's "not given"
    with pytest.raises(TypeError, match=rf"GRPO\.load\(\.\.\.\) got PPO's {name}"):
        GRPO.load(tmp_path / "m", **{name: value})
    GRPO.load(tmp_path / "m", **{name: None})


def test_several_ppo_only_arguments_are_named_together() -> None:
    with pytest.raises(
        TypeError, match=r"got PPO's gae_lambda, vf_coef, .*Remove them.*delete the keys gae_lambda, vf_coef"
    ):
        GRPO("MlpPolicy", "CartPole-v1", gae_lambda=0.95, vf_coef=0.5)


def test_zoo_entry_copied_from_ppo_names_the_keys_to_delete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("rl_zoo3")
    from sb3_grpo.zoo.__main__ import main

    config = tmp_path / "ppo.yml"
    config.write_text(
        "CartPole-v1:\n  n_timesteps: 1000\n  policy: 'MlpPolicy'\n  gae_lambda: 0.8\n  vf_coef: 0.5\n  n_steps: 4\n"
    )
    args = [
        "train",
        "--algo",
        "grpo",
        "--env",
        "CartPole-v1",
        "-conf",
        str(config),
        "-f",
        str(tmp_path / "logs"),
    ]
    assert main(args) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "delete the keys gae_lambda, vf_coef" in message and "no critic" in message
    # a -params override copied from PPO too
    config.write_text("CartPole-v1:\n  n_timesteps: 1000\n  policy: 'MlpPolicy'\n  n_steps: 4\n")
    assert main([*args, "-params", "clip_range_vf:0.2"]) == 2
    assert "delete the key clip_range_vf" in capsys.readouterr().err
