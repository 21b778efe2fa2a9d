"""Tests of sb3_grpo.cloning on single envs: adapters, fallback, wrappers, checker, bad input."""

from __future__ import annotations

import copy
import gc
import pickle
import subprocess
import sys
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.wrappers import RecordEpisodeStatistics, TimeLimit
from stable_baselines3.common.monitor import Monitor

from sb3_grpo.cloning import (
    AttributeAdapter,
    ChainState,
    CloneableEnv,
    CloneableWrapper,
    CloningError,
    check_cloneable,
    get_state,
    make_branch_copy,
    register_adapter,
    set_state,
)
from sb3_grpo.cloning.chain import cloner_for
from sb3_grpo.cloning.compare import first_difference
from sb3_grpo.cloning.rng import LazyGenerator

ROOT = Path(__file__).resolve().parents[1]

ADAPTER_ENVS = [
    ("CartPole-v1", {}),
    ("Acrobot-v1", {}),
    ("MountainCar-v0", {}),
    ("MountainCarContinuous-v0", {}),
    ("Pendulum-v1", {}),
    ("FrozenLake-v1", {"is_slippery": True}),
    ("FrozenLake-v1", {"is_slippery": False}),
    ("Taxi-v4", {"is_rainy": True, "fickle_passenger": True}),
    ("CliffWalking-v1", {"is_slippery": True}),
    ("Blackjack-v1", {}),
]
CLASSIC_CONTROL = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]


def rollout(env: gym.Env, actions: list[Any]) -> list[Any]:
    """Step through ``actions``, resetting (without seed) after each episode end."""
    records = []
    for action in actions:
        result = env.step(action)
        records.append(result)
        if result[2] or result[3]:
            records.append(env.reset())
    return records


def assert_same(first: list[Any], second: list[Any]) -> None:
    assert len(first) == len(second)
    for step, (a, b) in enumerate(zip(first, second, strict=False)):
        diff = first_difference(a, b)
        assert diff is None, f"step {step}: {diff}"


def replay_check(env: gym.Env, seed: int, n_steps: int = 200) -> int:
    """Save, roll out, restore, roll out again (twice: object and pickled state); return episode ends."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(seed * 3):  # start from different points in the episode
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    actions = [env.action_space.sample() for _ in range(n_steps)]
    state = get_state(env)
    reference = rollout(env, actions)
    set_state(env, state)
    assert_same(reference, rollout(env, actions))
    set_state(env, pickle.loads(pickle.dumps(state)))
    assert_same(reference, rollout(env, actions))
    return sum(1 for record in reference if len(record) == 2)


class StochasticEnv(gym.Env):
    """A random walk whose steps and rewards are random; optional native cloning methods."""

    def __init__(self, save_rng: bool = True) -> None:
        self.save_rng = save_rng
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(2,))
        self.position = np.zeros(2)
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = self.np_random.normal(size=2)
        self.steps = 0
        return self.position.copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position += self.np_random.normal(size=2) + (action - 1)  # mutated in place
        self.steps += 1
        reward = float(self.np_random.random())
        return self.position.copy(), reward, bool(abs(self.position[0]) > 6), False, {"steps": self.steps}


class NativeStochasticEnv(StochasticEnv):
    def get_state(self) -> Any:
        rng = self.np_random.bit_generator.state if self.save_rng else None
        return self.position.copy(), self.steps, rng

    def set_state(self, state: Any) -> None:
        position, self.steps, rng = state
        self.position = position.copy()
        if rng is not None:
            self.np_random.bit_generator.state = rng


class LockedEnv(StochasticEnv):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


class _Body:
    """Like a Box2D body: deep-copies without error into something unusable."""

    def __init__(self) -> None:
        self.alive = True

    def __deepcopy__(self, memo: dict) -> None:
        return None


class BrokenCopyEnv(StochasticEnv):
    def __init__(self) -> None:
        super().__init__()
        self.body: _Body | None = _Body()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        assert self.body is not None, "body lost"
        return super().step(action)


class GlobalRandomEnv(StochasticEnv):
    """Draws from numpy's global generator: no copy holds it, but GRPO can rewind it."""

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = super().step(action)
        return obs, float(np.random.random()), terminated, truncated, info  # noqa: NPY002


_SHARED_GENERATOR = np.random.default_rng(0)


class SharedGeneratorEnv(StochasticEnv):
    """Draws from a module-level generator: hidden state no copy captures."""

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = super().step(action)
        return obs, float(_SHARED_GENERATOR.random()), terminated, truncated, info


class CountingWrapper(gym.Wrapper):
    """An unknown wrapper with its own state: adds a running step count to the reward."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.count = 0

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.count += 1
        return obs, float(reward) + self.count, terminated, truncated, info


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("env_id,kwargs", ADAPTER_ENVS)
def test_adapter_replay(env_id: str, kwargs: dict, seed: int) -> None:
    env = gym.make(env_id, max_episode_steps=40, **kwargs)
    ends = replay_check(env, seed)
    assert ends >= 2
    report = check_cloneable(env, n_steps=60, seed=seed)
    assert report.ok, str(report)
    assert report.method == "adapter"


@pytest.mark.parametrize("env_id,kwargs", ADAPTER_ENVS)
def test_saved_state_does_not_change_as_the_env_moves_on(env_id: str, kwargs: dict) -> None:
    """States hold the env's values by reference (the classic-control state arrays, the frozen generator).

    Safe only while the envs replace those values rather than mutate them in place: a Gymnasium version
    that updated ``self.state`` in place would change the saved state too, and fail here.
    """
    env = gym.make(env_id, max_episode_steps=15, **kwargs)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(3):
        env.step(env.action_space.sample())
    state = get_state(env)
    saved = pickle.dumps(state)
    unwrapped_state = copy.deepcopy(getattr(env.unwrapped, "state", None))
    actions = [env.action_space.sample() for _ in range(60)]
    reference = rollout(env, actions)  # crosses episode ends: resets too
    assert pickle.dumps(state) == saved
    set_state(env, state)
    assert first_difference(getattr(env.unwrapped, "state", None), unwrapped_state) is None
    assert_same(reference, rollout(env, actions))


def _has_reset(env: gym.Env) -> bool:
    """The ``OrderEnforcing`` flag of a ``gym.make`` chain (``TimeLimit(OrderEnforcing(...))``)."""
    return bool(env.env._has_reset)  # type: ignore[attr-defined]


def test_restoring_a_state_from_before_the_first_reset() -> None:
    """The wrappers' one-way flags are saved and restored, in place and into copies."""
    env = gym.make("CartPole-v1")
    fresh = get_state(env)
    env.reset(seed=0)
    env.step(0)
    env.step(1)
    later = get_state(env)
    expected = env.step(0)
    branch = make_branch_copy(env)
    for target in (env, branch):
        set_state(target, fresh)
        assert not _has_reset(target)
        with pytest.raises(ResetNeeded):
            target.step(0)
        set_state(target, later)
        assert _has_reset(target)
        assert first_difference(expected[:4], target.step(0)[:4]) is None


def test_inner_and_outer_chains_share_their_wrappers() -> None:
    """Cloners of ``env`` and of ``env.env`` save the same wrappers: what one restores, the other sees."""
    env = gym.make("CartPole-v1")
    inner = env.env
    early = get_state(inner)
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    set_state(inner, early)  # _has_reset back to False, through the inner chain's cloner
    unsettled = get_state(env)
    env.reset(seed=1)
    env.step(0)
    set_state(env, unsettled)
    with pytest.raises(ResetNeeded):
        env.step(0)


def test_states_are_opaque_and_checked() -> None:
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.step(0)
    state = get_state(env)
    assert isinstance(state, ChainState)
    assert state.key[1:] == ("TimeLimit", "OrderEnforcing", "CartPoleEnv[adapter]")  # PassiveEnvChecker: none
    assert pickle.loads(pickle.dumps(state)).key == state.key
    assert get_state(make_branch_copy(env)).key == state.key
    for bad in [None, (), (1, 2, 3), {"not": "a state"}, np.zeros(3)]:
        with pytest.raises(CloningError, match="get_state"):
            set_state(env, bad)
    set_state(env, state)


def test_no_env_carries_a_cloner() -> None:
    """Bug 1 of issue 13 came from a cloner cached on the outermost wrapper and deep-copied onto branch
    copies: saving and restoring add nothing to any layer, and the cache does not keep envs alive."""
    env = Monitor(gym.make("CartPole-v1"))
    env.reset(seed=0)
    before = [set(vars(layer)) for layer in _layers(env)]
    branch = make_branch_copy(env)
    set_state(branch, get_state(env))
    assert [set(vars(layer)) for layer in _layers(env)] == before
    reference = weakref.ref(branch)
    del branch
    gc.collect()
    assert reference() is None


def test_shallow_copy_gets_its_own_cloner() -> None:
    env = gym.make("CartPole-v1", max_episode_steps=50)
    env.reset(seed=0)
    get_state(env)
    twin = copy.copy(env)  # its own TimeLimit counter; shares the inner layers
    state = get_state(twin)
    for _ in range(3):
        twin.step(0)
    set_state(twin, state)
    assert twin._elapsed_steps == 0
    assert cloner_for(twin) is not cloner_for(env)


@pytest.mark.parametrize("env_id", CLASSIC_CONTROL)
def test_lazy_generator_with_draws_outside_reset(env_id: str) -> None:
    """Draws through ``env.unwrapped.np_random`` between saves and restores replay exactly."""
    env = gym.make(env_id)
    env.reset(seed=3)
    state = get_state(env)
    first = [env.unwrapped.np_random.random() for _ in range(3)]
    for _ in range(2):
        set_state(env, state)
        set_state(env, get_state(env))
        assert [env.unwrapped.np_random.random() for _ in range(3)] == first
        current = env.unwrapped.__dict__["_np_random"]
        assert type(current) is not LazyGenerator or current._live is None


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_lazy_rng_survives_branching(env_id: str) -> None:
    """The classic-control generator is snapshotted lazily; resets after restores must still replay."""
    env = gym.make(env_id)
    env.reset(seed=5)
    state = get_state(env)
    first = [env.reset()[0] for _ in range(3)]
    set_state(env, state)
    copy_env = make_branch_copy(env)
    set_state(copy_env, state)
    assert_same(first, [copy_env.reset()[0] for _ in range(3)])
    assert_same(first, [env.reset()[0] for _ in range(3)])
    set_state(env, state)
    assert_same(first, [env.reset()[0] for _ in range(3)])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("env_class", [NativeStochasticEnv, StochasticEnv])
def test_custom_stochastic_env(env_class: type, seed: int) -> None:
    env = TimeLimit(env_class(), max_episode_steps=25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ends = replay_check(env, seed)
        report = check_cloneable(env, n_steps=200, seed=seed)
    assert ends >= 2
    assert report.ok, str(report)
    assert report.method == ("native" if env_class is NativeStochasticEnv else "deepcopy fallback")


@pytest.mark.parametrize(
    "env_id", ["DynamicBandit-v0", "DynamicBanditRandomWalk-v0", "DynamicBanditSinusoidal-v0"]
)
def test_shipped_bandit_uses_native_methods(env_id: str) -> None:
    pytest.importorskip("sb3_grpo.envs.dynamic_bandit")
    env = Monitor(gym.make(f"sb3_grpo.envs:{env_id}"))
    report = check_cloneable(env, n_steps=200, seed=1)
    assert report.ok, str(report)
    assert report.method == "native"


def test_fallback_warns_once() -> None:
    class FreshEnv(StochasticEnv):
        pass

    env = FreshEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="deepcopy"):
        get_state(env)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_state(FreshEnv())


def test_native_methods_win_over_adapters() -> None:
    class NativeCartPole(gym.envs.classic_control.CartPoleEnv):
        calls = 0

        def get_state(self) -> Any:
            NativeCartPole.calls += 1
            return self.state, self.np_random.bit_generator.state

        def set_state(self, state: Any) -> None:
            self.state, self.np_random.bit_generator.state = state

    env = NativeCartPole()
    report = check_cloneable(env, n_steps=50)
    assert report.ok and report.method == "native"
    assert NativeCartPole.calls > 0


def test_registered_adapter() -> None:
    class Counter(gym.Env):
        action_space = spaces.Discrete(2)
        observation_space = spaces.Discrete(1000)

        def __init__(self) -> None:
            self.value = 0
            self.lock = threading.Lock()  # not deep-copyable: only the adapter can clone it

        def __deepcopy__(self, memo: dict) -> Counter:
            # GRPO's branch copies are deep copies: the env says how to copy itself (a fresh lock)
            twin = Counter()
            twin.value, twin._np_random = self.value, copy.deepcopy(self._np_random, memo)
            return twin

        def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
            super().reset(seed=seed)
            self.value = int(self.np_random.integers(10))
            return self.value, {}

        def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
            self.value += int(action) + int(self.np_random.integers(2))
            return self.value, 1.0, self.value > 50, False, {}

    with pytest.raises(CloningError):
        get_state(Counter())
    register_adapter(Counter, AttributeAdapter(("value",), rng="eager"))
    report = check_cloneable(Counter(), n_steps=200)
    assert report.ok, str(report)
    assert report.n_episode_ends >= 2


@pytest.mark.parametrize("stats_wrapper", [Monitor, RecordEpisodeStatistics])
def test_statistics_wrappers_are_not_part_of_a_state(stats_wrapper: type) -> None:
    """A state of a Monitor-wrapped env fits the same chain without it; in place, statistics are left as
    they are, with a warning (GRPO restores only branch copies, which have no statistics wrappers)."""
    env = stats_wrapper(gym.make("CartPole-v1", max_episode_steps=30))
    bare = gym.make("CartPole-v1", max_episode_steps=30)
    env.reset(seed=3)
    bare.reset(seed=4)
    state = get_state(env)
    assert [label for label in state.key if stats_wrapper.__name__ in label] == []
    set_state(bare, state)
    expected = env.step(1)
    assert first_difference(expected[:4], bare.step(1)[:4]) is None
    terminated = truncated = False
    while not (terminated or truncated):  # one episode end, counted by the statistics wrapper
        _, _, terminated, truncated, _ = env.step(1)
    env.reset()
    count = len(env.get_episode_rewards()) if stats_wrapper is Monitor else env.episode_count
    with pytest.warns(UserWarning, match="statistics wrappers"):
        set_state(env, state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        set_state(env, state)  # warned once
    assert count == (len(env.get_episode_rewards()) if stats_wrapper is Monitor else env.episode_count) == 1
    assert first_difference(expected[:4], env.step(1)[:4]) is None


def test_branch_copy_matches_real_env(tmp_path: Path) -> None:
    """A branch copy restored from the real env's state steps exactly like it: TimeLimit and RNG included."""
    real = Monitor(gym.make("FrozenLake-v1", is_slippery=True, max_episode_steps=6), str(tmp_path / "log"))
    real.reset(seed=1)
    branch = make_branch_copy(real)
    assert not any(isinstance(layer, Monitor) for layer in _layers(branch))
    rng = np.random.default_rng(1)
    for _ in range(60):
        state = get_state(real)
        action = int(rng.integers(4))
        for _ in range(3):  # the copy is stepped to episode ends and beyond the real env's horizon
            set_state(branch, state)
            expected = branch.step(action)
            for extra in rng.integers(0, 4, 8):
                if branch.step(int(extra))[2:4] != (False, False):
                    branch.reset()
        result = real.step(action)
        assert first_difference(expected[:4], result[:4]) is None
        if result[2] or result[3]:
            real.reset()
    lines = (tmp_path / "log.monitor.csv").read_text().splitlines()
    assert len(lines) == 2 + len(real.get_episode_rewards())  # only the real episodes were written


def _layers(env: gym.Env) -> list[gym.Env]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


def test_unknown_stateful_wrapper_is_saved() -> None:
    env = CountingWrapper(gym.make("CartPole-v1", max_episode_steps=20))
    assert replay_check(env, seed=0) >= 2


def test_cloneable_wrapper_protocol() -> None:
    env = CloneableWrapper(Monitor(gym.make("CartPole-v1")))
    env.reset(seed=0)
    assert isinstance(env, CloneableEnv)
    assert isinstance(NativeStochasticEnv(), CloneableEnv)
    assert not isinstance(gym.make("CartPole-v1"), CloneableEnv)
    state = env.get_state()
    first = env.step(1)
    env.set_state(state)
    assert first_difference(first[:4], env.step(1)[:4]) is None


# --- bad input -------------------------------------------------------------------------------------


def test_uncloneable_env_error() -> None:
    env = LockedEnv()
    env.reset(seed=0)
    with pytest.raises(CloningError, match="LockedEnv") as info:
        get_state(env)
    message = str(info.value)
    assert "get_state()" in message and "deep-copyable" in message
    assert issubclass(CloningError, ValueError)
    report = check_cloneable(LockedEnv())
    assert not report.ok and "LockedEnv" in str(report)
    with pytest.raises(CloningError):
        check_cloneable(LockedEnv(), raise_error=True)


def test_broken_deepcopy_is_refused() -> None:
    env = BrokenCopyEnv()
    env.reset(seed=0)
    with pytest.raises(CloningError, match="fails to step"):
        get_state(env)


def test_state_from_another_env() -> None:
    cartpole, frozen = gym.make("CartPole-v1"), gym.make("FrozenLake-v1")
    cartpole.reset(seed=0)
    frozen.reset(seed=0)
    with pytest.raises(CloningError, match="CartPole-v1"):
        set_state(frozen, get_state(cartpole))
    with pytest.raises(CloningError, match="get_state"):
        set_state(cartpole, {"not": "a state"})
    other_wrappers = TimeLimit(CountingWrapper(gym.make("CartPole-v1").unwrapped), 10)
    other_wrappers.reset(seed=0)
    with pytest.raises(CloningError, match="wrappers"):
        set_state(other_wrappers, get_state(cartpole))


def test_hidden_state_is_reported() -> None:
    """Native methods that forget the generator: the checker must report the divergence, not pass."""
    env = TimeLimit(NativeStochasticEnv(save_rng=False), 50)
    report = check_cloneable(env, n_steps=50)
    assert not report.ok
    assert report.divergence is not None and report.divergence.step == 0
    assert report.divergence.field in ("obs", "reward")
    assert "np_random" in report.recommendation
    assert "divergence: step 0" in str(report)
    with pytest.raises(CloningError, match="divergence"):
        check_cloneable(env, n_steps=50, raise_error=True)


def test_shared_generator_env_is_refused_by_fallback() -> None:
    env = SharedGeneratorEnv()
    env.reset(seed=0)
    with pytest.raises(CloningError, match=r"diverge .*module-level np\.random\.default_rng"):
        get_state(env)


def test_global_generator_env_is_flagged_by_fallback() -> None:
    # its copies replay when np.random is rewound (GRPO does it, see tests/test_clone_check.py)
    env = GlobalRandomEnv()
    env.reset(seed=0)
    state = get_state(env)
    assert cloner_for(env).draws_from_global_generators
    assert not cloner_for(StochasticEnv()).draws_from_global_generators
    before = np.random.get_state()  # noqa: NPY002
    expected = [env.step(1)[1] for _ in range(5)]
    np.random.set_state(before)  # noqa: NPY002
    set_state(env, state)
    assert [env.step(1)[1] for _ in range(5)] == expected


def test_unpicklable_state_is_flagged() -> None:
    class LambdaStateEnv(NativeStochasticEnv):
        def get_state(self) -> Any:
            state = super().get_state()
            return state, lambda: None

        def set_state(self, state: Any) -> None:
            super().set_state(state[0])

    report = check_cloneable(LambdaStateEnv(), n_steps=20)
    assert report.ok and not report.picklable
    assert "pickle" in report.recommendation


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5", "Ant-v5"])
def test_mujoco_adapter(env_id: str) -> None:
    pytest.importorskip("mujoco")
    env = gym.make(env_id, max_episode_steps=30)
    assert replay_check(env, seed=0, n_steps=80) >= 2
    report = check_cloneable(env, n_steps=40)
    assert report.ok, str(report)
    assert report.method == "adapter"


def test_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "custom_cloneable_env.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "native" in result.stdout


def test_deepcopy_of_cloned_env_is_independent() -> None:
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    state = get_state(env)
    twin = copy.deepcopy(env)
    set_state(twin, state)
    assert first_difference(env.step(0)[:4], twin.step(0)[:4]) is None


def test_box2d_env_is_refused_with_the_ways_out() -> None:
    # Box2D bodies do not survive a deep copy: the fallback must refuse, not return a broken copy.
    pytest.importorskip("Box2D")
    env = gym.make("LunarLander-v3")
    env.reset(seed=0)
    with pytest.raises(CloningError, match=r"get_state\(\).*deep-copyable"):
        get_state(env)
