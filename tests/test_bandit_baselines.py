"""Tests of the classic bandit agents ``envs/bandit_baselines.py``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import sb3_grpo.envs  # noqa: F401  (registers the env ids)
from hypothesis import given, settings
from hypothesis import strategies as st
from sb3_grpo.envs.bandit_baselines import (
    BASELINES,
    DETECTORS,
    NON_STATIONARY,
    BanditAgent,
    DiscountedThompsonSampling,
    DiscountedUCB,
    EpsilonGreedy,
    GradientBandit,
    SlidingWindowUCB,
    ThompsonSampling,
    make_baseline,
    run_agent,
)
from sb3_grpo.envs.dynamic_bandit import DynamicBandit

SEEDS = (0, 1, 2)


def _mean_regret(name: str, env_kwargs: dict[str, Any], n_steps: int, **overrides: Any) -> float:
    regrets = []
    for seed in SEEDS:
        env = DynamicBandit(**env_kwargs)
        regrets.append(
            run_agent(make_baseline(name, env, **overrides), env, n_steps, seed)["regret_per_step"]
        )
    return float(np.mean(regrets))


@pytest.mark.parametrize("reward_noise", ["gaussian", "bernoulli"])
def test_every_baseline_beats_uniform_on_a_stationary_bandit(reward_noise: str) -> None:
    stationary = {"change_period": 10**6, "max_steps": 10**6, "reward_noise": reward_noise}
    uniform = _mean_regret("uniform", stationary, 2000)
    assert 0.35 < uniform < 0.45  # E[max of 10 U(0,1)] - 1/2 = 0.41
    for name in BASELINES:
        if name != "uniform":
            regret = _mean_regret(name, stationary, 2000)
            assert regret < 0.4 * uniform, (name, regret, uniform)


# One change point after 1000 stationary pulls: agents that never forget keep pulling the old best arm.
ABRUPT = {"n_arms": 5, "change_period": 1000, "max_steps": 10**6}


# The forgetting agents; the change detectors are tested against kl-UCB in test_change_detection.py.
@pytest.mark.parametrize("name", [n for n in NON_STATIONARY if n not in DETECTORS])
def test_non_stationary_baselines_beat_ucb1_after_abrupt_changes(name: str) -> None:
    ucb1 = _mean_regret("ucb1", ABRUPT, 3000)
    assert _mean_regret(name, ABRUPT, 3000) < 0.6 * ucb1


@pytest.mark.parametrize(
    ("name", "no_forgetting"),
    [("sw_ucb", {"window": 10**9}), ("d_ucb", {"gamma": 1.0}), ("discounted_thompson", {"gamma": 1.0})],
)
def test_forgetting_is_what_helps(name: str, no_forgetting: dict[str, Any]) -> None:
    assert _mean_regret(name, ABRUPT, 3000) < 0.6 * _mean_regret(name, ABRUPT, 3000, **no_forgetting)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_run_agent_output_and_determinism(name: str) -> None:
    env = gym.make("DynamicBandit-v0", n_arms=4, max_steps=40)  # several episode ends in 150 pulls
    agent = make_baseline(name, env)
    assert isinstance(agent, BanditAgent) and agent.n_arms == 4
    result = run_agent(agent, env, 150, seed=3)
    assert result["rewards"].shape == result["arms"].shape == result["regret"].shape == (150,)
    assert result["arms"].min() >= 0 and result["arms"].max() < 4
    assert np.all(result["regret"] >= 0)
    np.testing.assert_allclose(result["cumulative_regret"], np.cumsum(result["regret"]))
    assert result["regret_per_step"] == pytest.approx(result["regret"].mean())
    again = run_agent(agent, env, 150, seed=3)  # run_agent resets the agent and reseeds the env
    for key in ("rewards", "arms", "regret"):
        np.testing.assert_array_equal(result[key], again[key])


def test_run_agent_regret_matches_the_env() -> None:
    env = DynamicBandit(n_arms=3, change_period=7, max_steps=20)
    result = run_agent(make_baseline("uniform", env), env, 60, seed=0)
    replay = DynamicBandit(n_arms=3, change_period=7, max_steps=20)
    replay.reset(seed=0)
    for t, arm in enumerate(result["arms"]):
        means = replay.arm_means()
        assert result["regret"][t] == means.max() - means[arm]
        assert result["optimal_arms"][t] == int(np.argmax(means))
        if replay.step(int(arm))[3]:
            replay.reset()


def test_make_baseline_reads_the_noise_model() -> None:
    agent = make_baseline("thompson", DynamicBandit(reward_noise="bernoulli"))
    assert isinstance(agent, ThompsonSampling) and agent.likelihood == "bernoulli" and agent.gamma == 1.0
    agent = make_baseline("discounted_thompson", DynamicBandit(noise_std=0.5), gamma=0.9)
    assert isinstance(agent, DiscountedThompsonSampling)
    assert agent.likelihood == "gaussian" and agent.noise_std == 0.5 and agent.gamma == 0.9
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("exp3", DynamicBandit())


@settings(max_examples=30, deadline=None)
@given(
    arms=st.lists(st.integers(0, 3), min_size=1, max_size=60),
    window=st.integers(1, 10),
    gamma=st.floats(0.5, 1.0),
)
def test_window_and_discount_statistics(arms: list[int], window: int, gamma: float) -> None:
    rewards = np.linspace(-1.0, 2.0, len(arms))
    sw, du = SlidingWindowUCB(4, window=window), DiscountedUCB(4, gamma=gamma)
    for arm, reward in zip(arms, rewards, strict=True):
        sw.update(arm, float(reward))
        du.update(arm, float(reward))
    arms_array = np.array(arms)
    recent, recent_rewards = arms_array[-window:], rewards[-window:]
    weights = gamma ** np.arange(len(arms))[::-1]
    for k in range(4):
        assert sw.counts[k] == np.count_nonzero(recent == k)
        assert sw.sums[k] == pytest.approx(recent_rewards[recent == k].sum(), abs=1e-9)
        assert du.counts[k] == pytest.approx(weights[arms_array == k].sum())
        assert du.sums[k] == pytest.approx((weights * rewards)[arms_array == k].sum(), abs=1e-9)


def test_ucb_agents_pull_unseen_arms_first() -> None:
    rng = np.random.default_rng(0)
    for agent in (make_baseline(name, DynamicBandit(n_arms=6)) for name in ("ucb1", "d_ucb", "sw_ucb")):
        pulled = []
        for _ in range(6):
            arm = agent.select(rng)
            pulled.append(arm)
            agent.update(arm, 0.5)
        assert sorted(pulled) == list(range(6)), agent


def test_sliding_window_forgets_and_reset_forgets() -> None:
    agent = SlidingWindowUCB(3, window=5)
    for _ in range(20):
        agent.update(0, 1.0)
    assert agent.counts.tolist() == [5, 0, 0] and len(agent.history) == 5
    agent.reset()
    assert agent.counts.sum() == 0 and not agent.history


def test_gradient_bandit_update() -> None:
    agent = GradientBandit(3, alpha=0.5)
    agent.update(1, 1.0)  # baseline 0, pi uniform: H_1 += 0.5 * 2/3, others -= 0.5 * 1/3
    np.testing.assert_allclose(agent.preferences, [-1 / 6, 1 / 3, -1 / 6])
    assert agent.baseline == 1.0
    for _ in range(200):
        agent.update(2, 2.0)
        agent.update(0, 0.0)
    assert agent.preferences.sum() == pytest.approx(0.0, abs=1e-9)  # the update keeps sum(H) fixed
    assert np.argmax(agent.policy()) == 2


def test_thompson_posteriors_concentrate() -> None:
    rng = np.random.default_rng(0)
    for likelihood, good, bad in (("gaussian", 0.8, 0.3), ("bernoulli", 1.0, 0.0)):
        agent = ThompsonSampling(2, likelihood=likelihood, noise_std=0.2)
        for _ in range(100):
            agent.update(0, good)
            agent.update(1, bad)
        assert all(agent.select(rng) == 0 for _ in range(50))


def test_epsilon_greedy_estimates() -> None:
    sample_average, constant = EpsilonGreedy(2, epsilon=0.0), EpsilonGreedy(2, epsilon=0.0, step_size=0.5)
    for reward in (1.0, 2.0, 3.0):
        sample_average.update(0, reward)
        constant.update(0, reward)
    assert sample_average.values[0] == pytest.approx(2.0)
    assert constant.values[0] == pytest.approx(0.5 * 3 + 0.25 * 2 + 0.125 * 1)
    assert sample_average.select(np.random.default_rng(0)) == 0


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda: EpsilonGreedy(3, epsilon=1.5), "epsilon"),
        (lambda: EpsilonGreedy(3, step_size=0.0), "step_size"),
        (lambda: SlidingWindowUCB(3, window=0), "window"),
        (lambda: DiscountedUCB(3, gamma=1.5), "gamma"),
        (lambda: DiscountedThompsonSampling(3, likelihood="poisson"), "likelihood"),
        (lambda: GradientBandit(3, alpha=0.0), "alpha"),
        (lambda: BASELINES["uniform"](0), "n_arms"),
    ],
)
def test_invalid_hyperparameters(factory: Any, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        factory()
