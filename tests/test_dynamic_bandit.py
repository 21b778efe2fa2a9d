"""Tests of the non-stationary bandit env ``envs/dynamic_bandit.py``."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import sb3_grpo.envs
from gymnasium.utils.env_checker import check_env as gym_check_env
from sb3_grpo.envs.dynamic_bandit import DRIFT_KINDS, NOISE_KINDS, OBS_MODES, DynamicBandit
from stable_baselines3.common.env_checker import check_env as sb3_check_env

ENV_ID = "DynamicBandit-v0"


def _assert_same_info(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _rollout(
    env: DynamicBandit, actions: np.ndarray
) -> list[tuple[np.ndarray, float, bool, bool, dict[str, Any]]]:
    """Step through ``actions``, resetting (without a seed) at episode ends."""
    out = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(int(action))
        out.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            out.append((obs, 0.0, False, False, info))
    return out


def _assert_same_rollout(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    for (obs_a, r_a, te_a, tr_a, info_a), (obs_b, r_b, te_b, tr_b, info_b) in zip(a, b, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert r_a == r_b and te_a == te_b and tr_a == tr_b
        _assert_same_info(info_a, info_b)


#: A 10-armed schedule for the tests parametrised over every drift kind.
SCHEDULE: dict[str, Any] = {
    "schedule_means": [np.linspace(0.1, 0.9, 10).tolist(), np.linspace(0.9, 0.1, 10).tolist()],
    "change_points": [5],
}


def _drift_kwargs(drift: str) -> dict[str, Any]:
    return {"drift": drift, **(SCHEDULE if drift == "schedule" else {})}


@pytest.mark.parametrize("drift", DRIFT_KINDS)
@pytest.mark.parametrize("obs_mode", OBS_MODES)
@pytest.mark.parametrize("reward_noise", NOISE_KINDS)
def test_env_checkers(drift: str, obs_mode: str, reward_noise: str) -> None:
    kwargs: dict[str, Any] = {**_drift_kwargs(drift), "obs_mode": obs_mode, "reward_noise": reward_noise}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        gym_check_env(gym.make(ENV_ID, **kwargs).unwrapped)
        sb3_check_env(DynamicBandit(**kwargs))


@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
def test_env_checkers_with_render(render_mode: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(gym.make(ENV_ID, render_mode=render_mode).unwrapped)
        sb3_check_env(DynamicBandit(render_mode=render_mode))


def test_registration() -> None:
    for env_id, drift in [
        ("DynamicBandit-v0", "abrupt"),
        ("DynamicBanditRandomWalk-v0", "random_walk"),
        ("DynamicBanditSinusoidal-v0", "sinusoidal"),
    ]:
        env = gym.make(env_id)
        assert isinstance(env.unwrapped, DynamicBandit)
        assert env.unwrapped.drift == drift
        # No TimeLimit: the env's own step counter (part of the cloned state) ends episodes.
        assert not isinstance(env, gym.wrappers.TimeLimit)
        assert env.spec is not None and env.spec.max_episode_steps is None
    assert sb3_grpo.envs.DynamicBandit is DynamicBandit


def test_make_with_module_prefix_in_fresh_interpreter() -> None:
    code = (
        "import sys, gymnasium as gym\n"
        "assert 'sb3_grpo.envs' not in sys.modules\n"
        "env = gym.make('sb3_grpo.envs:DynamicBandit-v0', n_arms=4)\n"
        "obs, info = env.reset(seed=0)\n"
        "assert env.action_space.n == 4 and len(info['arm_means']) == 4\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("obs_mode", OBS_MODES)
def test_spaces_and_observations(obs_mode: str) -> None:
    env = DynamicBandit(n_arms=7, obs_mode=obs_mode, context_dim=3, max_steps=20)
    assert env.action_space == gym.spaces.Discrete(7)
    expected_shape = (3,) if obs_mode == "context" else (1,)
    assert env.observation_space.shape == expected_shape
    assert env.observation_space.dtype == np.float32
    obs, info = env.reset(seed=3)
    assert set(info) == {"arm_means", "optimal_arm"}
    assert info["optimal_arm"] == int(np.argmax(info["arm_means"]))
    observations = [obs]
    for _ in range(20):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert not terminated
        observations.append(obs)
    assert truncated  # after max_steps pulls
    stacked = np.stack(observations)
    if obs_mode == "constant":
        np.testing.assert_array_equal(stacked, 1.0)
    elif obs_mode == "time":
        np.testing.assert_allclose(stacked[:, 0], np.arange(21) / 20, rtol=1e-6)
    else:
        assert len(np.unique(stacked[:, 0])) == 21  # a fresh context every step


def test_context_shifts_means() -> None:
    env = DynamicBandit(obs_mode="context", drift="abrupt", change_period=10**6, context_scale=1.0)
    env.reset(seed=0)
    base = env.get_state()["base_means"]
    contexts, means = [], []
    for _ in range(50):
        contexts.append(env.get_state()["context"])
        means.append(env.step(0)[4]["arm_means"])
    shift = np.stack(means) - base  # base means are constant: no change point here
    weights = env.get_state()["weights"]
    expected = np.clip(base + np.stack(contexts) @ weights.T, 0.0, 1.0) - base
    np.testing.assert_allclose(shift, expected)
    assert np.abs(shift).max() > 0.05


def test_seed_determinism() -> None:
    def run(seed: int) -> list[Any]:
        env = DynamicBandit(drift="random_walk", obs_mode="context", max_steps=30)
        env.reset(seed=seed)
        return _rollout(env, np.arange(100) % 10)

    _assert_same_rollout(run(5), run(5))
    assert run(5)[0][1] != run(6)[0][1]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"drift": "random_walk", "obs_mode": "context"},
        {"drift": "sinusoidal", "obs_mode": "time", "reward_noise": "bernoulli"},
        {"change_prob": 0.05, "shared_noise": True},
    ],
)
def test_get_set_state_replays_exactly(seed: int, kwargs: dict[str, Any]) -> None:
    env = DynamicBandit(max_steps=47, **kwargs)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    _rollout(env, rng.integers(10, size=13))
    state = env.get_state()
    actions = rng.integers(10, size=200)
    first = _rollout(env, actions)  # crosses several episode ends
    assert sum(step[3] for step in first) >= 4

    env.set_state(state)  # the same env, restored
    _assert_same_rollout(first, _rollout(env, actions))

    fresh = DynamicBandit(max_steps=47, **kwargs)  # an env never reset, restored from a pickled state
    fresh.set_state(pickle.loads(pickle.dumps(state)))
    _assert_same_rollout(first, _rollout(fresh, actions))


def test_state_is_a_copy() -> None:
    env = DynamicBandit(drift="random_walk")
    env.reset(seed=0)
    state = env.get_state()
    saved = state["base_means"].copy()
    env.step(1)
    np.testing.assert_array_equal(state["base_means"], saved)
    env.set_state(state)
    assert env._base_means is not None
    env._base_means += 1.0  # mutating the env after a restore must not touch the state
    np.testing.assert_array_equal(state["base_means"], saved)


@pytest.mark.parametrize("drift", DRIFT_KINDS)
@pytest.mark.parametrize("obs_mode", OBS_MODES)
@pytest.mark.parametrize("reward_noise", NOISE_KINDS)
def test_common_random_numbers(drift: str, obs_mode: str, reward_noise: str) -> None:
    env = DynamicBandit(
        **_drift_kwargs(drift),
        obs_mode=obs_mode,
        reward_noise=reward_noise,
        change_prob=0.1 if drift == "abrupt" else None,
    )
    env.reset(seed=11)
    state = env.get_state()
    future = np.random.default_rng(0).integers(10, size=30)

    def branch(first_arm: int) -> tuple[float, list[Any]]:
        env.set_state(state)
        _, reward, *_ = env.step(first_arm)
        return reward, _rollout(env, future)

    reward_a, rollout_a = branch(2)
    _, rollout_b = branch(7)
    reward_a2, rollout_a2 = branch(2)
    assert reward_a == reward_a2  # same arm from the same state: same reward
    _assert_same_rollout(rollout_a, rollout_a2)
    # A different first arm leaves the future (means, context, noise) untouched.
    _assert_same_rollout(rollout_a, rollout_b)


def test_shared_noise_difference_is_the_mean_gap() -> None:
    env = DynamicBandit(shared_noise=True, noise_std=0.5)
    _, info = env.reset(seed=4)
    state = env.get_state()
    rewards = []
    for arm in range(10):
        env.set_state(state)
        rewards.append(env.step(arm)[1])
    np.testing.assert_allclose(np.diff(rewards), np.diff(info["arm_means"]), atol=1e-12)

    env = DynamicBandit(shared_noise=False, noise_std=0.5)
    env.reset(seed=4)
    state = env.get_state()
    rewards = []
    for arm in range(10):
        env.set_state(state)
        rewards.append(env.step(arm)[1])
    assert not np.allclose(np.diff(rewards), np.diff(info["arm_means"]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"drift": "abrupt", "change_period": 100},
        {"drift": "abrupt", "change_prob": 0.01},
        {"drift": "random_walk", "drift_std": 0.02},
        {"drift": "sinusoidal", "sin_period": 400.0},
        {"drift": "abrupt", "change_period": 100, "obs_mode": "context"},
    ],
)
def test_drift_changes_the_optimal_arm(kwargs: dict[str, Any]) -> None:
    env = DynamicBandit(max_steps=10**6, mean_range=(0.1, 0.9), **kwargs)
    _, info = env.reset(seed=0)
    means, optimal = [info["arm_means"]], [info["optimal_arm"]]
    for _ in range(1000):
        info = env.step(0)[4]
        means.append(info["arm_means"])
        optimal.append(info["optimal_arm"])
    all_means = np.stack(means)
    assert all_means.min() >= 0.1 and all_means.max() <= 0.9
    assert len(set(optimal)) >= 3
    assert np.count_nonzero(np.diff(optimal)) >= 3
    if kwargs.get("change_period") and "obs_mode" not in kwargs:
        # means[0] is the reset info, means[i] that of pull i - 1: pulls 0..99 share the first means,
        # pull 100 (means[101]) sees the first change.
        changed = np.flatnonzero(np.any(np.diff(all_means, axis=0) != 0, axis=1)) + 1
        np.testing.assert_array_equal(changed, np.arange(101, 1001, 100))
    if kwargs["drift"] == "random_walk":
        steps = np.diff(all_means, axis=0)
        assert 0.017 < steps.std() < 0.022  # reflections only shorten a few steps


def test_without_drift_means_are_constant() -> None:
    env = DynamicBandit(change_period=10**6, max_steps=10**6)
    _, info = env.reset(seed=1)
    for _ in range(300):
        np.testing.assert_array_equal(env.step(3)[4]["arm_means"], info["arm_means"])


@pytest.mark.parametrize("reward_noise", NOISE_KINDS)
def test_regret_and_rewards(reward_noise: str) -> None:
    env = DynamicBandit(n_arms=5, reward_noise=reward_noise, change_prob=0.0, max_steps=10**6)
    env.reset(seed=2)
    rng = np.random.default_rng(0)
    rewards: dict[int, list[float]] = {k: [] for k in range(5)}
    for _ in range(4000):
        arm = int(rng.integers(5))
        _, reward, _, _, info = env.step(arm)
        means = info["arm_means"]
        assert info["optimal_arm"] == int(np.argmax(means))
        assert info["regret"] == pytest.approx(means.max() - means[arm], abs=0)
        assert info["regret"] >= 0
        rewards[arm].append(reward)
        if reward_noise == "bernoulli":
            assert reward in (0.0, 1.0)
    empirical = np.array([np.mean(rewards[k]) for k in range(5)])
    np.testing.assert_allclose(empirical, means, atol=0.06)


def test_regret_uses_the_means_in_force_at_the_pull() -> None:
    env = DynamicBandit(change_period=5)
    _, info = env.reset(seed=0)
    before = info["arm_means"]
    for _ in range(4):
        env.step(0)
    info = env.step(1)[4]  # fifth pull: a change point comes right after it
    np.testing.assert_array_equal(info["arm_means"], before)
    assert info["regret"] == before.max() - before[1]
    assert not np.array_equal(env.arm_means(), before)


def test_render_rgb_array() -> None:
    env = DynamicBandit(n_arms=5, render_mode="rgb_array")
    env.reset(seed=0)
    frame0 = env.render()
    assert isinstance(frame0, np.ndarray) and frame0.dtype == np.uint8 and frame0.shape == (240, 400, 3)
    env.step(2)
    frame1 = env.render()
    assert isinstance(frame1, np.ndarray) and frame1.shape == frame0.shape
    red = np.all(frame1 == (220, 70, 60), axis=-1)
    columns = np.flatnonzero(red.any(axis=0))
    slot = 400 / 5
    assert columns.size and columns.min() >= 2 * slot and columns.max() < 3 * slot  # the pulled arm
    assert not np.any(np.all(frame0 == (220, 70, 60), axis=-1))  # nothing pulled yet
    wide = DynamicBandit(n_arms=200, render_mode="rgb_array")
    wide.reset(seed=0)
    wide.step(199)
    frame = wide.render()
    assert isinstance(frame, np.ndarray) and frame.shape == (240, 1600, 3)


def test_render_ansi_and_none() -> None:
    env = DynamicBandit(n_arms=3, render_mode="ansi")
    env.reset(seed=0)
    assert "means=" in str(env.render())
    _, reward, *_ = env.step(1)
    line = env.render()
    assert isinstance(line, str) and "arm=1" in line and f"reward={reward:+.3f}" in line
    plain = DynamicBandit()
    plain.reset(seed=0)
    assert plain.render() is None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_arms": 1}, "n_arms"),
        ({"n_arms": 2.5}, "n_arms"),
        ({"drift": "linear"}, "drift"),
        ({"reward_noise": "poisson"}, "reward_noise"),
        ({"obs_mode": "pixels"}, "obs_mode"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"drift_std": -1.0}, "drift_std"),
        ({"context_scale": float("inf")}, "context_scale"),
        ({"max_steps": 0}, "max_steps"),
        ({"context_dim": 0}, "context_dim"),
        ({"change_period": 0}, "change_period"),
        ({"change_prob": 1.5}, "change_prob"),
        ({"change_period": 10, "change_prob": 0.1}, "change_prob"),
        ({"sin_period": 0.0}, "sin_period"),
        ({"mean_range": (1.0, 0.0)}, "mean_range"),
        ({"mean_range": "wide"}, "mean_range"),
        ({"reward_noise": "bernoulli", "mean_range": (-0.5, 1.0)}, "mean_range"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        DynamicBandit(**kwargs)


def test_invalid_actions_and_states() -> None:
    env = DynamicBandit(n_arms=4)
    with pytest.raises(RuntimeError, match="reset"):
        env.get_state()
    env.reset(seed=0)
    for action in (4, -1):
        with pytest.raises(ValueError, match="action"):
            env.step(action)
    state = env.get_state()
    with pytest.raises(ValueError, match="n_arms=4"):
        DynamicBandit(n_arms=5).set_state(state)
    with pytest.raises(ValueError, match="drift"):
        DynamicBandit(n_arms=4, drift="random_walk").set_state(state)
    with pytest.raises(ValueError, match="obs_mode"):
        DynamicBandit(n_arms=4, obs_mode="context").set_state(state)
    with pytest.raises(ValueError, match="missing"):
        env.set_state({k: v for k, v in state.items() if k != "rng"})
    with pytest.raises(ValueError, match="base_means"):
        env.set_state({**state, "base_means": np.zeros(3)})
    with pytest.raises(ValueError, match="rng"):
        env.set_state({**state, "rng": {"bit_generator": "MT19937"}})
    with pytest.raises(TypeError, match="dict"):
        env.set_state([1, 2])  # type: ignore[arg-type]
    env.set_state(state)  # a rejected state leaves the env usable
    env.step(3)


def test_video_with_sb3_vec_video_recorder(tmp_path) -> None:
    # The rgb_array frames go through SB3's VecVideoRecorder into an mp4 file.
    pytest.importorskip("moviepy")
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecVideoRecorder

    venv = make_vec_env("DynamicBandit-v0", n_envs=1, seed=0, env_kwargs={"render_mode": "rgb_array"})
    recorder = VecVideoRecorder(
        venv,
        str(tmp_path),
        record_video_trigger=lambda step: step == 0,
        video_length=20,
        name_prefix="bandit",
    )
    recorder.reset()
    for _ in range(25):
        recorder.step(np.array([recorder.action_space.sample()]))
    recorder.close()
    videos = list(tmp_path.glob("bandit*.mp4"))
    assert videos and videos[0].stat().st_size > 1000


def test_schedule_replays_the_given_means_and_flags_the_change_points() -> None:
    env = DynamicBandit(
        drift="schedule",
        schedule_means=[[0.1, 0.9], [0.8, 0.2], [0.5, 0.6]],
        change_points=[3, 5],
        max_steps=7,
    )
    assert env.n_arms == 2  # read from the schedule
    _, info = env.reset(seed=0)
    np.testing.assert_array_equal(info["arm_means"], [0.1, 0.9])
    seen, flags = [], []
    for _ in range(7):
        *_, truncated, info = env.step(0)
        seen.append(info["arm_means"][0])
        flags.append(info["change_point"])
    assert seen == [0.1, 0.1, 0.1, 0.8, 0.8, 0.5, 0.5]
    assert flags == [False, False, True, False, True, False, False]  # the pull before each new segment
    assert truncated
    env.reset()  # every episode replays the schedule
    assert env.step(1)[4]["arm_means"][1] == 0.9


def test_published_problem_is_registered() -> None:
    env = gym.make("DynamicBanditBesson2022-v0")
    _, info = env.reset(seed=0)
    base = env.unwrapped
    assert base.n_arms == 3 and base.max_steps == 5000 and base.reward_noise == "bernoulli"
    np.testing.assert_array_equal(info["arm_means"], [0.3, 0.5, 0.9])
    points = [t for t in range(5000) if env.step(0)[4]["change_point"]]
    assert points == [999, 1999, 2999, 3999]  # pulls 1000, 2000, ... see the new means


def test_abrupt_drift_flags_its_change_points() -> None:
    env = DynamicBandit(change_period=4, max_steps=12)
    env.reset(seed=0)
    assert [env.step(0)[4]["change_point"] for _ in range(9)] == [False, False, False, True] * 2 + [False]
    env = DynamicBandit(drift="random_walk")
    env.reset(seed=0)
    assert not any(env.step(0)[4]["change_point"] for _ in range(20))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"drift": "schedule"}, "schedule_means"),
        ({"schedule_means": [[0.1, 0.2]], "change_points": []}, "drift='schedule'"),
        (
            {"drift": "schedule", "schedule_means": [[0.1, 0.2], [0.3, 0.4]], "change_points": []},
            "change_points",
        ),
        (
            {"drift": "schedule", "schedule_means": [[0.1, 0.2], [0.3, 0.4]], "change_points": [0]},
            "increasing",
        ),
        (
            {"drift": "schedule", "schedule_means": [[0.1, 0.2], [0.3]], "change_points": [5]},
            "schedule_means",
        ),
        (
            {"drift": "schedule", "schedule_means": [[0.1, 0.2], [0.3, 0.4]], "change_points": [1000]},
            "max_steps",
        ),
        ({"drift": "schedule", "schedule_means": [[0.1, 2.0]], "change_points": []}, "mean_range"),
        ({"drift": "schedule", "schedule_means": [[0.1, 0.2]], "change_points": [], "n_arms": 3}, "n_arms"),
    ],
)
def test_invalid_schedules(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(name)):
        DynamicBandit(**kwargs)
