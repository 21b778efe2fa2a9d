"""Group sampling of the GRPO algorithm: scores by hand, accounting, statistics, bad input."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_grpo import GRPO
from sb3_grpo.cloning import CloningError, get_state
from sb3_grpo.core.advantages import group_advantages
from sb3_grpo.grpo.branching import BranchPool, VecTransforms


class LineEnv(gym.Env):
    """Walk on a line: action 0 stays, 1 moves right; reward = position after the step; never ends."""

    observation_space = spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, nan_at: int | None = None) -> None:
        self.position = 0
        self.t = 0
        self.nan_at = nan_at

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position, self.t = 0, 0
        return np.array([self.position], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position += int(action)
        self.t += 1
        reward = float("nan") if self.t == self.nan_at else float(self.position)
        return np.array([self.position], dtype=np.float32), reward, False, False, {}

    def get_state(self) -> tuple[int, int]:
        return self.position, self.t

    def set_state(self, state: tuple[int, int]) -> None:
        self.position, self.t = state


def test_branch_scores_match_hand_computation() -> None:
    venv = DummyVecEnv([LineEnv])
    pool = BranchPool([[LineEnv(), LineEnv(), LineEnv()]], VecTransforms(venv))
    always_right = lambda obs, groups: np.ones(len(obs), dtype=np.int64)  # noqa: E731
    gamma = 0.5
    # From position 2: member 0 stays (r0=2), member 1 and 2 move (r0=3); then two steps right.
    source = LineEnv()
    source.position = 2
    state = get_state(source)
    scores, n_transitions = pool.score_actions(
        [state], np.array([0, 1, 1]), always_right, horizon=2, gamma=gamma
    )
    expected_stay = 2 + gamma * 3 + gamma**2 * 4
    expected_move = 3 + gamma * 4 + gamma**2 * 5
    np.testing.assert_allclose(scores, [[expected_stay, expected_move, expected_move]])
    assert n_transitions == 3 * 3


@pytest.mark.parametrize("n_envs", [1, 2])
@pytest.mark.parametrize(
    "branch_samples, branch_noise, samples_per_member",
    # independent noise: every branch runs its H+1 steps (with common noise, members that reach the same
    # state stop early: tests/test_coinciding_branches.py); "all": every one of the H+1 branch steps
    [("first", "independent", 1), ("all", "independent", 1 + 2)],
)
def test_num_timesteps_counts_every_transition(
    n_envs: int, branch_samples: str, branch_noise: str, samples_per_member: int
) -> None:
    group_size, horizon, n_steps = 3, 2, 4
    env = make_vec_env(LineEnv, n_envs=n_envs)
    model = GRPO(
        "MlpPolicy",
        env,
        n_steps=n_steps,
        batch_size=8,
        group_size=group_size,
        branch_horizon=horizon,
        branch_interval=1,
        branch_noise=branch_noise,  # type: ignore[arg-type]
        branch_samples=branch_samples,  # type: ignore[arg-type]
        skip_identical_groups=False,
        seed=0,
    )
    model.learn(1)  # one rollout
    per_decision = 1 + group_size * (1 + horizon)  # main step + G branches of H+1 steps
    assert model.num_timesteps == n_steps * n_envs * per_decision
    assert model._n_decisions == n_steps * n_envs
    assert model.rollout_buffer.advantages is not None
    assert len(model.rollout_buffer.advantages) == n_steps * n_envs * group_size * samples_per_member


def test_monitor_sees_only_the_agents_trajectory() -> None:
    env = make_vec_env("CartPole-v1", n_envs=1, seed=0)
    model = GRPO(
        "MlpPolicy", env, n_steps=16, batch_size=32, group_size=4, branch_horizon=4, branch_interval=8, seed=0
    )
    model.learn(3000)
    monitor = env.envs[0]
    assert isinstance(monitor, Monitor)
    # Every decision is one step of the real env: episode lengths + the running episode == decisions.
    current = len(monitor.rewards)
    assert sum(monitor.get_episode_lengths()) + current == model._n_decisions
    assert model.num_timesteps > model._n_decisions  # branch steps were made, and not recorded


def test_vec_normalize_statistics_only_from_real_steps() -> None:
    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=2, seed=0))
    model = GRPO("MlpPolicy", env, n_steps=8, batch_size=32, group_size=4, branch_horizon=3, seed=0)
    model.learn(1)
    # RunningMeanStd starts at count 1e-4 and adds n_envs per reset and per real step.
    assert env.obs_rms.count == pytest.approx(1e-4 + 2 * (1 + model._n_decisions // 2))
    assert env.ret_rms.count == pytest.approx(1e-4 + model._n_decisions)


class ConstantRewardEnv(gym.Env):
    """Observation = step count; reward 1 every step; ends (truncated) after 3 steps."""

    observation_space = spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.t], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([self.t], dtype=np.float32), 1.0, False, self.t == 3, {}


@pytest.mark.parametrize("training", [True, False])
def test_vec_normalize_statistics_from_episode_groups(training: bool) -> None:
    # Episode mode: the group's episodes are the agent's, so they update VecNormalize as step_wait would.
    gamma, group_size, n_envs = 0.5, 4, 2
    env = VecNormalize(make_vec_env(ConstantRewardEnv, n_envs=n_envs, seed=0), gamma=gamma)
    model = GRPO(
        "MlpPolicy", env, group_mode="episode", n_steps=2, batch_size=16, group_size=group_size, seed=0
    )
    env.training = training
    model.learn(1)  # one rollout: 2 groups of 4 episodes of 3 steps per sub-env
    n_episodes = 2 * n_envs * group_size
    if not training:
        assert env.obs_rms.count == pytest.approx(1e-4) and env.ret_rms.count == pytest.approx(1e-4)
        return
    # observations 0, 1, 2 of every episode (+ the n_envs reset observations of the real env: 0)
    assert env.obs_rms.count == pytest.approx(1e-4 + n_envs + 3 * n_episodes)
    assert env.obs_rms.mean[0] == pytest.approx(3 * n_episodes / (n_envs + 3 * n_episodes), rel=1e-4)
    # running discounted returns 1, 1 + g, 1 + g + g^2 of every episode
    returns = np.array([1, 1 + gamma, 1 + gamma + gamma**2])
    assert env.ret_rms.count == pytest.approx(1e-4 + 3 * n_episodes)
    assert env.ret_rms.mean == pytest.approx(returns.mean(), rel=1e-4)
    assert env.ret_rms.var == pytest.approx(returns.var(), rel=1e-3)


class NoisyLineEnv(LineEnv):
    """LineEnv with Gaussian reward noise from the env's own RNG (restored with the state)."""

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward + float(self.np_random.normal()), terminated, truncated, info

    def get_state(self) -> tuple[int, int, dict]:  # type: ignore[override]
        return self.position, self.t, self.np_random.bit_generator.state

    def set_state(self, state: tuple[int, int, dict]) -> None:  # type: ignore[override]
        self.position, self.t, rng_state = state
        self.np_random.bit_generator.state = rng_state


def test_agent_step_is_member_zero_first_step() -> None:
    # Common random numbers: the real env's reward equals member 0's branch reward (H=0), noise included.
    from stable_baselines3.common.callbacks import BaseCallback

    class RecordRewards(BaseCallback):
        def _on_step(self) -> bool:
            self.rewards.append(self.locals["rewards"].copy())
            self.scores.append(self.locals["scores"].copy())
            return True

    recorder = RecordRewards()
    recorder.rewards, recorder.scores = [], []
    env = make_vec_env(NoisyLineEnv, n_envs=2, seed=5)
    model = GRPO(
        "MlpPolicy",
        env,
        n_steps=16,
        batch_size=32,
        group_size=4,
        branch_horizon=0,
        branch_interval=1,
        skip_identical_groups=False,
        seed=0,
    )
    model.learn(1, callback=recorder)
    real = np.stack(recorder.rewards)  # (n_steps, n_envs)
    member0 = np.stack(recorder.scores)[:, :, 0]
    np.testing.assert_allclose(real, member0, rtol=1e-6)
    assert np.std(real) > 0.1  # the noise is really there


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(group_size=1), "group_size"),
        (dict(group_size=2.5), "group_size"),
        (dict(branch_horizon=-1), "branch_horizon"),
        (dict(group_mode="tree"), "group_mode"),
        (dict(supervision="dense"), "supervision"),
        (dict(advantage_scaling="max"), "advantage_scaling"),
        (dict(baseline="median"), "baseline"),
        (dict(kl_estimator="k4"), "kl_estimator"),
        (dict(batch_size=1), "batch_size"),
        (dict(clip_range=0.0), "clip_range"),
        (dict(kl_coef=-1.0), "kl_coef"),
        (dict(ref_update_interval=0), "ref_update_interval"),
        (dict(gamma=1.5), "gamma"),
        (dict(n_epochs=0), "n_epochs"),
    ],
)
def test_bad_hyperparameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GRPO("MlpPolicy", "CartPole-v1", **kwargs)


def test_batch_size_larger_than_rollout_warns_and_trains_on_the_whole_rollout() -> None:
    with pytest.warns(UserWarning, match="larger than a rollout"):
        model = GRPO("MlpPolicy", "CartPole-v1", n_steps=2, group_size=2, batch_size=64, n_epochs=3)
    model.learn(1)
    assert model._n_updates == 3  # one minibatch of the 4 samples per epoch


def test_batch_size_not_dividing_warns() -> None:
    with pytest.warns(UserWarning, match="does not divide"):
        GRPO("MlpPolicy", "CartPole-v1", n_steps=8, group_size=4, batch_size=24)


@pytest.mark.parametrize("group_mode", ["state", "episode"])
def test_groups_that_never_differ_warn_once(group_mode: str) -> None:
    # MountainCar's reward is -1 a step until the flag, which random members never reach: every group ties.
    env = make_vec_env("MountainCar-v0", n_envs=2, seed=0, env_kwargs={"max_episode_steps": 20})
    model = GRPO("MlpPolicy", env, group_mode=group_mode, branch_horizon=8, n_steps=2, batch_size=4, seed=0)
    initial = [p.detach().clone() for p in model.policy.parameters()]
    with pytest.warns(UserWarning, match="no GRPO group has had members with different scores") as record:
        model.learn(6000)
    messages = [str(w.message) for w in record if "different scores" in str(w.message)]
    assert len(messages) == 1
    # the remedy first named: episode groups for state groups, process supervision for outcome episodes
    assert ("group_mode='episode'" if group_mode == "state" else "supervision='process'") in messages[0]
    assert model._flat_groups >= 100
    # what the warning says: zero advantages, zero gradients, the policy as it was built
    assert all(th.equal(a, b) for a, b in zip(initial, model.policy.parameters(), strict=True))


def test_groups_that_differ_do_not_warn_of_no_signal() -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", branch_horizon=8, n_steps=2, batch_size=4, seed=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*no GRPO group has had members")
        model.learn(1000)
    assert model._signal_check_done  # ended by a group that differed (the warning would have raised)


def test_nan_reward_names_step_and_env() -> None:
    env = DummyVecEnv([LineEnv, lambda: LineEnv(nan_at=3)])
    model = GRPO(
        "MlpPolicy", env, n_steps=8, batch_size=8, group_size=2, branch_horizon=0, branch_interval=1, seed=0
    )
    with pytest.raises(ValueError, match=r"non-finite reward .* sub-env index 1 .* from step 2 of the agent"):
        model.learn(200)


def test_nan_reward_on_the_agents_own_step_names_step_and_env() -> None:
    # branch_interval=4: the first decisions are plain steps of the agent, before any group
    env = DummyVecEnv([LineEnv, lambda: LineEnv(nan_at=2)])
    model = GRPO("MlpPolicy", env, n_steps=8, batch_size=8, group_size=2, branch_interval=4, seed=0)
    with pytest.raises(
        ValueError, match=r"non-finite reward \(nan\) at sub-env index 1 during step 1 of the agent"
    ):
        model.learn(200)


class LockedEnv(LineEnv):
    """Holds a lock: neither deep-copyable nor natively cloneable."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    get_state = None  # type: ignore[assignment]
    set_state = None  # type: ignore[assignment]


def test_uncloneable_env_is_refused_in_state_mode() -> None:
    model = GRPO("MlpPolicy", DummyVecEnv([LockedEnv]), n_steps=4, batch_size=8, group_size=2)
    with pytest.raises(CloningError, match="get_state"):
        model.learn(100)


def test_load_onto_env_with_other_spaces(tmp_path) -> None:
    model = GRPO("MlpPolicy", "CartPole-v1", n_steps=4, batch_size=8, group_size=2)
    model.save(tmp_path / "cartpole.zip")
    with pytest.raises(ValueError, match="spaces do not match"):
        GRPO.load(tmp_path / "cartpole.zip", env=make_vec_env("Pendulum-v1"))


@pytest.mark.parametrize("group_mode", ["state", "episode"])
def test_vec_frame_stack_trains(group_mode: str) -> None:
    from stable_baselines3.common.vec_env import VecFrameStack

    env = VecFrameStack(make_vec_env("CartPole-v1", n_envs=2, seed=0), n_stack=3)
    model = GRPO("MlpPolicy", env, n_steps=4, batch_size=8, group_size=2, group_mode=group_mode)
    model.learn(300)
    assert model.num_timesteps >= 300


@pytest.mark.parametrize("channels_order", ["last", "first"])
def test_branch_frame_histories_follow_the_real_ones(channels_order: str) -> None:
    # member 0 of each group steps as the real sub-env: its stacked observations must be the real ones
    from stable_baselines3.common.vec_env import VecFrameStack

    from sb3_grpo.cloning import VecEnvCloner, set_state
    from sb3_grpo.grpo.branching import VecTransforms

    group_size = 2
    venv = VecFrameStack(
        make_vec_env("CartPole-v1", n_envs=2, seed=0), n_stack=3, channels_order=channels_order
    )
    venv.reset()
    for _ in range(2):
        venv.step(np.array([0, 1]))
    transforms = VecTransforms(venv)
    cloner = VecEnvCloner(venv)
    copies = [cloner.make_branch_envs(i, group_size) for i in range(2)]
    states = cloner.get_states()
    for i in range(2):
        for branch in copies[i]:
            set_state(branch, states[i])
    transforms.start_groups(group_size)
    rows = np.arange(2 * group_size)
    for actions in ([1, 0], [1, 1], [0, 0]):
        real_obs, _, dones, _ = venv.step(np.array(actions))
        assert not dones.any()
        raw = np.stack(
            [copies[k // group_size][k % group_size].step(actions[k // group_size])[0] for k in rows]
        )
        stacked = transforms.observations(raw, rows)
        np.testing.assert_array_equal(stacked[::group_size], real_obs)
    # episode mode: a reset starts an empty history, as VecFrameStack.reset
    transforms.start_episodes(2 * group_size)
    reset_obs = venv.reset()
    raw = np.repeat(venv.unwrapped.buf_obs[None], group_size, axis=0)  # copy k of sub-env k // G
    np.testing.assert_array_equal(transforms.observations(raw, rows)[::group_size], reset_obs)


class CoinEnv(gym.Env):
    """Three steps; the reward is the action (0 or 1). Deterministic, so episode groups are easy to check."""

    observation_space = spaces.Box(0.0, 3.0, shape=(1,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([self.t], dtype=np.float32), float(action), self.t >= 3, False, {}


@pytest.mark.parametrize("supervision", ["outcome", "process"])
def test_episode_group_scores_by_hand(supervision: str) -> None:
    gamma, group_size = 0.5, 3
    model = GRPO(
        "MlpPolicy",
        DummyVecEnv([CoinEnv]),
        group_mode="episode",
        supervision=supervision,
        group_size=group_size,
        n_steps=1,
        batch_size=9,
        gamma=gamma,
        seed=0,
    )
    model.learn(1)
    buffer = model.rollout_buffer
    scores = np.concatenate(buffer._score_chunks)
    # actions[j, t]: member j's action at step t (samples are stored step by step, members in order)
    actions = np.zeros((group_size, 3))
    for n in range(len(buffer.members)):
        t = int(buffer.observations[buffer.obs_rows[n]][0])
        actions[buffer.members[n], t] = buffer.actions[n, 0]
    if supervision == "outcome":
        np.testing.assert_allclose(scores, [actions.sum(axis=1)])
    else:
        returns_to_go = np.stack([actions[:, t:] @ gamma ** np.arange(3 - t) for t in range(3)])
        np.testing.assert_allclose(scores, returns_to_go)
    # every sample carries the group-relative advantage of its (row, member) cell
    expected = group_advantages(th.as_tensor(scores), scaling="group_std").numpy()
    np.testing.assert_allclose(buffer.advantages, expected[buffer.score_rows, buffer.members], rtol=1e-5)
    assert model.num_timesteps == group_size * 3
    assert len(model.ep_info_buffer) == group_size


def test_episode_mode_needs_no_cloning() -> None:
    # An env that cannot be cloned still trains in episode mode: copies are remade from its spec.
    if "LockedLine-v0" not in gym.registry:
        gym.register("LockedLine-v0", entry_point=LockedEnv, max_episode_steps=5)
    env = make_vec_env("LockedLine-v0", n_envs=1)
    model = GRPO("MlpPolicy", env, group_mode="episode", n_steps=1, batch_size=8, group_size=2, seed=0)
    with pytest.warns(UserWarning, match="gym.make\\('LockedLine-v0'\\)"):
        model.learn(50)
    assert model.num_timesteps >= 50


def test_episode_mode_without_spec_or_cloning_is_refused() -> None:
    model = GRPO(
        "MlpPolicy", DummyVecEnv([LockedEnv]), group_mode="episode", n_steps=1, batch_size=8, group_size=2
    )
    with pytest.raises(CloningError, match="registered spec"):
        model.learn(50)


def test_branch_pool_runs_only_active_groups() -> None:
    venv = DummyVecEnv([LineEnv, LineEnv])
    pool = BranchPool([[LineEnv(), LineEnv()], [LineEnv(), LineEnv()]], VecTransforms(venv))
    always_right = lambda obs, groups: np.ones(len(obs), dtype=np.int64)  # noqa: E731
    states = [get_state(LineEnv()), get_state(LineEnv())]
    scores, n_transitions = pool.score_actions(
        states, np.array([0, 1, 1, 1]), always_right, horizon=1, gamma=1.0, active=np.array([True, False])
    )
    np.testing.assert_allclose(scores, [[0 + 1, 1 + 2], [0, 0]])
    assert n_transitions == 2 * 2  # only sub-env 0's two members, 2 steps each


def test_skip_identical_groups() -> None:
    group_size, horizon = 4, 2
    env = make_vec_env(LineEnv, n_envs=2)
    model = GRPO(
        "MlpPolicy",
        env,
        n_steps=16,
        batch_size=32,
        group_size=group_size,
        branch_horizon=horizon,
        skip_identical_groups=True,
        seed=0,
    )
    model.learn(1)
    buffer = model.rollout_buffer
    actions = buffer.actions.reshape(-1, group_size)
    identical = np.all(actions == actions[:, :1], axis=1)
    assert identical.any() and not identical.all()  # both kinds of groups occurred
    # skipped groups: no branch transitions, advantages exactly 0
    advantages = buffer.advantages.reshape(-1, group_size)
    assert np.all(advantages[identical] == 0)
    expected = model._n_decisions + int((~identical).sum()) * group_size * (1 + horizon)
    assert model.num_timesteps == expected
    # a group with different first actions is still scored (LineEnv: moving right pays)
    assert np.any(advantages[~identical] != 0)
