"""A K-armed bandit whose arm reward distributions change over time (non-stationary)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

FloatArray = npt.NDArray[np.float64]
ObsType = npt.NDArray[np.float32]

DRIFT_KINDS = ("random_walk", "abrupt", "sinusoidal", "schedule")
NOISE_KINDS = ("gaussian", "bernoulli")
OBS_MODES = ("constant", "time", "context")
STATE_VERSION = 2

# Colours of the rgb_array frame (RGB, uint8).
_BACKGROUND = np.array([255, 255, 255], dtype=np.uint8)
_BAR = np.array([150, 160, 175], dtype=np.uint8)
_PULLED = np.array([220, 70, 60], dtype=np.uint8)
_OPTIMAL = np.array([40, 160, 70], dtype=np.uint8)
_REWARD = np.array([20, 20, 20], dtype=np.uint8)
_PROGRESS = np.array([60, 110, 200], dtype=np.uint8)
_AXIS = np.array([90, 90, 90], dtype=np.uint8)


class DynamicBandit(gym.Env[ObsType, np.int64]):
    """
    ## Description

    A K-armed bandit whose arm means move over time, the non-stationary bandit of Sutton & Barto
    (2018, section 2.5) and Garivier & Moulines (2011, "On Upper-Confidence Bound Policies for
    Switching Bandit Problems"). At every step the agent pulls one arm and receives a noisy reward
    around that arm's current mean. The means change according to one of three drift kinds:

    - ``"abrupt"`` (piecewise stationary, the default): all means are re-drawn uniformly from
      ``mean_range`` at change points, either every ``change_period`` steps or, when ``change_prob``
      is given, with that probability (hazard rate) after each step.
    - ``"random_walk"``: every mean takes an independent Gaussian step of std ``drift_std`` after each
      step, reflected at the borders of ``mean_range``.
    - ``"sinusoidal"``: arm ``k`` has mean ``c + h * sin(2 pi t / sin_period + phase_k)`` where ``c`` and
      ``h`` are the centre and half width of ``mean_range`` and the phases are drawn at reset, so the
      best arm rotates smoothly.
    - ``"schedule"``: an explicit, deterministic piecewise-stationary problem. ``schedule_means`` holds
      one mean vector per segment and ``change_points`` the steps at which the next segment starts:
      pull ``t`` (counted from 0 in each episode) sees ``schedule_means[i]`` with ``i`` the number of
      change points ``<= t``. Every episode replays the schedule from its first segment. This is how
      published benchmark problems are expressed (see :data:`BESSON_2022_PROBLEM`).

    With ``obs_mode="context"`` the bandit is contextual: at every step a context ``x`` is drawn
    uniformly from ``[-1, 1]^context_dim`` and shown to the agent, and the means in force are
    ``clip(mu_t + W x, mean_range)`` with ``mu_t`` the drifting means above and ``W`` a fixed matrix
    drawn at reset.

    The env is natively cloneable: :meth:`get_state` returns a small picklable snapshot (means, step,
    context, RNG state) and :meth:`set_state` restores it, so that a group of pulls made from one
    state sees the same means. The reward noise of *all* arms is drawn in one call at every step and
    the drift is drawn after it, so the random stream never depends on the arm pulled (common random
    numbers): restoring a state and pulling the same arm gives the same reward, and pulling another
    arm leaves every future mean unchanged.

    ## Action Space

    The action is an ``int`` in ``{0, ..., n_arms - 1}``: the arm to pull.

    ## Observation Space

    A ``float32`` ``ndarray`` that depends on ``obs_mode``:

    | obs_mode     | shape              | value                                          | bounds    |
    |--------------|--------------------|------------------------------------------------|-----------|
    | `"constant"` | `(1,)`             | always `1.0`: the pure bandit                   | `[0, 1]`  |
    | `"time"`     | `(1,)`             | step index divided by `max_steps`              | `[0, 1]`  |
    | `"context"`  | `(context_dim,)`   | the context `x` that shifts the current means  | `[-1, 1]` |

    ## Rewards

    The pulled arm's current mean plus Gaussian noise of std ``noise_std`` (``reward_noise="gaussian"``)
    or a Bernoulli draw with the mean as success probability (``reward_noise="bernoulli"``, which
    requires ``mean_range`` inside ``[0, 1]``).

    The ``info`` dict of :meth:`step` holds, for measuring dynamic regret:

    - ``"arm_means"``: a copy of all arms' means in force when the arm was pulled;
    - ``"optimal_arm"``: the arm with the largest of those means;
    - ``"regret"``: instantaneous regret, ``max(arm_means) - arm_means[action]``;
    - ``"change_point"``: ``True`` when the means change abruptly after this pull (the next pull is the
      first of a new segment: ``"abrupt"`` and ``"schedule"`` drifts; always ``False`` for the
      continuous drifts). Agents must not read it; it lets an oracle restart at the true changes.

    The ``info`` of :meth:`reset` holds ``"arm_means"`` and ``"optimal_arm"`` for the first pull.

    ## Starting State

    At reset the means are drawn uniformly from ``mean_range`` (sinusoidal: the phases are drawn
    uniformly from ``[0, 2 pi)``), and in context mode the matrix ``W`` (entries
    ``N(0, context_scale^2 / context_dim)``) and the first context are drawn.

    ## Episode End

    The episode is never terminated; it is truncated after ``max_steps`` pulls. The env applies this
    limit itself (it is part of the cloned state), so it is registered without a ``TimeLimit``.

    ## Arguments

    | Parameter       | Type           | Default      | Description                                         |
    |-----------------|----------------|--------------|-----------------------------------------------------|
    | `n_arms`        | int or None    | `None` (10)  | number of arms, at least 2 (schedule: its width)    |
    | `drift`         | str            | `"abrupt"`   | `"abrupt"`, `"random_walk"`, `"sinusoidal"`, `"schedule"` |
    | `change_period` | int or None    | `None` (250) | abrupt: steps between change points                 |
    | `change_prob`   | float or None  | `None`       | abrupt: per-step change probability (no period)     |
    | `drift_std`     | float          | `0.01`       | random_walk: std of each mean's step                |
    | `sin_period`    | float          | `500.0`      | sinusoidal: period in steps                         |
    | `schedule_means`| list of lists  | `None`       | schedule: one mean vector per segment               |
    | `change_points` | list of int    | `None`       | schedule: first step of segments 2, 3, ...          |
    | `mean_range`    | (float, float) | `(0.0, 1.0)` | interval that holds every mean                      |
    | `reward_noise`  | str            | `"gaussian"` | `"gaussian"` or `"bernoulli"`                       |
    | `noise_std`     | float          | `0.2`        | gaussian: std of the reward noise                   |
    | `shared_noise`  | bool           | `False`      | one noise draw for all arms instead of one per arm  |
    | `max_steps`     | int            | `1000`       | pulls per episode (truncation)                      |
    | `obs_mode`      | str            | `"constant"` | `"constant"`, `"time"` or `"context"`               |
    | `context_dim`   | int            | `4`          | context: size of the context vector                 |
    | `context_scale` | float          | `0.3`        | context: scale of the context's effect on the means |
    | `render_mode`   | str or None    | `None`       | `"rgb_array"` (bars) or `"ansi"` (a text line)      |

    With the defaults, the problem has 10 arms whose means are re-drawn from ``[0, 1]`` every 250
    pulls, Gaussian reward noise of std 0.2 and 1000 pulls per episode: four stationary segments
    per episode, each long enough for a tracking agent to find the new best arm.

    ``shared_noise=True`` adds the same noise value to every arm, so that two pulls of different
    arms from the same state differ by exactly their mean gap; by default each arm has its own
    noise value (same arm, same noise).

    ```python
    >>> import gymnasium as gym
    >>> import sb3_grpo.envs
    >>> env = gym.make("DynamicBandit-v0", drift="random_walk")
    >>> obs, info = env.reset(seed=0)
    >>> state = env.unwrapped.get_state()
    >>> _, r1, *_ = env.step(3)
    >>> env.unwrapped.set_state(state)
    >>> _, r2, *_ = env.step(3)
    >>> r1 == r2
    True

    ```

    ## Version History

    * v0: Initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}

    def __init__(
        self,
        n_arms: int | None = None,
        drift: str = "abrupt",
        change_period: int | None = None,
        change_prob: float | None = None,
        drift_std: float = 0.01,
        sin_period: float = 500.0,
        schedule_means: Sequence[Sequence[float]] | None = None,
        change_points: Sequence[int] | None = None,
        mean_range: tuple[float, float] = (0.0, 1.0),
        reward_noise: str = "gaussian",
        noise_std: float = 0.2,
        shared_noise: bool = False,
        max_steps: int = 1000,
        obs_mode: str = "constant",
        context_dim: int = 4,
        context_scale: float = 0.3,
        render_mode: str | None = None,
    ) -> None:
        """
        :param n_arms: number of arms (at least 2); ``None``: 10, or the width of ``schedule_means``.
        :param drift: how the means change: ``"abrupt"``, ``"random_walk"`` or ``"sinusoidal"``.
        :param change_period: abrupt drift: steps between change points (250 when neither this nor
            ``change_prob`` is given).
        :param change_prob: abrupt drift: probability of a change point after each step (hazard rate),
            instead of a fixed period.
        :param drift_std: random-walk drift: std of the Gaussian step of each mean per pull.
        :param sin_period: sinusoidal drift: period of every arm's sine, in steps.
        :param schedule_means: schedule drift: the mean vector of each segment, shape
            ``(n_segments, n_arms)``, every mean inside ``mean_range``.
        :param change_points: schedule drift: the ``n_segments - 1`` steps at which segments 2, 3, ...
            start, strictly increasing, in ``(0, max_steps)``.
        :param mean_range: ``(low, high)``, the interval that holds every arm mean.
        :param reward_noise: ``"gaussian"`` (mean plus ``N(0, noise_std^2)``) or ``"bernoulli"``.
        :param noise_std: std of the Gaussian reward noise; ignored for Bernoulli rewards.
        :param shared_noise: draw one noise value per step for all arms (perfectly correlated arms)
            instead of one independent value per arm.
        :param max_steps: number of pulls after which the episode is truncated.
        :param obs_mode: ``"constant"`` (pure bandit), ``"time"`` (normalized step) or ``"context"``
            (contextual bandit).
        :param context_dim: context mode: size of the context vector.
        :param context_scale: context mode: scale of the linear effect of the context on the means.
        :param render_mode: ``None``, ``"rgb_array"`` or ``"ansi"``.
        """
        _check_choice("drift", drift, DRIFT_KINDS)
        schedule = _check_schedule(drift, schedule_means, change_points, max_steps)
        if n_arms is None:
            n_arms = 10 if schedule is None else schedule.shape[1]
        _check_int("n_arms", n_arms, minimum=2, hint="use at least 2 arms")
        if schedule is not None and schedule.shape[1] != n_arms:
            raise ValueError(
                f"schedule_means has {schedule.shape[1]} arms per segment but n_arms={n_arms}: leave n_arms "
                "unset (it is read from the schedule) or give mean vectors of length n_arms"
            )
        _check_choice("reward_noise", reward_noise, NOISE_KINDS)
        _check_choice("obs_mode", obs_mode, OBS_MODES)
        _check_int("max_steps", max_steps, minimum=1, hint="use a positive episode length")
        _check_int("context_dim", context_dim, minimum=1, hint="use a positive context size")
        _check_nonnegative("drift_std", drift_std)
        _check_nonnegative("noise_std", noise_std)
        _check_nonnegative("context_scale", context_scale)
        if not (isinstance(sin_period, (int, float)) and math.isfinite(sin_period) and sin_period > 0):
            raise ValueError(f"sin_period must be a positive number of steps, got {sin_period!r}")
        if change_period is not None and change_prob is not None:
            raise ValueError(
                "change_period and change_prob are exclusive: give change_period for change points at "
                "a fixed period, or change_prob for random change points, not both"
            )
        if change_period is not None:
            _check_int("change_period", change_period, minimum=1, hint="use a positive number of steps")
        if change_prob is not None and not (
            isinstance(change_prob, (int, float)) and 0.0 <= change_prob <= 1.0
        ):
            raise ValueError(f"change_prob must be a probability in [0, 1], got {change_prob!r}")
        try:
            low, high = (float(v) for v in mean_range)
        except (TypeError, ValueError):
            raise ValueError(
                f"mean_range must be a pair (low, high) of numbers, got {mean_range!r}"
            ) from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"mean_range must be finite with low < high, got {mean_range!r}")
        if schedule is not None and (schedule.min() < low or schedule.max() > high):
            raise ValueError(
                f"schedule_means must lie inside mean_range={mean_range!r}, got values in "
                f"[{schedule.min()}, {schedule.max()}]: widen mean_range or change the schedule"
            )
        if reward_noise == "bernoulli" and (low < 0.0 or high > 1.0):
            raise ValueError(
                f"reward_noise='bernoulli' needs means in [0, 1], but mean_range={mean_range!r}: "
                "set mean_range inside (0.0, 1.0) or use reward_noise='gaussian'"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )

        self.n_arms = int(n_arms)
        self.drift = drift
        self.change_prob = None if change_prob is None else float(change_prob)
        self.change_period = (
            int(change_period) if change_period is not None else (250 if change_prob is None else None)
        )
        self.drift_std = float(drift_std)
        self.sin_period = float(sin_period)
        self.schedule_means = schedule
        self.change_points = None if change_points is None else tuple(int(c) for c in change_points)
        self.mean_range = (low, high)
        self.reward_noise = reward_noise
        self.noise_std = float(noise_std)
        self.shared_noise = bool(shared_noise)
        self.max_steps = int(max_steps)
        self.obs_mode = obs_mode
        self.context_dim = int(context_dim)
        self.context_scale = float(context_scale)
        self.render_mode = render_mode

        self.action_space = spaces.Discrete(self.n_arms)
        if obs_mode == "context":
            self.observation_space = spaces.Box(-1.0, 1.0, shape=(self.context_dim,), dtype=np.float32)
        else:
            self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)

        # Dynamic state; everything here is in get_state()/set_state().
        self._t = 0
        self._base_means: FloatArray | None = None  # drifting means before the context shift
        self._phases: FloatArray | None = None  # sinusoidal drift
        self._weights: FloatArray | None = None  # context mode: (n_arms, context_dim)
        self._context: FloatArray | None = None  # context mode: current context
        self._changed = False  # whether the last _advance() was an abrupt change (info["change_point"])
        # The last pull, for rendering.
        self._last_action: int | None = None
        self._last_reward: float | None = None
        self._last_regret: float | None = None
        self._last_means: FloatArray | None = None

    # ------------------------------------------------------------------ dynamics

    def arm_means(self) -> FloatArray:
        """
        The means in force for the next pull (context shift included), as a new array.

        :return: array of shape ``(n_arms,)``.
        """
        if self._base_means is None:
            raise RuntimeError("DynamicBandit: call reset() before reading the arm means")
        low, high = self.mean_range
        if self.drift == "sinusoidal":
            assert self._phases is not None
            centre, half = (low + high) / 2.0, (high - low) / 2.0
            means = centre + half * np.sin(2.0 * np.pi * self._t / self.sin_period + self._phases)
        else:
            means = self._base_means.copy()
        if self.obs_mode == "context":
            assert self._weights is not None and self._context is not None
            means = np.clip(means + self._weights @ self._context, low, high)
        return means

    def _draw_context(self) -> None:
        if self.obs_mode == "context":
            self._context = self.np_random.uniform(-1.0, 1.0, size=self.context_dim)

    def _scheduled_means(self) -> FloatArray:
        """Schedule drift: the means of segment ``i`` = number of change points ``<= t``."""
        assert self.schedule_means is not None and self.change_points is not None
        return self.schedule_means[int(np.searchsorted(self.change_points, self._t, side="right"))].copy()

    def _advance(self) -> None:
        """Move time on by one step and draw the drift (after the reward noise, whatever the arm)."""
        assert self._base_means is not None
        self._t += 1
        self._changed = False
        low, high = self.mean_range
        if self.drift == "schedule":
            assert self.change_points is not None
            self._changed = self._t in self.change_points
            self._base_means = self._scheduled_means()
        if self.drift == "random_walk":
            moved = self._base_means + self.np_random.normal(0.0, self.drift_std, size=self.n_arms)
            self._base_means = _reflect(moved, low, high)
        elif self.drift == "abrupt":
            if self.change_prob is not None:
                change = bool(self.np_random.random() < self.change_prob)
            else:
                assert self.change_period is not None
                change = self._t % self.change_period == 0
            if change:
                self._base_means = self.np_random.uniform(low, high, size=self.n_arms)
                self._changed = True
        self._draw_context()

    def _get_obs(self) -> ObsType:
        if self.obs_mode == "context":
            assert self._context is not None
            return self._context.astype(np.float32)
        if self.obs_mode == "time":
            return np.array([min(self._t / self.max_steps, 1.0)], dtype=np.float32)
        return np.ones(1, dtype=np.float32)

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        """
        Draw new arm means (and, in context mode, new context weights and a context).

        :param seed: seed of the env's random generator.
        :param options: unused.
        :return: the first observation and ``{"arm_means", "optimal_arm"}``.
        """
        super().reset(seed=seed)
        low, high = self.mean_range
        self._t = 0
        self._changed = False
        if self.drift == "schedule":
            self._base_means = self._scheduled_means()
        else:
            self._base_means = self.np_random.uniform(low, high, size=self.n_arms)
        self._phases = (
            self.np_random.uniform(0.0, 2.0 * np.pi, size=self.n_arms) if self.drift == "sinusoidal" else None
        )
        if self.obs_mode == "context":
            scale = self.context_scale / math.sqrt(self.context_dim)
            self._weights = self.np_random.normal(0.0, scale, size=(self.n_arms, self.context_dim))
        else:
            self._weights = None
        self._draw_context()
        self._last_action = self._last_reward = self._last_regret = None
        self._last_means = None
        means = self.arm_means()
        return self._get_obs(), {"arm_means": means, "optimal_arm": int(np.argmax(means))}

    def step(self, action: int | np.integer[Any]) -> tuple[ObsType, float, bool, bool, dict[str, Any]]:
        """
        Pull arm ``action``.

        :param action: the arm, in ``{0, ..., n_arms - 1}``.
        :return: ``(obs, reward, terminated, truncated, info)`` with ``info`` holding ``arm_means``,
            ``optimal_arm`` and ``regret`` of this pull, and ``change_point``.
        """
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an int in [0, {self.n_arms - 1}], got {action!r}")
        arm = int(action)
        means = self.arm_means()
        # Common random numbers: the noise of every arm is drawn, whichever arm is pulled.
        size = 1 if self.shared_noise else self.n_arms
        if self.reward_noise == "gaussian":
            noise = self.np_random.normal(0.0, self.noise_std, size=size)
            reward = float(means[arm] + noise[0 if self.shared_noise else arm])
        else:
            uniform = self.np_random.random(size=size)
            reward = float(uniform[0 if self.shared_noise else arm] < means[arm])
        optimal_arm = int(np.argmax(means))
        regret = float(means[optimal_arm] - means[arm])
        self._last_action, self._last_reward, self._last_regret = arm, reward, regret
        self._last_means = means
        self._advance()
        truncated = self._t >= self.max_steps
        info = {
            "arm_means": means.copy(),
            "optimal_arm": optimal_arm,
            "regret": regret,
            "change_point": self._changed,
        }
        return self._get_obs(), reward, False, truncated, info

    def render(self) -> npt.NDArray[np.uint8] | str | None:
        """
        Render the bandit.

        ``"rgb_array"``: an ``(H, W, 3)`` ``uint8`` frame with one bar per arm (height = mean in force
        at the last pull), the pulled arm in red, the best arm in green, the reward as a black tick on
        the pulled bar and the episode's progress as a blue strip at the bottom.
        ``"ansi"``: one text line describing the last pull.

        :return: the frame, the text line, or ``None`` without a render mode.
        """
        if self.render_mode == "ansi":
            return self._render_ansi()
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        return None

    def _render_ansi(self) -> str:
        if self._base_means is None:
            return "DynamicBandit: not reset"
        if self._last_means is None:
            means = self.arm_means()
            return f"t={self._t:5d} best={int(np.argmax(means))} means={np.array2string(means, precision=2)}"
        return (
            f"t={self._t:5d} arm={self._last_action} reward={self._last_reward:+.3f} "
            f"regret={self._last_regret:.3f} best={int(np.argmax(self._last_means))} "
            f"means={np.array2string(self._last_means, precision=2)}"
        )

    def _render_rgb(self) -> npt.NDArray[np.uint8]:
        height, width = 240, max(400, 8 * self.n_arms)
        frame = np.empty((height, width, 3), dtype=np.uint8)
        frame[:] = _BACKGROUND
        if self._base_means is None:
            return frame
        means = self._last_means if self._last_means is not None else self.arm_means()
        low, high = self.mean_range
        top, bottom = 10, height - 30  # plotting area rows
        slot = width / self.n_arms
        pad = max(1, int(slot * 0.15))

        def row(value: float) -> int:
            frac = (min(max(value, low), high) - low) / (high - low)
            return round(bottom - frac * (bottom - top))

        best = int(np.argmax(means))
        for k in range(self.n_arms):
            left, right = int(k * slot) + pad, max(int((k + 1) * slot) - pad, int(k * slot) + pad + 1)
            colour = _PULLED if k == self._last_action else (_OPTIMAL if k == best else _BAR)
            frame[row(float(means[k])) : bottom, left:right] = colour
            if k == best and k == self._last_action:  # pulled the best arm: green cap on the red bar
                cap = row(float(means[k]))
                frame[cap : min(cap + 4, bottom), left:right] = _OPTIMAL
        if self._last_action is not None and self._last_reward is not None:
            k = self._last_action
            left, right = int(k * slot), int((k + 1) * slot)
            r = row(self._last_reward)
            frame[max(r - 1, top) : min(r + 2, bottom + 1), left:right] = _REWARD
        frame[bottom : bottom + 2, :] = _AXIS
        progress = round(width * min(self._t / self.max_steps, 1.0))
        frame[height - 12 : height - 4, :progress] = _PROGRESS
        return frame

    # ------------------------------------------------------------------ cloning

    def get_state(self) -> dict[str, Any]:
        """
        Snapshot of everything that determines the future: means, step, context, RNG state.

        The snapshot is a plain picklable ``dict`` of copies (the env can be stepped on without
        changing it) and can be restored any number of times with :meth:`set_state`.

        :return: the state.
        """
        if self._base_means is None:
            raise RuntimeError("DynamicBandit: call reset() before get_state()")
        return {
            "version": STATE_VERSION,
            "n_arms": self.n_arms,
            "drift": self.drift,
            "obs_mode": self.obs_mode,
            "context_dim": self.context_dim,
            "t": self._t,
            "changed": self._changed,
            "base_means": self._base_means.copy(),
            "phases": None if self._phases is None else self._phases.copy(),
            "weights": None if self._weights is None else self._weights.copy(),
            "context": None if self._context is None else self._context.copy(),
            "last_action": self._last_action,
            "last_reward": self._last_reward,
            "last_regret": self._last_regret,
            "last_means": None if self._last_means is None else self._last_means.copy(),
            "rng": self.np_random.bit_generator.state,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """
        Restore a snapshot taken by :meth:`get_state` (of this env or of one built with the same
        ``n_arms``, ``drift``, ``obs_mode`` and ``context_dim``).

        :param state: the snapshot; it is not modified and can be restored again.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be the dict returned by get_state(), got {type(state).__name__}")
        missing = sorted(set(_STATE_KEYS) - set(state))
        if missing:
            raise ValueError(f"state is missing keys {missing}: pass a dict returned by get_state()")
        if state["version"] != STATE_VERSION:
            raise ValueError(
                f"state has version {state['version']!r}, this env reads version {STATE_VERSION}"
            )
        for name in ("n_arms", "drift", "obs_mode", "context_dim"):
            if state[name] != getattr(self, name):
                raise ValueError(
                    f"state mismatch: the state is of a bandit with {name}={state[name]!r}, this env has "
                    f"{name}={getattr(self, name)!r}; restore it into an env built with the same {name}"
                )
        shapes = {
            "base_means": (self.n_arms,),
            "phases": (self.n_arms,) if self.drift == "sinusoidal" else None,
            "weights": (self.n_arms, self.context_dim) if self.obs_mode == "context" else None,
            "context": (self.context_dim,) if self.obs_mode == "context" else None,
        }
        for name, shape in shapes.items():
            value = state[name]
            got = None if value is None else np.shape(value)
            if got != shape:
                raise ValueError(f"state[{name!r}] has shape {got}, expected {shape}")
        t = state["t"]
        if not isinstance(t, (int, np.integer)) or isinstance(t, bool) or t < 0:
            raise ValueError(f"state['t'] must be a non-negative int, got {t!r}")
        generator = self.np_random.bit_generator
        rng_state = state["rng"]
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != type(generator).__name__:
            raise ValueError(
                "state['rng'] must be the bit_generator.state of a "
                f"{type(generator).__name__} generator, got {rng_state!r:.80}"
            )
        generator.state = rng_state
        self._t = int(t)
        self._changed = bool(state["changed"])
        self._base_means = np.array(state["base_means"], dtype=np.float64)
        self._phases = _copy_or_none(state["phases"])
        self._weights = _copy_or_none(state["weights"])
        self._context = _copy_or_none(state["context"])
        self._last_action = state["last_action"]
        self._last_reward = state["last_reward"]
        self._last_regret = state["last_regret"]
        self._last_means = _copy_or_none(state["last_means"])


_STATE_KEYS = (
    "version",
    "n_arms",
    "drift",
    "obs_mode",
    "context_dim",
    "t",
    "changed",
    "base_means",
    "phases",
    "weights",
    "context",
    "last_action",
    "last_reward",
    "last_regret",
    "last_means",
    "rng",
)


#: The piecewise-stationary Bernoulli problem of Besson, Kaufmann, Maillard & Seznec (JMLR 2022) and of
#: SMPyBandits' non-stationary benchmark: 3 arms, 5000 pulls, the means switch at 1000, 2000, 3000, 4000.
#: ``gym.make("DynamicBanditBesson2022-v0")`` builds it.
BESSON_2022_PROBLEM: dict[str, Any] = {
    "drift": "schedule",
    "reward_noise": "bernoulli",
    "schedule_means": [
        [0.3, 0.5, 0.9],
        [0.3, 0.2, 0.9],
        [0.3, 0.2, 0.1],
        [0.7, 0.2, 0.1],
        [0.7, 0.5, 0.1],
    ],
    "change_points": [1000, 2000, 3000, 4000],
    "max_steps": 5000,
}


def _check_schedule(
    drift: str,
    schedule_means: Sequence[Sequence[float]] | None,
    change_points: Sequence[int] | None,
    max_steps: Any,
) -> FloatArray | None:
    """Validate the schedule arguments; return the means as an ``(n_segments, n_arms)`` array."""
    if drift != "schedule":
        if schedule_means is not None or change_points is not None:
            raise ValueError(
                f"schedule_means and change_points are only read with drift='schedule', got drift={drift!r}: "
                "set drift='schedule' or drop them"
            )
        return None
    if schedule_means is None or change_points is None:
        raise ValueError(
            "drift='schedule' needs schedule_means (one mean vector per segment) and change_points "
            "(the steps where segments 2, 3, ... start), e.g. schedule_means=[[0.2, 0.8], [0.8, 0.2]], "
            "change_points=[500]"
        )
    try:
        means = np.array(schedule_means, dtype=np.float64)
        points = np.array(change_points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "schedule_means must be a list of equal-length mean vectors and change_points a list of ints"
        ) from None
    if means.ndim != 2 or len(means) < 1 or not np.all(np.isfinite(means)):
        raise ValueError(f"schedule_means must be a 2-D list of finite means, got shape {means.shape}")
    if points.ndim != 1 or len(points) != len(means) - 1:
        raise ValueError(
            f"change_points must hold one step per segment after the first: {len(means) - 1} for "
            f"{len(means)} mean vectors, got {len(points) if points.ndim == 1 else points.shape}"
        )
    if np.any(points != np.round(points)) or np.any(np.diff(points) <= 0) or (len(points) and points[0] <= 0):
        raise ValueError(
            f"change_points must be strictly increasing positive ints, got {list(change_points)}"
        )
    if isinstance(max_steps, (int, np.integer)) and len(points) and points[-1] >= max_steps:
        raise ValueError(
            f"change_points must be < max_steps={max_steps} (the last segment would never be seen), got "
            f"{list(change_points)}: raise max_steps or drop the late change points"
        )
    return means


def _copy_or_none(value: Any) -> FloatArray | None:
    return None if value is None else np.array(value, dtype=np.float64)


def _reflect(values: FloatArray, low: float, high: float) -> FloatArray:
    """Fold values back into ``[low, high]`` as a random walk with reflecting borders."""
    width = high - low
    folded = np.mod(values - low, 2.0 * width)
    return low + np.where(folded > width, 2.0 * width - folded, folded)


def _check_int(name: str, value: Any, minimum: int, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}: {hint}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_nonnegative(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value < math.inf):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}: use a non-negative std/scale")
