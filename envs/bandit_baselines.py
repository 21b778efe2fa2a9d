"""Classic multi-armed bandit agents (numpy only), as reference points for learned policies.

Every agent follows the same small interface, :class:`BanditAgent`:

- ``reset()`` forgets everything;
- ``select(rng) -> int`` picks the arm to pull, drawing any randomness from ``rng``;
- ``update(arm, reward)`` learns from the reward of the pulled arm.

:func:`run_agent` runs one agent on a bandit env and measures its dynamic regret from the env's
``info["regret"]``; :data:`BASELINES` maps short names to agents with default hyperparameters
suited to the default ``DynamicBandit-v0`` (10 arms, means in [0, 1] re-drawn every 250 pulls,
reward noise std 0.2); :func:`make_baseline` builds one for a given env.

Stationary agents: uniform random, epsilon-greedy, UCB1, Thompson sampling.
Non-stationary agents: discounted UCB and sliding-window UCB (Garivier & Moulines 2011), discounted
Thompson sampling (Raj & Kalyani 2017) and the gradient bandit (Sutton & Barto 2018, section 2.8).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

LIKELIHOODS = ("gaussian", "bernoulli")


def _argmax(values: FloatArray, rng: np.random.Generator) -> int:
    """Index of the largest value, ties broken uniformly at random."""
    best = np.flatnonzero(values == values.max())
    return int(best[0] if best.size == 1 else rng.choice(best))


class BanditAgent(ABC):
    """
    Base class of the bandit agents.

    :param n_arms: number of arms of the bandit.
    """

    #: Whether the constructor takes ``likelihood`` and ``noise_std`` (the Thompson samplers).
    uses_noise_model: ClassVar[bool] = False

    def __init__(self, n_arms: int) -> None:
        if isinstance(n_arms, bool) or not isinstance(n_arms, (int, np.integer)) or n_arms < 1:
            raise ValueError(f"n_arms must be a positive int, got {n_arms!r}")
        self.n_arms = int(n_arms)
        self.reset()

    @abstractmethod
    def reset(self) -> None:
        """Forget everything learned."""

    @abstractmethod
    def select(self, rng: np.random.Generator) -> int:
        """
        Choose the arm to pull.

        :param rng: source of any randomness the agent needs.
        :return: the arm, in ``{0, ..., n_arms - 1}``.
        """

    @abstractmethod
    def update(self, arm: int, reward: float) -> None:
        """
        Learn from one pull.

        :param arm: the pulled arm.
        :param reward: its reward.
        """

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._hyperparameters().items())
        return f"{type(self).__name__}(n_arms={self.n_arms}{', ' if params else ''}{params})"

    def _hyperparameters(self) -> dict[str, Any]:
        return {}


class UniformRandom(BanditAgent):
    """
    Pulls an arm uniformly at random: the no-learning reference, whose expected regret per pull is
    the mean gap between the best arm and the average arm.

    :param n_arms: number of arms.
    """

    def reset(self) -> None:
        """Nothing to forget."""

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: random source. :return: a uniformly random arm."""
        return int(rng.integers(self.n_arms))

    def update(self, arm: int, reward: float) -> None:
        """Ignores the reward. :param arm: pulled arm. :param reward: its reward."""


class EpsilonGreedy(BanditAgent):
    """
    Epsilon-greedy action-value method (Sutton & Barto 2018, sections 2.2-2.5).

    With probability ``epsilon`` a uniformly random arm, otherwise the arm of largest estimate
    ``Q``. After pulling ``a`` with reward ``R``: ``Q_a <- Q_a + alpha (R - Q_a)``, where
    ``alpha = 1 / N_a`` (sample average) or a constant ``step_size`` (exponential recency-weighted
    average, for non-stationary problems).

    :param n_arms: number of arms.
    :param epsilon: exploration probability in ``[0, 1]``.
    :param step_size: constant step size in ``(0, 1]``, or ``None`` for sample averages.
    :param initial_value: initial estimate of every arm (optimistic if high).
    """

    def __init__(
        self, n_arms: int, epsilon: float = 0.1, step_size: float | None = None, initial_value: float = 0.0
    ) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
        if step_size is not None and not 0.0 < step_size <= 1.0:
            raise ValueError(f"step_size must be in (0, 1] or None for sample averages, got {step_size!r}")
        self.epsilon, self.step_size, self.initial_value = epsilon, step_size, initial_value
        super().__init__(n_arms)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "step_size": self.step_size, "initial_value": self.initial_value}

    def reset(self) -> None:
        """Reset the estimates and counts."""
        self.values = np.full(self.n_arms, float(self.initial_value))
        self.counts = np.zeros(self.n_arms, dtype=np.int64)

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: random source. :return: the chosen arm."""
        if rng.random() < self.epsilon:
            return int(rng.integers(self.n_arms))
        return _argmax(self.values, rng)

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        self.counts[arm] += 1
        alpha = self.step_size if self.step_size is not None else 1.0 / self.counts[arm]
        self.values[arm] += alpha * (reward - self.values[arm])


class UCB1(BanditAgent):
    """
    UCB1 (Auer, Cesa-Bianchi & Fischer 2002, "Finite-time Analysis of the Multiarmed Bandit
    Problem").

    Pulls every arm once, then the arm maximising ``mean_a + c * sqrt(2 ln t / N_a)`` where ``t`` is
    the number of pulls so far and ``N_a`` those of arm ``a``. ``c = 1`` is the original index for
    rewards in ``[0, 1]``; a smaller ``c`` explores less.

    :param n_arms: number of arms.
    :param c: scale of the exploration bonus (> 0).
    """

    def __init__(self, n_arms: int, c: float = 1.0) -> None:
        if not c > 0:
            raise ValueError(f"c must be > 0, got {c!r}")
        self.c = c
        super().__init__(n_arms)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"c": self.c}

    def reset(self) -> None:
        """Reset counts and sums."""
        self.counts = np.zeros(self.n_arms)
        self.sums = np.zeros(self.n_arms)
        self.t = 0

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: random source (ties). :return: the chosen arm."""
        unpulled = np.flatnonzero(self.counts == 0)
        if unpulled.size:
            return int(unpulled[0])
        index = self.sums / self.counts + self.c * np.sqrt(2.0 * math.log(self.t) / self.counts)
        return _argmax(index, rng)

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        self.t += 1
        self.counts[arm] += 1
        self.sums[arm] += reward


class DiscountedUCB(BanditAgent):
    """
    Discounted UCB, D-UCB (Garivier & Moulines 2011, "On Upper-Confidence Bound Policies for
    Switching Bandit Problems", ALT; Kocsis & Szepesvari 2006).

    Past pulls are discounted by ``gamma`` per step: with ``N_a = sum_s gamma^(t-s) 1{A_s = a}`` and
    ``S_a = sum_s gamma^(t-s) R_s 1{A_s = a}``, the index is
    ``S_a / N_a + 2 B sqrt(xi log(n) / N_a)`` with ``n = sum_a N_a``; unpulled arms come first.
    The paper suggests ``gamma = 1 - sqrt(Upsilon / T) / 4`` for ``Upsilon`` changes in ``T`` steps.

    :param n_arms: number of arms.
    :param gamma: discount factor in ``(0, 1]``.
    :param xi: exploration constant (> 0).
    :param bound: ``B``, the scale of the rewards.
    """

    def __init__(self, n_arms: int, gamma: float = 0.995, xi: float = 0.01, bound: float = 1.0) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if not xi > 0 or not bound > 0:
            raise ValueError(f"xi and bound must be > 0, got xi={xi!r}, bound={bound!r}")
        self.gamma, self.xi, self.bound = gamma, xi, bound
        super().__init__(n_arms)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "xi": self.xi, "bound": self.bound}

    def reset(self) -> None:
        """Reset the discounted counts and sums."""
        self.counts = np.zeros(self.n_arms)
        self.sums = np.zeros(self.n_arms)

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: random source (ties). :return: the chosen arm."""
        unpulled = np.flatnonzero(self.counts == 0)
        if unpulled.size:
            return int(unpulled[0])
        n = self.counts.sum()
        bonus = 2.0 * self.bound * np.sqrt(self.xi * math.log(max(n, 1.0)) / self.counts)
        return _argmax(self.sums / self.counts + bonus, rng)

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        self.counts *= self.gamma
        self.sums *= self.gamma
        self.counts[arm] += 1.0
        self.sums[arm] += reward


class SlidingWindowUCB(BanditAgent):
    """
    Sliding-Window UCB, SW-UCB (Garivier & Moulines 2011).

    Only the last ``window`` pulls count: with ``N_a`` and ``mean_a`` the count and mean reward of arm
    ``a`` among them, the index is ``mean_a + B sqrt(xi log(min(t, window)) / N_a)``; arms absent from
    the window come first. The paper suggests ``window = 2 B sqrt(T log(T) / Upsilon)``.

    :param n_arms: number of arms.
    :param window: number of recent pulls remembered (>= 1).
    :param xi: exploration constant (> 0).
    :param bound: ``B``, the scale of the rewards.
    """

    def __init__(self, n_arms: int, window: int = 300, xi: float = 0.1, bound: float = 1.0) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise ValueError(f"window must be an int >= 1, got {window!r}")
        if not xi > 0 or not bound > 0:
            raise ValueError(f"xi and bound must be > 0, got xi={xi!r}, bound={bound!r}")
        self.window, self.xi, self.bound = int(window), xi, bound
        super().__init__(n_arms)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"window": self.window, "xi": self.xi, "bound": self.bound}

    def reset(self) -> None:
        """Empty the window."""
        self.history: deque[tuple[int, float]] = deque()
        self.counts = np.zeros(self.n_arms, dtype=np.int64)
        self.sums = np.zeros(self.n_arms)
        self.t = 0

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: random source (ties). :return: the chosen arm."""
        absent = np.flatnonzero(self.counts == 0)
        if absent.size:
            return int(absent[0])
        bonus = self.bound * np.sqrt(self.xi * math.log(min(self.t, self.window)) / self.counts)
        return _argmax(self.sums / self.counts + bonus, rng)

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        self.t += 1
        self.history.append((arm, reward))
        self.counts[arm] += 1
        self.sums[arm] += reward
        if len(self.history) > self.window:
            old_arm, old_reward = self.history.popleft()
            self.counts[old_arm] -= 1
            self.sums[old_arm] -= old_reward
            if self.counts[old_arm] == 0:
                self.sums[old_arm] = 0.0  # no floating-point residue


class DiscountedThompsonSampling(BanditAgent):
    """
    Discounted Thompson sampling (Raj & Kalyani 2017, "Taming Non-stationary Bandits: A Bayesian
    Approach"); with ``gamma = 1`` it is plain Thompson sampling (Thompson 1933; Agrawal & Goyal
    2012).

    Each step draws ``theta_a`` from every arm's posterior and pulls the largest. The sufficient
    statistics are discounted: ``N_a <- gamma N_a + 1{A = a}``, ``S_a <- gamma S_a + R 1{A = a}``.

    - ``likelihood="bernoulli"``: ``theta_a ~ Beta(alpha0 + S_a, beta0 + N_a - S_a)`` (rewards clipped
      to ``[0, 1]`` count as fractional successes).
    - ``likelihood="gaussian"`` (known noise std ``sigma``, prior ``N(m0, s0^2)``):
      ``theta_a ~ N(mu_a, 1 / p_a)`` with precision ``p_a = 1 / s0^2 + N_a / sigma^2`` and
      ``mu_a = (m0 / s0^2 + S_a / sigma^2) / p_a``.

    :param n_arms: number of arms.
    :param gamma: discount factor in ``(0, 1]``.
    :param likelihood: ``"gaussian"`` or ``"bernoulli"`` reward model.
    :param noise_std: ``sigma`` of the Gaussian model.
    :param prior_mean: ``m0`` of the Gaussian prior.
    :param prior_std: ``s0`` of the Gaussian prior.
    :param alpha0: Beta prior successes.
    :param beta0: Beta prior failures.
    """

    uses_noise_model = True

    def __init__(
        self,
        n_arms: int,
        gamma: float = 0.99,
        likelihood: str = "gaussian",
        noise_std: float = 0.2,
        prior_mean: float = 0.5,
        prior_std: float = 0.5,
        alpha0: float = 1.0,
        beta0: float = 1.0,
    ) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if not noise_std > 0 or not prior_std > 0:
            raise ValueError(
                f"noise_std and prior_std must be > 0, got noise_std={noise_std!r}, prior_std={prior_std!r}"
            )
        if not alpha0 > 0 or not beta0 > 0:
            raise ValueError(f"alpha0 and beta0 must be > 0, got alpha0={alpha0!r}, beta0={beta0!r}")
        self.gamma, self.likelihood, self.noise_std = gamma, likelihood, noise_std
        self.prior_mean, self.prior_std, self.alpha0, self.beta0 = prior_mean, prior_std, alpha0, beta0
        super().__init__(n_arms)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "likelihood": self.likelihood, "noise_std": self.noise_std}

    def reset(self) -> None:
        """Back to the prior."""
        self.counts = np.zeros(self.n_arms)
        self.sums = np.zeros(self.n_arms)

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: source of the posterior draws. :return: the chosen arm."""
        if self.likelihood == "bernoulli":
            theta = rng.beta(self.alpha0 + self.sums, self.beta0 + self.counts - self.sums)
        else:
            precision = 1.0 / self.prior_std**2 + self.counts / self.noise_std**2
            mean = (self.prior_mean / self.prior_std**2 + self.sums / self.noise_std**2) / precision
            theta = rng.normal(mean, 1.0 / np.sqrt(precision))
        return _argmax(theta, rng)

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        if self.likelihood == "bernoulli":
            reward = min(max(reward, 0.0), 1.0)
        if self.gamma < 1.0:
            self.counts *= self.gamma
            self.sums *= self.gamma
        self.counts[arm] += 1.0
        self.sums[arm] += reward


class ThompsonSampling(DiscountedThompsonSampling):
    """
    Thompson sampling (Thompson 1933; Agrawal & Goyal 2012, "Analysis of Thompson Sampling for the
    Multi-armed Bandit Problem"): :class:`DiscountedThompsonSampling` with no discount
    (``gamma = 1``), a Beta posterior for Bernoulli rewards and a Gaussian one for Gaussian rewards.

    :param n_arms: number of arms.
    :param likelihood: ``"gaussian"`` or ``"bernoulli"`` reward model.
    :param noise_std: ``sigma`` of the Gaussian model.
    :param prior_mean: ``m0`` of the Gaussian prior.
    :param prior_std: ``s0`` of the Gaussian prior.
    :param alpha0: Beta prior successes.
    :param beta0: Beta prior failures.
    """

    def __init__(
        self,
        n_arms: int,
        likelihood: str = "gaussian",
        noise_std: float = 0.2,
        prior_mean: float = 0.5,
        prior_std: float = 0.5,
        alpha0: float = 1.0,
        beta0: float = 1.0,
    ) -> None:
        super().__init__(n_arms, 1.0, likelihood, noise_std, prior_mean, prior_std, alpha0, beta0)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"likelihood": self.likelihood, "noise_std": self.noise_std}


class GradientBandit(BanditAgent):
    """
    Gradient bandit (Sutton & Barto 2018, section 2.8, equations 2.11-2.12).

    Keeps preferences ``H`` and pulls from ``pi = softmax(H)``. After pulling ``A`` with reward ``R``:
    ``H_A <- H_A + alpha (R - Rbar)(1 - pi_A)`` and ``H_b <- H_b - alpha (R - Rbar) pi_b`` for
    ``b != A``, where the baseline ``Rbar`` is the average reward so far (``baseline_step_size=None``)
    or an exponential recency-weighted average with that step size (tracks drifting rewards).

    :param n_arms: number of arms.
    :param alpha: preference step size (> 0).
    :param baseline_step_size: step size of the reward baseline in ``(0, 1]``, or ``None`` for the
        sample average.
    """

    def __init__(self, n_arms: int, alpha: float = 0.1, baseline_step_size: float | None = None) -> None:
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        if baseline_step_size is not None and not 0.0 < baseline_step_size <= 1.0:
            raise ValueError(f"baseline_step_size must be in (0, 1] or None, got {baseline_step_size!r}")
        self.alpha, self.baseline_step_size = alpha, baseline_step_size
        super().__init__(n_arms)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "baseline_step_size": self.baseline_step_size}

    def reset(self) -> None:
        """Uniform policy, zero baseline."""
        self.preferences = np.zeros(self.n_arms)
        self.baseline = 0.0
        self.t = 0

    def policy(self) -> FloatArray:
        """:return: the current softmax policy ``pi``."""
        z = np.exp(self.preferences - self.preferences.max())
        return z / z.sum()

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: random source. :return: an arm drawn from ``pi``."""
        return int(rng.choice(self.n_arms, p=self.policy()))

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        self.t += 1
        pi = self.policy()
        advantage = reward - self.baseline
        one_hot = np.zeros(self.n_arms)
        one_hot[arm] = 1.0
        self.preferences += self.alpha * advantage * (one_hot - pi)
        beta = self.baseline_step_size if self.baseline_step_size is not None else 1.0 / self.t
        self.baseline += beta * (reward - self.baseline)


@dataclass(frozen=True)
class Baseline:
    """
    An agent class with default hyperparameters; calling it builds an agent.

    :param agent_class: the :class:`BanditAgent` subclass.
    :param kwargs: its default hyperparameters.
    """

    agent_class: type[BanditAgent]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(
        self, n_arms: int, reward_noise: str = "gaussian", noise_std: float = 0.2, **overrides: Any
    ) -> BanditAgent:
        """
        :param n_arms: number of arms.
        :param reward_noise: the env's noise kind (``"gaussian"``/``"bernoulli"``), for Thompson sampling.
        :param noise_std: the env's Gaussian noise std, for Thompson sampling.
        :param overrides: hyperparameters that replace the defaults.
        :return: a new agent.
        """
        kwargs = dict(self.kwargs)
        if self.agent_class.uses_noise_model:
            kwargs.update(likelihood=reward_noise, noise_std=noise_std if noise_std > 0 else 1e-3)
        kwargs.update(overrides)
        return self.agent_class(n_arms, **kwargs)


#: Baselines with default hyperparameters for ``DynamicBandit-v0`` (means in [0, 1], changes every
#: 250 pulls, noise std 0.2), chosen by a small sweep with ``benchmarks/bandit_baselines.py``.
BASELINES: dict[str, Baseline] = {
    "uniform": Baseline(UniformRandom),
    "epsilon_greedy": Baseline(EpsilonGreedy, {"epsilon": 0.1}),
    "ucb1": Baseline(UCB1, {"c": 1.0}),
    "thompson": Baseline(ThompsonSampling),
    "gradient": Baseline(GradientBandit, {"alpha": 0.1, "baseline_step_size": None}),
    "d_ucb": Baseline(DiscountedUCB, {"gamma": 0.995, "xi": 0.01}),
    "sw_ucb": Baseline(SlidingWindowUCB, {"window": 300, "xi": 0.1}),
    "discounted_thompson": Baseline(DiscountedThompsonSampling, {"gamma": 0.99}),
}

#: The agents built for non-stationary bandits.
NON_STATIONARY = ("d_ucb", "sw_ucb", "discounted_thompson")


def make_baseline(name: str, env: gym.Env[Any, Any], **overrides: Any) -> BanditAgent:
    """
    Build baseline ``name`` for ``env``, reading ``n_arms``, ``reward_noise`` and ``noise_std`` from
    the (unwrapped) env when it has them.

    :param name: a key of :data:`BASELINES`.
    :param env: the bandit env (a ``Discrete`` action space).
    :param overrides: hyperparameters that replace the defaults.
    :return: a new agent.
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}: choose one of {sorted(BASELINES)}")
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise TypeError(f"bandit baselines need a Discrete action space, got {env.action_space}")
    base = env.unwrapped
    return BASELINES[name](
        int(env.action_space.n),
        reward_noise=getattr(base, "reward_noise", "gaussian"),
        noise_std=float(getattr(base, "noise_std", 0.2)),
        **overrides,
    )


def run_agent(agent: BanditAgent, env: gym.Env[Any, Any], n_steps: int, seed: int) -> dict[str, Any]:
    """
    Run ``agent`` for ``n_steps`` pulls on ``env`` and record its dynamic regret.

    The env is reset with ``seed`` and, at every episode end, reset again without a seed (its random
    stream continues); the agent is reset once at the start and keeps learning across episodes (a
    new episode is one more change of the means). The agent draws from its own generator, derived
    from ``seed`` but independent of the env's.

    :param agent: the agent (it is reset first).
    :param env: a bandit env whose step ``info`` holds ``"regret"`` (and ``"optimal_arm"``), such as
        ``DynamicBandit``.
    :param n_steps: number of pulls.
    :param seed: seed of the env and of the agent's generator.
    :return: ``{"rewards", "arms", "optimal_arms", "regret", "cumulative_regret"}`` arrays of length
        ``n_steps`` and ``"regret_per_step"``, the mean instantaneous regret.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps!r}")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    agent.reset()
    env.reset(seed=seed)
    rewards = np.empty(n_steps)
    arms = np.empty(n_steps, dtype=np.int64)
    optimal = np.empty(n_steps, dtype=np.int64)
    regret = np.empty(n_steps)
    for t in range(n_steps):
        arm = agent.select(rng)
        _, reward, terminated, truncated, info = env.step(arm)
        if "regret" not in info:
            raise ValueError("run_agent needs an env whose step info holds 'regret', such as DynamicBandit")
        agent.update(arm, float(reward))
        rewards[t], arms[t], regret[t] = reward, arm, info["regret"]
        optimal[t] = info.get("optimal_arm", -1)
        if terminated or truncated:
            env.reset()
    return {
        "rewards": rewards,
        "arms": arms,
        "optimal_arms": optimal,
        "regret": regret,
        "cumulative_regret": np.cumsum(regret),
        "regret_per_step": float(regret.mean()),
    }
