"""Tests of kl-UCB, the change-point detectors (GLR-klUCB, CUSUM-klUCB, M-klUCB), SW-klUCB and the oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sb3_grpo.envs.bandit_baselines import (
    BASELINES,
    CUSUMKLUCB,
    DETECTORS,
    GLRKLUCB,
    KLUCB,
    MKLUCB,
    OracleRestartKLUCB,
    SlidingWindowKLUCB,
    bernoulli_kl,
    glr_threshold,
    kl_ucb_index,
    make_baseline,
    run_agent,
    tuned_baselines,
)
from sb3_grpo.envs.dynamic_bandit import BESSON_2022_PROBLEM, DynamicBandit

SEEDS = (0, 1, 2)
#: One abrupt change after 2000 stationary pulls: the best arm drops below the second. kl-UCB needs
#: hundreds of bad pulls to bring down the mean of an arm it has pulled ~2000 times (regret ~290).
PIECEWISE: dict[str, Any] = {
    "drift": "schedule",
    "reward_noise": "bernoulli",
    "schedule_means": [[0.1, 0.5, 0.9], [0.1, 0.5, 0.2]],
    "change_points": [2000],
    "max_steps": 3000,
}
PIECEWISE_TUNED = tuned_baselines(3000, 1, 3)


def _run(name: str, env_kwargs: dict[str, Any], seed: int, tuned: dict[str, Any] | None = None) -> Any:
    env = DynamicBandit(**env_kwargs)
    agent = (tuned or BASELINES)[name](env.n_arms, reward_noise=env.reward_noise, noise_std=env.noise_std)
    return agent, run_agent(agent, env, env.max_steps, seed)


def test_kl_ucb_index_is_the_largest_mean_within_the_level() -> None:
    rng = np.random.default_rng(0)
    means, counts = rng.random(200), rng.integers(1, 500, 200).astype(float)
    levels = np.log(rng.integers(1, 5000, 200))
    index = kl_ucb_index(means, counts, levels, "bernoulli", 0.2)
    assert np.all(index >= means) and np.all(index <= 1.0)
    # u is on the boundary N kl(mu, u) = level (from above, to 1e-5), unless clipped at 1.
    inside = index < 1.0 - 1e-6
    assert np.all((counts * bernoulli_kl(means, index))[inside] >= levels[inside])
    assert np.all((counts * bernoulli_kl(means, index - 1e-5))[inside] <= levels[inside])
    gaussian = kl_ucb_index(means, counts, levels, "gaussian", 0.3)
    np.testing.assert_allclose(gaussian, means + 0.3 * np.sqrt(2 * levels / counts))


def test_glr_statistic_finds_the_split() -> None:
    agent = GLRKLUCB(2, split_every=1)
    step = np.r_[np.zeros(60), np.ones(40)]
    statistic, split = agent.glr_statistic(step)
    assert split == 60 and statistic > glr_threshold(100, agent.delta)
    flat, _ = agent.glr_statistic(np.full(100, 0.5))
    assert flat == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name", ["kl_ucb", "oracle_kl_ucb", "sw_kl_ucb", *DETECTORS])
@pytest.mark.parametrize("reward_noise", ["bernoulli", "gaussian"])
def test_beats_uniform_on_a_stationary_bandit(name: str, reward_noise: str) -> None:
    stationary = {"n_arms": 5, "change_period": 10**6, "max_steps": 2000, "reward_noise": reward_noise}
    for seed in SEEDS[:2]:
        _, uniform = _run("uniform", stationary, seed)
        _, agent = _run(name, stationary, seed)
        assert agent["regret_per_step"] < 0.4 * uniform["regret_per_step"], (name, seed)


@pytest.mark.parametrize("name", DETECTORS)
def test_detectors_restart_after_an_abrupt_change_and_beat_kl_ucb(name: str) -> None:
    for seed in SEEDS:
        agent, result = _run(name, PIECEWISE, seed, PIECEWISE_TUNED)
        _, kl_ucb = _run("kl_ucb", PIECEWISE, seed, PIECEWISE_TUNED)
        # A restart soon after the change; none (or almost none) before it.
        after = [t for t, _ in agent.restarts if 2000 <= t <= 2150]
        before = [t for t, _ in agent.restarts if t < 2000]
        assert after and len(before) <= 1, (name, seed, agent.restarts)
        assert result["regret"].sum() < 0.3 * kl_ucb["regret"].sum(), (name, seed)


def test_oracle_restarts_exactly_at_the_change_points() -> None:
    for restart in ("changed", "all"):
        env = DynamicBandit(**BESSON_2022_PROBLEM)
        agent = OracleRestartKLUCB(3, restart=restart)
        run_agent(agent, env, 5000, seed=0)
        assert [t for t, _ in agent.restarts] == [1000, 2000, 3000, 4000]
        # "changed": arm 1 alone at 1000 (0.5 -> 0.2), all arms with restart="all"
        assert agent.restarts[0][1] == (1 if restart == "changed" else -1)


def test_oracle_pulled_restarts_only_the_arm_pulled_at_the_change() -> None:
    env = DynamicBandit(**BESSON_2022_PROBLEM)
    agent = OracleRestartKLUCB(3, restart="pulled")
    out = run_agent(agent, env, 5000, seed=0)
    assert [t for t, _ in agent.restarts] == [1000, 2000, 3000, 4000]
    # the arm of the change's first pull (t = 1000 is pull index 1000), whatever its mean did
    assert [arm for _, arm in agent.restarts] == [int(out["arms"][t]) for t in (1000, 2000, 3000, 4000)]


def test_kl_ucb_exploration_scale() -> None:
    # c scales the level: c log(tau_a); the index of an arm grows with c, the others' stats unchanged
    agents = [GLRKLUCB(2, alpha=0.0, c=c) for c in (1.0, 3.0)]
    for agent in agents:
        for arm, reward in [(0, 1.0), (1, 0.0), (0, 0.0), (1, 1.0), (0, 1.0), (1, 0.0)]:
            agent.update(arm, reward)
    low, high = (kl_ucb_index(a.sums / a.counts, a.counts, a._levels(), "bernoulli", 0.2) for a in agents)
    np.testing.assert_allclose(agents[1]._levels(), 3.0 * agents[0]._levels())
    assert np.all(high > low)
    assert "c=3.0" in repr(agents[1])


def test_oracle_keeps_the_pull_that_revealed_the_change() -> None:
    agent = OracleRestartKLUCB(2)
    agent.observe({"arm_means": np.array([0.1, 0.9])})
    agent.update(0, 1.0)
    agent.observe({"arm_means": np.array([0.1, 0.9])})
    agent.update(0, 0.0)
    agent.observe({"arm_means": np.array([0.7, 0.9])})  # arm 0 changed before this pull
    assert agent.counts[0] == 1 and agent.sums[0] == 0.0


def test_local_and_global_restarts() -> None:
    local, glob = GLRKLUCB(3, restart="local", alpha=0.0), GLRKLUCB(3, restart="global", alpha=0.0)
    for agent in (local, glob):
        for arm in (0, 1, 2):
            agent.update(arm, 0.5)
        for _ in range(200):
            agent.update(0, 0.0)
        for _ in range(100):
            agent.update(0, 1.0)
        assert agent.restarts, agent
    assert local.counts[1] == 1 and local.counts[2] == 1  # the other arms keep their statistics
    assert glob.counts[1] == 0 and glob.counts[2] == 0


def test_cusum_and_m_ucb_detect_a_mean_shift() -> None:
    cusum, m_ucb = CUSUMKLUCB(2, h=5.0, eps=0.1, m=50), MKLUCB(2, window=100, b=20.0)
    for agent in (cusum, m_ucb):
        for _ in range(150):
            agent.update(1, 0.1)
        assert not agent.restarts
        for _ in range(60):
            agent.update(1, 0.9)
        assert agent.restarts, agent


def test_sliding_window_kl_ucb_forgets() -> None:
    agent = SlidingWindowKLUCB(2, window=5)
    for reward in range(10):
        agent.update(0, float(reward))
    assert agent.counts[0] == 5 and agent.sums[0] == 5 + 6 + 7 + 8 + 9


def test_forced_exploration_rate() -> None:
    agent = GLRKLUCB(3, alpha=0.1)
    rng = np.random.default_rng(0)
    forced = 0
    for _ in range(3000):
        forced += agent._forced_arm(rng) is not None
        agent.update(agent.select(rng), 0.0)
    assert forced == pytest.approx(300, rel=0.05)


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda: KLUCB(3, likelihood="poisson"), "likelihood"),
        (lambda: GLRKLUCB(3, restart="sometimes"), "restart"),
        (lambda: GLRKLUCB(3, delta=0.0), "delta"),
        (lambda: GLRKLUCB(3, check_every=0), "check_every"),
        (lambda: CUSUMKLUCB(3, h=0.0), "h"),
        (lambda: MKLUCB(3, window=151), "window"),
        (lambda: OracleRestartKLUCB(3, restart="never"), "restart"),
        (lambda: KLUCB(3, c=0.0), "c must"),
        (lambda: GLRKLUCB(3, c=float("inf")), "c must"),
        (lambda: tuned_baselines(5000, 0, 3), "n_changes"),
    ],
)
def test_invalid_hyperparameters(factory: Any, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        factory()


def test_make_baseline_gives_kl_agents_the_env_noise_model() -> None:
    agent = make_baseline("glr_kl_ucb_global", DynamicBandit(noise_std=0.3))
    assert isinstance(agent, GLRKLUCB) and agent.likelihood == "gaussian" and agent.noise_std == 0.3
