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

    def observe(self, info: dict[str, Any]) -> None:
        """
        See the env's step ``info`` after :meth:`update`. Agents ignore it (they learn from rewards
        only); only the oracle reads the true change points from it.

        :param info: the step's info dict.
        """
        return None

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


# ---------------------------------------------------------------------------------------------------
# kl-UCB and the change-point detectors built on it.
#
# kl-UCB (Garivier & Cappe 2011; Cappe et al. 2013) replaces UCB1's sqrt bonus by the largest mean the
# data do not rule out:  u_a = max{ q : N_a kl(mu_a, q) <= log(tau_a) },  with kl the Kullback-Leibler
# divergence of the reward family, N_a and mu_a the count and mean of arm a since its last restart and
# tau_a the pulls made since that restart. The detectors below keep kl-UCB's index and add (1) a test
# that notices when an arm's mean has changed and restarts its statistics, and (2) a little forced
# exploration, so that arms the index has given up on are still sampled and their changes seen.


def bernoulli_kl(p: FloatArray | float, q: FloatArray | float) -> FloatArray:
    """
    ``kl(p, q) = p log(p / q) + (1 - p) log((1 - p) / (1 - q))``, elementwise, with ``p`` and ``q``
    clipped into ``[eps, 1 - eps]`` (rewards outside ``[0, 1]`` count as 0 or 1).

    :param p: means of the first Bernoulli distributions.
    :param q: means of the second.
    :return: the divergences.
    """
    p = np.clip(p, _KL_EPS, 1.0 - _KL_EPS)
    q = np.clip(q, _KL_EPS, 1.0 - _KL_EPS)
    return np.asarray(p * np.log(p / q) + (1.0 - p) * np.log((1.0 - p) / (1.0 - q)))


def gaussian_kl(p: FloatArray | float, q: FloatArray | float, sigma: float) -> FloatArray:
    """
    ``kl(p, q) = (p - q)^2 / (2 sigma^2)``: Gaussians of equal, known variance ``sigma^2``.

    :param p: first means.
    :param q: second means.
    :param sigma: the noise std.
    :return: the divergences.
    """
    return np.asarray((np.asarray(p) - q) ** 2 / (2.0 * sigma**2))


_KL_EPS = 1e-12


def kl_ucb_index(
    means: FloatArray, counts: FloatArray, levels: FloatArray, likelihood: str, sigma: float
) -> FloatArray:
    """
    Upper confidence bounds ``u_a = max{q >= mu_a : N_a kl(mu_a, q) <= level_a}``.

    Gaussian kl has the closed form ``u = mu + sigma sqrt(2 level / N)``. Bernoulli kl is solved by
    bisection on ``[mu, mu + sqrt(level / (2 N))]``: by Pinsker, ``kl(p, q) >= 2 (p - q)^2``, so no
    larger ``q`` qualifies; 20 halvings give the bound to ~1e-6 of that interval. The bisection runs
    on Python floats, one arm at a time: for a few arms this is 5x faster than numpy's per-call cost.

    :param means: ``mu_a`` (arms with ``N_a > 0``).
    :param counts: ``N_a > 0``.
    :param levels: ``level_a >= 0``, e.g. ``log(t)``.
    :param likelihood: ``"bernoulli"`` or ``"gaussian"``.
    :param sigma: noise std of the Gaussian model.
    :return: the indices.
    """
    bound = levels / counts
    if likelihood == "gaussian":
        return means + sigma * np.sqrt(2.0 * bound)
    return np.array([_bernoulli_kl_ucb(float(m), float(b)) for m, b in zip(means, bound, strict=True)])


def _bernoulli_kl_ucb(mean: float, bound: float) -> float:
    """``max{q : kl(mean, q) <= bound}`` by bisection (see :func:`kl_ucb_index`)."""
    p = min(max(mean, _KL_EPS), 1.0 - _KL_EPS)
    neg_entropy = p * math.log(p) + (1.0 - p) * math.log1p(-p)  # kl(p, q) = this - p log q - (1-p) log(1-q)
    low, high = p, min(p + math.sqrt(bound / 2.0), 1.0 - _KL_EPS)
    for _ in range(20):
        mid = 0.5 * (low + high)
        if neg_entropy - p * math.log(mid) - (1.0 - p) * math.log1p(-mid) > bound:
            high = mid
        else:
            low = mid
    return high


class KLUCB(BanditAgent):
    """
    kl-UCB (Garivier & Cappe 2011, "The KL-UCB Algorithm for Bounded Stochastic Bandits and Beyond";
    Cappe, Garivier, Maillard, Munos & Stoltz 2013).

    Pulls unpulled arms first, then the arm of largest ``u_a = max{q : N_a kl(mu_a, q) <= c log(tau_a)}``
    (:func:`kl_ucb_index`) with ``tau_a`` the pulls since the arm's statistics were last restarted (here
    never: ``tau_a = t``). ``likelihood="bernoulli"`` uses the Bernoulli kl (rewards in ``[0, 1]``),
    ``"gaussian"`` the Gaussian kl of known noise std ``noise_std``. ``c = 1`` is the practical kl-UCB
    (Garivier & Cappe 2011 drop their ``3 log log t`` term in experiments); SMPyBandits' ``klUCB_forGLR``,
    with which Besson et al. (2022) ran GLR-klUCB, uses ``c = 3``.

    This class also holds what the restarting agents share: per-arm counts, sums and restart times,
    :meth:`restart_arm` and :meth:`restart_all`, and two hooks, :meth:`_forced_arm` (forced
    exploration) and :meth:`_detect` (change detection after each update).

    :param n_arms: number of arms.
    :param likelihood: ``"bernoulli"`` or ``"gaussian"``: the kl of the index.
    :param noise_std: ``sigma`` of the Gaussian kl.
    :param c: scale of the exploration level ``c log(tau_a)`` (> 0).
    """

    uses_noise_model = True

    def __init__(
        self, n_arms: int, likelihood: str = "bernoulli", noise_std: float = 0.2, c: float = 1.0
    ) -> None:
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if not noise_std > 0:
            raise ValueError(f"noise_std must be > 0, got {noise_std!r}")
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 < c < math.inf:
            raise ValueError(f"c must be a finite number > 0 (1: kl-UCB's log(t) level), got {c!r}")
        self.likelihood, self.noise_std, self.c = likelihood, float(noise_std), float(c)
        super().__init__(n_arms)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"likelihood": self.likelihood, "noise_std": self.noise_std, "c": self.c}

    def kl(self, p: FloatArray | float, q: FloatArray | float) -> FloatArray:
        """
        The divergence of the reward model.

        :param p: first means.
        :param q: second means.
        :return: ``kl(p, q)``.
        """
        if self.likelihood == "gaussian":
            return gaussian_kl(p, q, self.noise_std)
        return bernoulli_kl(p, q)

    def reset(self) -> None:
        """Forget everything."""
        self.counts = np.zeros(self.n_arms)
        self.sums = np.zeros(self.n_arms)
        self.restarted_at = np.zeros(self.n_arms, dtype=np.int64)  # t of each arm's last restart
        self.t = 0  # pulls made so far
        self.restarts: list[tuple[int, int]] = []  # (t, arm) of each detection; arm -1: all arms

    def restart_arm(self, arm: int) -> None:
        """
        Forget arm ``arm``'s statistics (a local restart).

        :param arm: the arm.
        """
        self.counts[arm] = 0.0
        self.sums[arm] = 0.0
        self.restarted_at[arm] = self.t

    def restart_all(self) -> None:
        """Forget every arm's statistics (a global restart)."""
        self.counts[:] = 0.0
        self.sums[:] = 0.0
        self.restarted_at[:] = self.t

    def _levels(self) -> FloatArray:
        """``c log(tau_a)``, ``tau_a`` = pulls since arm ``a``'s last restart (at least 1)."""
        return self.c * np.log(np.maximum(self.t - self.restarted_at, 1))

    def _forced_arm(self, rng: np.random.Generator) -> int | None:
        """The arm forced exploration pulls now, or None (kl-UCB: never)."""
        return None

    def _detect(self, arm: int, reward: float) -> None:
        """Change detection after an update of ``arm`` (kl-UCB: none)."""

    def select(self, rng: np.random.Generator) -> int:
        """:param rng: random source (ties, random exploration). :return: the chosen arm."""
        forced = self._forced_arm(rng)
        if forced is not None:
            return forced
        unpulled = np.flatnonzero(self.counts == 0)
        if unpulled.size:
            return int(unpulled[0] if unpulled.size == 1 else rng.choice(unpulled))
        index = kl_ucb_index(
            self.sums / self.counts, self.counts, self._levels(), self.likelihood, self.noise_std
        )
        return _argmax(index, rng)

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        self.t += 1
        self.counts[arm] += 1.0
        self.sums[arm] += reward
        self._detect(arm, reward)


class OracleRestartKLUCB(KLUCB):
    """
    kl-UCB restarted at the true change points: the reference floor of the restarting agents, not an
    agent (it reads the true means, ``info["arm_means"]``, see :meth:`observe`).

    When the means in force change, ``restart="changed"`` forgets only the arms whose mean changed,
    ``restart="all"`` every arm, and ``restart="pulled"`` only the arm pulled when the change happened,
    whether its mean changed or not (what SMPyBandits' ``OracleSequentiallyRestartPolicy`` does, with
    which the published oracle of Besson et al. 2022 was run; docs/dynamic_bandit.md). The pull that
    revealed the change is kept: it belongs to the new segment.

    :param n_arms: number of arms.
    :param restart: ``"changed"``, ``"all"`` or ``"pulled"``.
    :param likelihood: ``"bernoulli"`` or ``"gaussian"``: the kl of the index.
    :param noise_std: ``sigma`` of the Gaussian kl.
    """

    def __init__(
        self, n_arms: int, restart: str = "changed", likelihood: str = "bernoulli", noise_std: float = 0.2
    ) -> None:
        if restart not in ORACLE_RESTARTS:
            raise ValueError(f"restart must be one of {ORACLE_RESTARTS}, got {restart!r}")
        self.restart = restart
        super().__init__(n_arms, likelihood, noise_std)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"restart": self.restart, **super()._hyperparameters()}

    def reset(self) -> None:
        """Forget everything, including the means last seen."""
        super().reset()
        self._means: FloatArray | None = None
        self._last_pull = (0, 0.0)

    def update(self, arm: int, reward: float) -> None:
        """:param arm: pulled arm. :param reward: its reward."""
        super().update(arm, reward)
        self._last_pull = (arm, reward)

    def observe(self, info: dict[str, Any]) -> None:
        """
        Restart arms (see ``restart``) when the true means (``info["arm_means"]``) differ from the last
        pull's.

        :param info: the env's step info.
        """
        means = np.asarray(info["arm_means"], dtype=np.float64)
        if self._means is not None and not np.array_equal(means, self._means):
            arm, reward = self._last_pull
            restarted = {
                "changed": np.flatnonzero(means != self._means),
                "all": np.arange(self.n_arms),
                "pulled": np.array([arm]),
            }[self.restart]
            for k in restarted:
                self.restart_arm(int(k))
            if arm in restarted:  # the pull that revealed the change is the new segment's first
                self.counts[arm], self.sums[arm] = 1.0, reward
            self.restarted_at[restarted] = self.t - 1
            self.restarts.append((self.t - 1, -1 if len(restarted) == self.n_arms else int(restarted[0])))
        self._means = means


ORACLE_RESTARTS = ("changed", "all", "pulled")


class SlidingWindowKLUCB(KLUCB):
    """
    Sliding-window kl-UCB, SW-klUCB (Garivier & Moulines 2011 with kl-UCB's index, as benchmarked by
    Besson et al. 2022): the statistics are those of the last ``window`` pulls and the level is
    ``log(min(t, window))``. The paper's tuning is ``window = 2 sqrt(T log(T) / Upsilon)`` for
    ``Upsilon`` changes in ``T`` pulls.

    :param n_arms: number of arms.
    :param window: pulls remembered (>= 1).
    :param likelihood: ``"bernoulli"`` or ``"gaussian"``: the kl of the index.
    :param noise_std: ``sigma`` of the Gaussian kl.
    """

    def __init__(
        self, n_arms: int, window: int = 200, likelihood: str = "bernoulli", noise_std: float = 0.2
    ) -> None:
        _check_positive_int("window", window)
        self.window = int(window)
        super().__init__(n_arms, likelihood, noise_std)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"window": self.window, **super()._hyperparameters()}

    def reset(self) -> None:
        """Empty the window."""
        super().reset()
        self.history: deque[tuple[int, float]] = deque()

    def _levels(self) -> FloatArray:
        return np.full(self.n_arms, math.log(max(min(self.t, self.window), 1)))

    def _detect(self, arm: int, reward: float) -> None:
        # No detection: the pull that leaves the window is forgotten.
        self.history.append((arm, reward))
        if len(self.history) > self.window:
            old_arm, old_reward = self.history.popleft()
            self.counts[old_arm] -= 1.0
            self.sums[old_arm] = 0.0 if self.counts[old_arm] == 0 else self.sums[old_arm] - old_reward


def _round_robin_arm(steps: int, n_arms: int, rate: float) -> int | None:
    """
    Forced exploration of GLR-klUCB and M-UCB: with ``l = floor(K / rate)``, the pull at ``steps``
    (counted from the last global restart) is arm ``k`` when ``steps mod l = k < K``, so a fraction
    ``rate`` of the pulls cycles over the arms; otherwise None (the index decides).
    """
    if rate <= 0.0:
        return None
    k = steps % max(int(n_arms / rate), n_arms)
    return k if k < n_arms else None


def glr_threshold(n: int, delta: float) -> float:
    """
    Threshold of the Bernoulli GLR test after ``n`` observations: ``beta(n, delta) = log(3 n^1.5 / delta)``,
    the practical choice of Besson et al. (2022, section 6) for their theoretical
    ``2 T(log(3 n sqrt(n) / delta) / 2) + 6 log(1 + log n)``.

    :param n: observations since the arm's last restart.
    :param delta: false-alarm probability.
    :return: the threshold.
    """
    return math.log(3.0 * n**1.5 / delta)


class GLRKLUCB(KLUCB):
    """
    GLR-klUCB (Besson, Kaufmann, Maillard & Seznec 2022, "Efficient Change-Point Detection for Tackling
    Piecewise-Stationary Bandits", JMLR): kl-UCB with forced exploration and a generalized likelihood
    ratio (GLR) change-point test on the pulled arm.

    **Test.** With ``x_1..x_n`` the rewards of arm ``a`` since its last restart, ``S_s`` their partial
    sums, ``mu_{1:s} = S_s / s``, ``mu_{s+1:n} = (S_n - S_s) / (n - s)`` and ``mu = S_n / n``, a change is
    detected when, for some split ``s``,
    ``G(s) = s kl(mu_{1:s}, mu) + (n - s) kl(mu_{s+1:n}, mu) >= beta(n, delta)`` (:func:`glr_threshold`).
    All splits are scored at once from the cumulative sums (one numpy pass). As in the published
    experiments the test is sub-sampled: it runs when ``n`` is a multiple of ``check_every`` (``Delta n``)
    and scores the splits ``s`` that are multiples of ``split_every`` (``Delta s``).

    **Restart.** ``restart="local"``: only arm ``a``'s statistics are forgotten; ``"global"``: every
    arm's (a new episode). With ``localization=True`` the detecting arm keeps its rewards after the
    best split ``argmax_s G(s)`` instead of forgetting all of them (Besson et al. 2022, section 6).

    **Exploration.** With ``l = floor(K / alpha)``, a pull whose step ``t - tau`` (``tau``: the last
    global restart) is ``k mod l`` with ``k < K`` pulls arm ``k``: a fraction ``alpha`` of the pulls
    cycles over the arms, so that a change on an arm kl-UCB has abandoned is seen. Otherwise kl-UCB
    with ``c log(t - tau_a)``, ``tau_a`` the arm's last restart (``c = 3`` in the published runs, see
    :class:`KLUCB`).

    The paper's tuning (Corollaries 6 and 10) for ``Upsilon`` changes in ``T`` pulls is
    ``delta = 1 / sqrt(Upsilon T)`` and ``alpha = alpha0 sqrt(K Upsilon log(T) / T)`` (local) or
    ``alpha0 sqrt(Upsilon log(T) / T)`` (global); :func:`tuned_baselines` computes them.

    :param n_arms: number of arms.
    :param restart: ``"local"`` or ``"global"``.
    :param delta: false-alarm probability of the test, in ``(0, 1)``.
    :param alpha: fraction of forced-exploration pulls, in ``[0, 1]``.
    :param check_every: ``Delta n``: test after every ``check_every``-th reward of an arm.
    :param split_every: ``Delta s``: score every ``split_every``-th split.
    :param localization: keep the rewards after the detected split.
    :param likelihood: ``"bernoulli"`` or ``"gaussian"``: the kl of the index and of the test.
    :param noise_std: ``sigma`` of the Gaussian kl.
    :param c: scale of the index's exploration level ``c log(t - tau_a)`` (> 0).
    """

    def __init__(
        self,
        n_arms: int,
        restart: str = "local",
        delta: float = 0.01,
        alpha: float = 0.01,
        check_every: int = 10,
        split_every: int = 5,
        localization: bool = True,
        likelihood: str = "bernoulli",
        noise_std: float = 0.2,
        c: float = 1.0,
    ) -> None:
        if restart not in RESTART_KINDS:
            raise ValueError(f"restart must be one of {RESTART_KINDS}, got {restart!r}")
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {delta!r}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        _check_positive_int("check_every", check_every)
        _check_positive_int("split_every", split_every)
        self.restart, self.delta, self.alpha = restart, float(delta), float(alpha)
        self.check_every, self.split_every, self.localization = (
            int(check_every),
            int(split_every),
            localization,
        )
        super().__init__(n_arms, likelihood, noise_std, c)

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            "restart": self.restart,
            "delta": self.delta,
            "alpha": self.alpha,
            "check_every": self.check_every,
            "split_every": self.split_every,
            "localization": self.localization,
            **super()._hyperparameters(),
        }

    def reset(self) -> None:
        """Forget everything."""
        super().reset()
        self.rewards: list[list[float]] = [[] for _ in range(self.n_arms)]  # since each arm's restart
        self.episode_start = 0  # t of the last global restart

    def restart_arm(self, arm: int) -> None:
        """:param arm: the arm whose statistics are forgotten."""
        super().restart_arm(arm)
        self.rewards[arm] = []

    def restart_all(self) -> None:
        """Forget every arm and start a new episode of forced exploration."""
        super().restart_all()
        self.rewards = [[] for _ in range(self.n_arms)]
        self.episode_start = self.t

    def _forced_arm(self, rng: np.random.Generator) -> int | None:
        return _round_robin_arm(self.t - self.episode_start, self.n_arms, self.alpha)

    def glr_statistic(self, rewards: FloatArray) -> tuple[float, int]:
        """
        ``max_s G(s)`` over the sub-sampled splits ``s`` of ``rewards``, and the best split.

        :param rewards: ``x_1..x_n``.
        :return: ``(max G, argmax s)``; ``(0, 0)`` when ``n <= split_every``.
        """
        n = len(rewards)
        splits = np.arange(self.split_every, n, self.split_every)
        if splits.size == 0:
            return 0.0, 0
        partial = np.cumsum(rewards)
        mean_all = partial[-1] / n
        before = partial[splits - 1] / splits  # mu_{1:s}
        after = (partial[-1] - partial[splits - 1]) / (n - splits)  # mu_{s+1:n}
        g = splits * self.kl(before, mean_all) + (n - splits) * self.kl(after, mean_all)
        best = int(np.argmax(g))
        return float(g[best]), int(splits[best])

    def _detect(self, arm: int, reward: float) -> None:
        history = self.rewards[arm]
        history.append(reward)
        n = len(history)
        if n % self.check_every:
            return
        statistic, split = self.glr_statistic(np.asarray(history))
        if statistic < glr_threshold(n, self.delta):
            return
        self.restarts.append((self.t, arm if self.restart == "local" else -1))
        kept = history[split:] if self.localization else []
        if self.restart == "global":
            self.restart_all()
        else:
            self.restart_arm(arm)
        self.rewards[arm] = list(kept)
        self.counts[arm] = float(len(kept))
        self.sums[arm] = float(sum(kept))


class CUSUMKLUCB(KLUCB):
    """
    CUSUM-klUCB: CD-UCB with a two-sided CUSUM detector (Liu, Lee & Shroff 2018, "A Change-Detection
    Based Framework for Piecewise-Stationary Multi-Armed Bandit Problem", AAAI), on kl-UCB's index.

    **Test** on each arm: its first ``M`` rewards since the last restart estimate the pre-change mean
    ``u``; each later reward ``x`` updates ``g+ <- max(0, g+ + x - u - eps)`` and
    ``g- <- max(0, g- + u - x - eps)``; a change is detected when ``g+`` or ``g-`` exceeds ``h``, and that
    arm alone is restarted. **Exploration**: with probability ``alpha`` a uniformly random arm. The
    paper's tuning is ``h = log(T / Upsilon)`` and ``alpha = sqrt(Upsilon log(T / Upsilon) / T)``;
    ``M`` and ``eps`` (the smallest change to detect) need prior knowledge.

    :param n_arms: number of arms.
    :param alpha: random exploration probability in ``[0, 1]``.
    :param h: detection threshold (> 0).
    :param eps: drift term: changes smaller than ``eps`` are not sought (>= 0).
    :param m: ``M``, rewards used to estimate the pre-change mean (>= 1).
    :param likelihood: ``"bernoulli"`` or ``"gaussian"``: the kl of the index.
    :param noise_std: ``sigma`` of the Gaussian kl.
    """

    def __init__(
        self,
        n_arms: int,
        alpha: float = 0.01,
        h: float = 7.0,
        eps: float = 0.1,
        m: int = 100,
        likelihood: str = "bernoulli",
        noise_std: float = 0.2,
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        if not h > 0 or not eps >= 0:
            raise ValueError(f"h must be > 0 and eps >= 0, got h={h!r}, eps={eps!r}")
        _check_positive_int("m", m)
        self.alpha, self.h, self.eps, self.m = float(alpha), float(h), float(eps), int(m)
        super().__init__(n_arms, likelihood, noise_std)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "h": self.h, "eps": self.eps, "m": self.m, **super()._hyperparameters()}

    def reset(self) -> None:
        """Forget everything."""
        super().reset()
        self.g_plus = np.zeros(self.n_arms)
        self.g_minus = np.zeros(self.n_arms)
        self.reference = np.zeros(self.n_arms)  # u: mean of the first M rewards

    def restart_arm(self, arm: int) -> None:
        """:param arm: the arm whose statistics and CUSUM are forgotten."""
        super().restart_arm(arm)
        self.g_plus[arm] = self.g_minus[arm] = self.reference[arm] = 0.0

    def _forced_arm(self, rng: np.random.Generator) -> int | None:
        return int(rng.integers(self.n_arms)) if self.alpha > 0 and rng.random() < self.alpha else None

    def _detect(self, arm: int, reward: float) -> None:
        n = self.counts[arm]
        if n == self.m:
            self.reference[arm] = self.sums[arm] / n
        elif n > self.m:
            u = self.reference[arm]
            self.g_plus[arm] = max(0.0, self.g_plus[arm] + reward - u - self.eps)
            self.g_minus[arm] = max(0.0, self.g_minus[arm] + u - reward - self.eps)
            if max(self.g_plus[arm], self.g_minus[arm]) > self.h:
                self.restarts.append((self.t, arm))
                self.restart_arm(arm)


class MKLUCB(KLUCB):
    """
    M-klUCB: M-UCB (Cao, Wen, Kveton & Xie 2019, "Nearly Optimal Adaptive Procedure with Change
    Detection for Piecewise-Stationary Bandit", AISTATS) on kl-UCB's index.

    **Test** on the pulled arm, once it has ``w`` rewards since the last restart: with ``A`` and ``B``
    the sums of the older and newer halves of its last ``w`` rewards, a change is detected when
    ``|B - A| > b``; then every arm is restarted (global restart). **Exploration**: the pull of step
    ``t - tau`` (``tau``: the last restart) is arm ``k`` when ``(t - tau) mod floor(K / gamma) = k < K``.
    The paper's tuning is ``b = sqrt(w log(2 K T^2) / 2)``, ``gamma = sqrt(Upsilon K (2 b + 3 sqrt(w)) / (2 T))``
    and ``w`` of order ``log(2 K T^2) / delta_min^2`` for the smallest change ``delta_min``.

    :param n_arms: number of arms.
    :param window: ``w``, an even number of rewards (>= 2).
    :param b: detection threshold (> 0).
    :param gamma: fraction of forced-exploration pulls in ``[0, 1]``.
    :param likelihood: ``"bernoulli"`` or ``"gaussian"``: the kl of the index.
    :param noise_std: ``sigma`` of the Gaussian kl.
    """

    def __init__(
        self,
        n_arms: int,
        window: int = 150,
        b: float = 37.6,
        gamma: float = 0.01,
        likelihood: str = "bernoulli",
        noise_std: float = 0.2,
    ) -> None:
        _check_positive_int("window", window)
        if window < 2 or window % 2:
            raise ValueError(f"window must be an even int >= 2 (two halves), got {window!r}")
        if not b > 0 or not 0.0 <= gamma <= 1.0:
            raise ValueError(f"b must be > 0 and gamma in [0, 1], got b={b!r}, gamma={gamma!r}")
        self.window, self.b, self.gamma = int(window), float(b), float(gamma)
        super().__init__(n_arms, likelihood, noise_std)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"window": self.window, "b": self.b, "gamma": self.gamma, **super()._hyperparameters()}

    def reset(self) -> None:
        """Forget everything."""
        super().reset()
        self.recent: list[deque[float]] = [deque(maxlen=self.window) for _ in range(self.n_arms)]
        self.episode_start = 0

    def restart_all(self) -> None:
        """Forget every arm and start a new episode of forced exploration."""
        super().restart_all()
        self.recent = [deque(maxlen=self.window) for _ in range(self.n_arms)]
        self.episode_start = self.t

    def _forced_arm(self, rng: np.random.Generator) -> int | None:
        return _round_robin_arm(self.t - self.episode_start, self.n_arms, self.gamma)

    def _detect(self, arm: int, reward: float) -> None:
        recent = self.recent[arm]
        recent.append(reward)
        if len(recent) < self.window:
            return
        values = np.fromiter(recent, dtype=np.float64, count=self.window)
        half = self.window // 2
        if abs(values[half:].sum() - values[:half].sum()) > self.b:
            self.restarts.append((self.t, -1))
            self.restart_all()


RESTART_KINDS = ("local", "global")


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def tuned_baselines(
    horizon: int, n_changes: int, n_arms: int, alpha_scale: float = 0.1
) -> dict[str, Baseline]:
    """
    The change-aware agents with their papers' tuning for ``n_changes`` change points in ``horizon``
    pulls of ``n_arms`` arms (the formulas are in each class's docstring), as used in the published
    benchmark of Besson et al. (2022). The forced-exploration rates are multiplied by
    ``alpha_scale`` (0.1, the benchmark's choice: the raw formulas explore far too much at small
    horizons). M-klUCB keeps the benchmark's window ``w = 150``.

    :param horizon: ``T``.
    :param n_changes: ``Upsilon``, the number of change points (>= 1).
    :param n_arms: ``K``.
    :param alpha_scale: factor on every forced-exploration rate.
    :return: name -> :class:`Baseline`.
    """
    if horizon < 2 or n_changes < 1 or n_arms < 2:
        raise ValueError(
            f"need horizon >= 2, n_changes >= 1 and n_arms >= 2, got {horizon!r}, {n_changes!r}, {n_arms!r}"
        )
    t, ups, k = float(horizon), float(n_changes), float(n_arms)
    log_t = math.log(t)
    delta = 1.0 / math.sqrt(ups * t)
    window = 150
    b = math.sqrt(window * math.log(2.0 * k * t**2) / 2.0)
    return {
        "kl_ucb": Baseline(KLUCB),
        "oracle_kl_ucb": Baseline(OracleRestartKLUCB),
        "glr_kl_ucb_local": Baseline(
            GLRKLUCB,
            {"restart": "local", "delta": delta, "alpha": alpha_scale * math.sqrt(k * ups * log_t / t)},
        ),
        "glr_kl_ucb_global": Baseline(
            GLRKLUCB,
            {"restart": "global", "delta": delta, "alpha": alpha_scale * math.sqrt(ups * log_t / t)},
        ),
        "cusum_kl_ucb": Baseline(
            CUSUMKLUCB,
            {
                "alpha": alpha_scale * math.sqrt(ups * math.log(t / ups) / t),
                "h": math.log(t / ups),
                "eps": 0.1,
                "m": 100,
            },
        ),
        "m_kl_ucb": Baseline(
            MKLUCB,
            {
                "window": window,
                "b": b,
                "gamma": alpha_scale * math.sqrt(ups * k * (2.0 * b + 3.0 * math.sqrt(window)) / (2.0 * t)),
            },
        ),
        "sw_kl_ucb": Baseline(SlidingWindowKLUCB, {"window": int(2.0 * math.sqrt(t * log_t / ups))}),
    }


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
    # kl-UCB and the change detectors, with their papers' tuning for 5000 pulls with a change every
    # 250 (Upsilon = 19) and 10 arms: see tuned_baselines().
    **tuned_baselines(5000, 19, 10),
}

#: The agents built for non-stationary bandits.
NON_STATIONARY = (
    "d_ucb",
    "sw_ucb",
    "discounted_thompson",
    "sw_kl_ucb",
    "glr_kl_ucb_local",
    "glr_kl_ucb_global",
    "cusum_kl_ucb",
    "m_kl_ucb",
)
#: The change-point detectors (they restart statistics when a test fires).
DETECTORS = ("glr_kl_ucb_local", "glr_kl_ucb_global", "cusum_kl_ucb", "m_kl_ucb")


def baselines_for(env: gym.Env[Any, Any]) -> dict[str, Baseline]:
    """
    The baselines for ``env``: :data:`BASELINES`, with the change-aware agents re-tuned by
    :func:`tuned_baselines` when the env is an explicit schedule (``drift="schedule"``, whose horizon
    ``max_steps`` and number of change points are known, as in the published benchmarks).

    :param env: the bandit env.
    :return: name -> :class:`Baseline`.
    """
    base: Any = env.unwrapped  # a DynamicBandit, or any bandit env with a Discrete action space
    if getattr(base, "drift", None) != "schedule" or not getattr(base, "change_points", None):
        return BASELINES
    return {**BASELINES, **tuned_baselines(base.max_steps, len(base.change_points), base.n_arms)}


def make_baseline(name: str, env: gym.Env[Any, Any], **overrides: Any) -> BanditAgent:
    """
    Build baseline ``name`` for ``env`` (see :func:`baselines_for`), reading ``n_arms``,
    ``reward_noise`` and ``noise_std`` from the (unwrapped) env when it has them.

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
    return baselines_for(env)[name](
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
        agent.observe(info)
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
