"""Group rollouts on private env copies: the branches of GRPO's groups.

The real sub-envs of the training VecEnv only ever follow the agent's own trajectory, so their
``Monitor`` statistics, ``VecNormalize`` running statistics and episode counters never see a branch
step. Each sub-env ``i`` gets ``G`` private copies (``VecEnvCloner.make_branch_envs``); a group is run
by restoring the sub-env's saved state on its copies and stepping all ``n_envs * G`` copies as one
batch, with one policy forward pass per step for all of them.

Observations and rewards of the copies are raw (they live below the VecEnv wrappers); the
:class:`VecTransforms` applies what the VecEnv wrappers apply (``VecNormalize``, ``VecTransposeImage``,
``VecFrameStack`` with a frame history per copy), so that the policy sees branch observations exactly as it sees the real ones and scores are on the
same scale as the real rewards. Branches of state mode leave ``VecNormalize``'s running statistics
alone (the real env updates them); the episodes of episode mode *are* the agent's episodes, so they
update them as ``VecNormalize.step_wait`` would (when its ``training`` flag is set).
"""

from __future__ import annotations

import copy
import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecCheckNan,
    VecEnv,
    VecEnvWrapper,
    VecExtractDictObs,
    VecFrameStack,
    VecMonitor,
    VecNormalize,
    VecTransposeImage,
    VecVideoRecorder,
)
from stable_baselines3.common.vec_env.stacked_observations import StackedObservations

from sb3_grpo.cloning import CloningError, get_state, set_state
from sb3_grpo.cloning.adapters import env_name
from sb3_grpo.cloning.compare import first_difference
from sb3_grpo.cloning.remote import (
    WorkerBranches,
    record_monitor_episodes,
    record_worker_episodes,
    step_copies,
)
from sb3_grpo.cloning.rng import global_generators_rewound
from sb3_grpo.grpo.buffers import GroupEpisodes

NumpyObs = np.ndarray | dict[str, np.ndarray]
# sample(obs batch) -> (actions for env.step, actions as sampled, log-probs)
Sampler = Callable[[NumpyObs], tuple[np.ndarray, np.ndarray, np.ndarray]]
# continue(obs batch, group of each row) -> actions for env.step; rows of one group may share their random
# numbers (see common_noise.py)
ContinuationSampler = Callable[[NumpyObs, np.ndarray], np.ndarray]

# VecEnv wrappers that change neither observations nor rewards.
_TRANSPARENT_WRAPPERS = (VecMonitor, VecCheckNan, VecVideoRecorder)


class VecTransforms:
    """
    The observation and reward transforms of a VecEnv's wrapper chain, applied to raw branch data.

    :param venv: The training VecEnv (possibly wrapped)
    :raises ValueError: if a wrapper is unknown (it may keep state that branches cannot reproduce)
    """

    def __init__(self, venv: VecEnv) -> None:
        chain: list[VecEnvWrapper] = []
        env: VecEnv = venv
        while isinstance(env, VecEnvWrapper):
            chain.append(env)
            env = env.venv
        self.wrappers = list(reversed(chain))  # innermost first, the order in which they apply
        for wrapper in self.wrappers:
            if not isinstance(
                wrapper,
                (VecNormalize, VecTransposeImage, VecExtractDictObs, VecFrameStack, *_TRANSPARENT_WRAPPERS),
            ):
                raise ValueError(
                    f"GRPO cannot reproduce {type(wrapper).__name__} on its branch copies: it may hold state "
                    "that the copies do not have. Use the equivalent gymnasium wrapper inside each env instead."
                )
        # VecFrameStack's frame history of each copy: the leaf stacks (one per key of a Dict space), one row
        # per copy, as the wrapper's own (see start_groups / start_episodes)
        self._frame_stacks: dict[int, dict[str | None, StackedObservations]] = {}

        # Discounted running return of each copy, one array per wrapper (VecNormalize's reward
        # statistics are of these returns).
        self._returns: list[np.ndarray] = []

    def real_raw(self, obs: NumpyObs, rewards: np.ndarray) -> tuple[NumpyObs | None, bool, np.ndarray]:
        """
        The real env's last step as its sub-envs returned it, where the wrappers let it be recovered.

        :param obs: The observations ``VecEnv.step`` returned
        :param rewards: The rewards it returned
        :return: raw observations (None when a wrapper changed them beyond recovery), whether the
            infos' ``terminal_observation`` entries are raw, and raw rewards
        """
        changing = [wrapper for wrapper in self.wrappers if not isinstance(wrapper, _TRANSPARENT_WRAPPERS)]
        normalizers = [wrapper for wrapper in changing if isinstance(wrapper, VecNormalize)]
        if normalizers:
            rewards = normalizers[0].get_original_reward()
        if not changing:
            return obs, True, rewards
        if len(changing) == 1 and normalizers:
            return normalizers[0].get_original_obs(), False, rewards
        return None, False, rewards

    def start_groups(self, group_size: int) -> None:
        """
        State mode, before a group's branches: each copy of sub-env ``i`` starts from sub-env ``i``'s
        frame history (``VecFrameStack``), as the agent's observation does.

        :param group_size: G, the copies of each sub-env
        """
        for i, wrapper in enumerate(self.wrappers):
            if isinstance(wrapper, VecFrameStack):
                self._frame_stacks[i] = _leaf_stacks(copy.deepcopy(wrapper.stacked_obs))
                for stack in self._frame_stacks[i].values():
                    stack.stacked_obs = np.repeat(stack.stacked_obs, group_size, axis=0)

    def start_episodes(self, n_copies: int) -> None:
        """
        Start ``n_copies`` new episodes: zero running returns (see ``update_copies`` in :meth:`rewards`)
        and empty frame histories (``VecFrameStack``'s reset).

        :param n_copies: Number of env copies that start an episode
        """
        self._returns = [np.zeros(n_copies) for _ in self.wrappers]
        for i, wrapper in enumerate(self.wrappers):
            if isinstance(wrapper, VecFrameStack):
                self._frame_stacks[i] = _leaf_stacks(copy.deepcopy(wrapper.stacked_obs))
                for stack in self._frame_stacks[i].values():
                    stack.stacked_obs = np.zeros(
                        (n_copies, *stack.stacked_obs.shape[1:]), stack.stacked_obs.dtype
                    )

    def observations(self, obs: NumpyObs, copies: np.ndarray, update: bool = False) -> NumpyObs:
        """
        :param obs: Raw observations of branch copies, batch first, each the next of its copy (a
            ``VecFrameStack`` adds it to the copy's frame history)
        :param copies: The copy of each row
        :param update: Also add them to ``VecNormalize``'s observation statistics (where it is training)
        :return: The observations the policy would see through the VecEnv's wrappers
        """
        for i, wrapper in enumerate(self.wrappers):
            if isinstance(wrapper, VecFrameStack):
                stacks = self._frame_stacks[i]
                if isinstance(obs, dict):
                    obs = {key: _push(stacks[key], value, copies) for key, value in obs.items()}
                else:
                    obs = _push(stacks[None], obs, copies)
            elif isinstance(wrapper, VecNormalize):
                if update and wrapper.training and wrapper.norm_obs:
                    if isinstance(obs, dict) and isinstance(wrapper.obs_rms, dict):
                        for key, rms in wrapper.obs_rms.items():
                            rms.update(obs[key])
                    else:
                        wrapper.obs_rms.update(obs)
                obs = wrapper.normalize_obs(obs)
            elif isinstance(wrapper, VecTransposeImage):
                obs = wrapper.transpose_observations(obs)
            elif isinstance(wrapper, VecExtractDictObs):
                assert isinstance(obs, dict)
                obs = obs[wrapper.key]
        return obs

    def rewards(self, rewards: np.ndarray, update_copies: np.ndarray | None = None) -> np.ndarray:
        """
        :param rewards: Raw rewards of branch copies
        :param update_copies: None, or the copy index of each reward (copies of the episodes begun by
            :meth:`start_episodes`): then ``VecNormalize``'s return statistics are updated with the
            copies' running discounted returns, ``R <- gamma * R + r``, as ``VecNormalize`` does
        :return: The rewards scaled as ``VecNormalize`` scales them
        """
        for i, wrapper in enumerate(self.wrappers):
            if isinstance(wrapper, VecNormalize):
                if update_copies is not None and wrapper.training:
                    assert self._returns, "start_episodes() must come before updating statistics"
                    returns = self._returns[i]
                    returns[update_copies] = wrapper.gamma * returns[update_copies] + rewards
                    wrapper.ret_rms.update(returns[update_copies])
                rewards = wrapper.normalize_reward(rewards)
        return rewards


def _leaf_stacks(stacked: StackedObservations) -> dict[str | None, StackedObservations]:
    """The Box stacks of a ``StackedObservations``: one per key of a Dict space, else one (key None)."""
    if hasattr(stacked, "sub_stacked_observations"):
        return {key: stack for key, stack in stacked.sub_stacked_observations.items()}
    return {None: stacked}


def _push(stack: StackedObservations, obs: np.ndarray, copies: np.ndarray) -> np.ndarray:
    """Add each row of ``obs`` to its copy's frame history, as ``StackedObservations.update`` does.

    :return: the stacked observations of ``copies``
    """
    shift = -obs.shape[stack.stack_dimension]
    rows = np.roll(stack.stacked_obs[copies], shift, axis=stack.stack_dimension)
    if stack.channels_first:
        rows[:, shift:, ...] = obs
    else:
        rows[..., shift:] = obs
    stack.stacked_obs[copies] = rows
    return rows


def _same_observation(first: Any, other: Any) -> bool:
    """Whether two raw observations are equal (arrays: byte for byte, a cheap and safe test)."""
    if isinstance(first, np.ndarray) and isinstance(other, np.ndarray):
        return (
            first.shape == other.shape and first.dtype == other.dtype and first.tobytes() == other.tobytes()
        )
    return first_difference(first, other) is None


def stack_observations(observations: Sequence[Any]) -> NumpyObs:
    """
    Stack single-env observations into one batch (dicts key by key).

    :param observations: One observation per env
    :return: The batch
    """
    first = observations[0]
    if isinstance(first, dict):
        return {key: np.stack([obs[key] for obs in observations]) for key in first}
    return np.stack(observations)


def check_finite_rewards(rewards: np.ndarray, env_indices: np.ndarray, where: str) -> None:
    """Raise on a NaN/inf reward (of the agent's step or a group's), naming the sub-env and the step."""
    bad = ~np.isfinite(rewards)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"The env returned a non-finite reward ({rewards[k]}) at sub-env index {int(env_indices[k])} "
            f"during {where}. GRPO cannot rank a group with NaN/inf scores: fix the env's reward "
            "(or wrap it with stable_baselines3.common.vec_env.VecCheckNan to find the cause)."
        )


def record_agent_episodes(venv: VecEnv, returns: np.ndarray, lengths: np.ndarray, group_size: int) -> None:
    """
    Episode mode: write the group episodes (the agent's own) where SB3 and the zoo read episodes.

    The real sub-envs are never stepped in episode mode, so their ``Monitor`` wrappers would stay empty. Each
    episode is added to the ``Monitor`` of its sub-env (its episode lists and its CSV file, as
    ``Monitor.step`` would at the episode's end; in the worker for a ``SubprocVecEnv``) and to a
    ``VecMonitor``'s CSV file.

    :param venv: The training VecEnv (possibly wrapped)
    :param returns: Raw return of each copy (``n_envs * G``, copy ``k`` belongs to sub-env ``k // G``)
    :param lengths: Length of each copy's episode
    :param group_size: G
    """
    rows: list[dict[str, Any]] = [
        {"r": round(float(r), 6), "l": int(n)} for r, n in zip(returns, lengths, strict=True)
    ]
    per_env = [rows[i : i + group_size] for i in range(0, len(rows), group_size)]
    base = venv.unwrapped
    if isinstance(base, DummyVecEnv):
        for sub_env, episodes in zip(base.envs, per_env, strict=True):
            record_monitor_episodes(sub_env, episodes)
    elif isinstance(base, SubprocVecEnv):
        record_worker_episodes(base, per_env)
    now = time.time()
    wrapper: VecEnv = venv
    while isinstance(wrapper, VecEnvWrapper):
        if isinstance(wrapper, VecMonitor):
            wrapper.episode_count += len(rows)
            if wrapper.results_writer is not None:
                for row in rows:
                    wrapper.results_writer.write_row({**row, "t": round(now - wrapper.t_start, 6)})
        wrapper = wrapper.venv


def _cast_like(value: Any, like: Any) -> Any:
    """``value`` with the dtypes of ``like`` (a VecEnv stores observations in its space's dtype)."""
    if isinstance(like, dict) and isinstance(value, dict):
        return {key: _cast_like(value[key], like[key]) for key in value}
    if isinstance(like, np.ndarray):
        return np.asarray(value).astype(like.dtype, copy=False).reshape(like.shape)
    return value


class BranchPool:
    """
    ``G`` private copies of each sub-env, stepped as one batch.

    The copies live in this process (``branch_envs``) or, for a ``SubprocVecEnv``, in the workers beside
    their sub-envs (``workers``): each branch step is then one batched policy forward here and one round
    trip per worker, the workers stepping their copies in parallel. Both give the same groups.

    :param branch_envs: ``branch_envs[i]`` holds the ``G`` copies of sub-env ``i`` (empty with ``workers``)
    :param transforms: The VecEnv wrappers' transforms
    :param max_episode_steps: Safety cap on the length of a branch episode (episode mode)
    :param workers: The copies held in a ``SubprocVecEnv``'s workers, instead of ``branch_envs``
    :param rewind_global_generators: Set the process's global generators (``np.random``, ``random``) back
        after each group's branches, for copies of an env that draws from them (one sub-env only): its
        member 0 then draws what the real env will draw at its next step
    """

    def __init__(
        self,
        branch_envs: Sequence[Sequence[gym.Env]],
        transforms: VecTransforms,
        max_episode_steps: int = 100_000,
        workers: WorkerBranches | None = None,
        rewind_global_generators: bool = False,
    ) -> None:
        self.workers = workers
        self.rewind_global_generators = rewind_global_generators
        if workers is not None:
            self.n_envs, self.group_size = len(workers.names), workers.group_size
            self.envs: list[gym.Env] = []
            self.names = workers.names
        else:
            self.n_envs = len(branch_envs)
            self.group_size = len(branch_envs[0])
            self.envs = [env for group in branch_envs for env in group]  # flat: copy k = (k // G, k % G)
            self.names = [env_name(group[0]) for group in branch_envs]
        self.transforms = transforms
        #: whether members' states can be compared here (see :meth:`_without_coinciding_groups`): not for
        #: copies in the workers, nor under a VecFrameStack (per-copy frame histories)
        self._states_comparable = workers is None and not any(
            isinstance(wrapper, VecFrameStack) for wrapper in transforms.wrappers
        )
        self.max_episode_steps = max_episode_steps
        #: member 0's first step in the last :meth:`score_actions`, for the runtime clone check:
        #: ``(sub-env indices, raw observations, raw rewards, done flags)``; None once taken
        self.first_steps: tuple[np.ndarray, list[Any], np.ndarray, np.ndarray] | None = None

    @property
    def in_workers(self) -> bool:
        """Whether the copies live in the workers of a ``SubprocVecEnv`` (they restore from their sub-env)."""
        return self.workers is not None

    def close(self) -> None:
        """Close the copies."""
        if self.workers is not None:
            self.workers.close()
        for env in self.envs:
            env.close()

    def _restore(self, copies: np.ndarray, states: Sequence[Any] | None) -> None:
        """Restore each copy ``k`` in ``copies`` to ``states[k // G]`` (workers: to its sub-env's state)."""
        if self.workers is not None:
            self.workers.restore(copies)
            return
        assert states is not None, "copies held in this process are restored from saved states"
        for k in copies:
            set_state(self.envs[k], states[k // self.group_size])

    def _step(self, indices: np.ndarray, actions: np.ndarray) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """Step copies ``indices`` (ascending) with ``actions``; return raw observations, rewards and done flags."""
        if self.workers is not None:
            return self.workers.step(indices, actions)
        return step_copies([self.envs[k] for k in indices], actions)

    def _reset(self, seeds: Sequence[int] | np.ndarray) -> list[Any]:
        """Reset the copies of each sub-env ``i`` with ``seeds[i]``; their observations in copy order."""
        if self.workers is not None:
            return self.workers.reset(seeds)
        return [env.reset(seed=int(seeds[k // self.group_size]))[0] for k, env in enumerate(self.envs)]

    def check_first_steps(
        self, obs: Any, rewards: np.ndarray, dones: np.ndarray, infos: Sequence[dict[str, Any]], step: int
    ) -> None:
        """
        Runtime clone check: member 0 of each group took the agent's action from the agent's saved state,
        so its first step must be the real env's step (common random numbers). Compares observation,
        reward and end of episode, once per group (the record of the last :meth:`score_actions`).

        :param obs: Observations the real ``VecEnv.step`` returned
        :param rewards: Its rewards
        :param dones: Its done flags
        :param infos: Its infos
        :param step: Step of the agent's trajectory (for the message)
        :raises CloningError: naming the sub-env, the step, the field and the likely causes
        """
        record, self.first_steps = self.first_steps, None
        if record is None:
            return
        raw_obs, terminal_raw, rewards = self.transforms.real_raw(obs, rewards)
        for n, i in enumerate(record[0]):
            clone_obs, clone_reward, clone_done = record[1][n], record[2][n], bool(record[3][n])
            difference = None
            if clone_done != bool(dones[i]):
                difference = (
                    f"the episode {'ended' if clone_done else 'went on'} on the clone, not on the real env"
                )
            elif clone_reward.astype(rewards.dtype) != rewards[i]:
                difference = f"reward: {float(rewards[i])} (real) != {float(clone_reward)} (clone)"
            else:
                real_obs: Any = None
                if not clone_done and raw_obs is not None:
                    real_obs = (
                        {key: value[i] for key, value in raw_obs.items()}
                        if isinstance(raw_obs, dict)
                        else raw_obs[i]
                    )
                elif clone_done and terminal_raw:
                    real_obs = infos[i].get("terminal_observation")
                if real_obs is not None:
                    difference = first_difference(real_obs, _cast_like(clone_obs, real_obs), "obs")
            if difference is not None:
                raise CloningError(
                    f"GRPO's clone of sub-env {i} ({self.names[i]}) did not "
                    f"reproduce the real env at step {step} of the agent's trajectory: member 0 of the group "
                    "took the agent's action from the agent's saved state, and its first step differed "
                    f"({difference}). GRPO would learn from groups that did not start where the agent was. "
                    "Likely causes: get_state() misses part of the env's state (often the random generator: "
                    "self.np_random.bit_generator.state); the env draws from a global generator (random, "
                    "np.random) instead of self.np_random; or a statistics wrapper (a Monitor subclass) "
                    "changes what step() returns, which branch copies (without statistics wrappers) do not "
                    "do: make that change a separate gym.Wrapper. sb3_grpo.cloning.check_cloneable(env) "
                    "replays the env to find which."
                )

    def score_actions(
        self,
        states: Sequence[Any] | None,
        first_actions: np.ndarray,
        sample: ContinuationSampler,
        horizon: int,
        gamma: float,
        step: int = 0,
        active: np.ndarray | None = None,
        stop_coinciding: bool = False,
    ) -> tuple[np.ndarray, int]:
        """
        Score a group of first actions per sub-env (state mode).

        Member ``j`` of sub-env ``i`` is restored to ``states[i]``, takes ``first_actions[i * G + j]``
        and then follows the policy for up to ``horizon`` more steps (stopping at termination or
        truncation). Its score is the discounted sum ``R_ij = sum_{h=0..H} gamma^h r_h``.

        :param states: The saved state of each sub-env (None when the copies are in the workers: they
            restore from their sub-env's current state)
        :param first_actions: ``(n_envs * G, ...)`` actions to try, ready for ``env.step``
        :param sample: Policy sampler for the continuation steps, given the sub-env index of each row
            (members of one group may share random numbers)
        :param horizon: H, the number of policy steps after the first action
        :param gamma: Discount factor
        :param step: Step of the agent's trajectory the groups start from (for error messages)
        :param active: ``(n_envs,)`` booleans: the sub-envs whose group is run (None: all); the others
            score 0 for every member
        :param stop_coinciding: End a group's branches as soon as its G members reach the same state (see
            :meth:`_without_coinciding_groups`); only right when members share their random numbers
        :return: ``(n_envs, G)`` scores and the number of env transitions made
        """
        scores = np.zeros(self.n_envs * self.group_size)
        n_transitions, discount = 0, 1.0
        steps = self._branch_steps(states, first_actions, sample, horizon, step, active, stop_coinciding)
        for copies, _, rewards in steps:
            scores[copies] += discount * rewards  # gamma^h r_h
            discount *= gamma
            n_transitions += len(copies)
        return scores.reshape(self.n_envs, self.group_size), n_transitions

    def record_branches(
        self,
        states: Sequence[Any] | None,
        first: tuple[np.ndarray, NumpyObs, np.ndarray, np.ndarray],
        sample: Sampler,
        horizon: int,
        step: int = 0,
        active: np.ndarray | None = None,
    ) -> tuple[GroupEpisodes, int]:
        """
        Run the branches of a group per sub-env as :meth:`score_actions` does, and record every step
        (state mode with ``branch_samples="all"``): each branch is a short episode from the group's
        state, so the group can be learned from as episode groups are.

        :param states: As in :meth:`score_actions`
        :param first: The first actions: ready for ``env.step``, the observations they were sampled in
            (``n_envs * G`` rows, as the policy sees them), as sampled, and their log-probabilities
        :param sample: Policy sampler of the continuation steps, with log-probabilities (independent
            samples: each step is learned from)
        :param horizon: H, the number of policy steps after the first action
        :param step: Step of the agent's trajectory the groups start from (for error messages)
        :param active: As in :meth:`score_actions`; the members of a group not run are recorded with one
            step of reward 0 (advantage 0), and cost no transition
        :return: The branches (copy ``k`` is member ``k % G`` of sub-env ``k // G``; ``raw_returns`` are
            the undiscounted sums of the raw rewards) and the number of env transitions made
        """
        env_actions, obs, actions, log_probs = first
        n_copies = self.n_envs * self.group_size
        episodes = GroupEpisodes(
            [obs],
            [np.arange(n_copies)],
            [actions],
            [log_probs],
            [np.zeros(n_copies)],
            np.zeros(n_copies),
            np.ones(n_copies, dtype=np.int64),
        )

        def continue_branches(batch: NumpyObs, groups: np.ndarray) -> np.ndarray:
            step_env_actions, step_actions, step_log_probs = sample(batch)
            episodes.obs.append(batch)
            episodes.actions.append(step_actions)
            episodes.log_probs.append(step_log_probs)
            return step_env_actions

        n_transitions = 0
        for h, (copies, raw_rewards, rewards) in enumerate(
            self._branch_steps(states, env_actions, continue_branches, horizon, step, active)
        ):
            episodes.raw_returns[copies] += raw_rewards
            if h == 0:
                episodes.rewards[0][copies] = rewards
            else:
                episodes.copy_index.append(copies)
                episodes.rewards.append(rewards)
                episodes.lengths[copies] += 1
            n_transitions += len(copies)
        return episodes, n_transitions

    def _branch_steps(
        self,
        states: Sequence[Any] | None,
        first_actions: np.ndarray,
        sample: ContinuationSampler,
        horizon: int,
        step: int,
        active: np.ndarray | None,
        stop_coinciding: bool = False,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """
        Restore the copies, take the first actions and follow the policy for up to ``horizon`` steps.

        :return: per step ``h = 0..H``: the copies stepped, their raw rewards and their rewards after the
            VecEnv's reward transforms; copies leave at termination or truncation
        """
        # copies of an env that draws from np.random/random: the real env draws next from where they began
        with global_generators_rewound(self.rewind_global_generators):
            stop_coinciding &= self._states_comparable
            n_copies = self.n_envs * self.group_size
            alive = np.arange(n_copies)
            if active is not None:
                alive = alive[np.repeat(active, self.group_size)]
            self._restore(alive, states)
            self.transforms.start_groups(self.group_size)
            if len(alive) == 0:
                return
            where = f"a branch from step {step} of the agent's trajectory"
            observations, raw_rewards, done = self._step(alive, first_actions[alive])
            first = np.flatnonzero(alive % self.group_size == 0)  # member 0 takes the agent's own action
            self.first_steps = (
                alive[first] // self.group_size,
                [observations[n] for n in first],
                raw_rewards[first],
                done[first],
            )
            for h in range(horizon + 1):
                if h > 0:
                    keep = ~done
                    alive, observations = (
                        alive[keep],
                        [obs for obs, k in zip(observations, keep, strict=True) if k],
                    )
                    if stop_coinciding:
                        alive, observations = self._without_coinciding_groups(alive, observations)
                    if len(alive) == 0:
                        return
                    observations_batch = self.transforms.observations(stack_observations(observations), alive)
                    actions = sample(observations_batch, alive // self.group_size)
                    observations, raw_rewards, done = self._step(alive, actions)
                rewards = self.transforms.rewards(raw_rewards)
                check_finite_rewards(rewards, alive // self.group_size, where)
                yield alive, raw_rewards, rewards

    def _without_coinciding_groups(
        self, alive: np.ndarray, observations: list[Any]
    ) -> tuple[np.ndarray, list[Any]]:
        """
        Drop the groups whose G members all reached the same state (same observation, same pickled env
        state). With common random numbers their continuations would be identical, adding the same
        discounted return to every member's score: a constant per group, which group-relative
        advantages cancel (``A_j = R_j - mean(R)`` or leave-one-out; any std is unchanged). Envs whose
        next state does not depend on the action (contextual bandits, SB3's identity envs) then cost
        ``G`` transitions per group instead of ``G (H + 1)``.

        :param alive: The copies still running (ascending)
        :param observations: Their raw observations
        :return: ``alive`` and ``observations`` without the coinciding groups
        """
        group_size = self.group_size
        copies = alive.tolist()
        drop: list[int] = []  # positions in alive
        start = 0
        while start + group_size <= len(copies):
            member_0 = copies[start]
            stop = start + group_size
            if member_0 % group_size or copies[stop - 1] != member_0 + group_size - 1:
                start += 1  # not member 0, or a member of its group has ended
                continue
            if all(_same_observation(observations[start], observations[n]) for n in range(start + 1, stop)):
                try:
                    states = [pickle.dumps(get_state(self.envs[k])) for k in copies[start:stop]]
                except Exception:  # a state that does not pickle: not compared
                    states = []
                if states and all(state == states[0] for state in states[1:]):
                    drop += range(start, stop)
            start = stop
        if not drop:
            return alive, observations
        keep = np.ones(len(copies), dtype=bool)
        keep[drop] = False
        return alive[keep], [obs for obs, kept in zip(observations, keep, strict=True) if kept]

    def _check_same_start(self, observations: list[Any], seeds: Sequence[int] | np.ndarray) -> None:
        """The G members of a group were reset with one seed: they must start from the same observation."""
        group_size = self.group_size
        for k, obs in enumerate(observations):
            if k % group_size:
                difference = first_difference(observations[k - k % group_size], obs, "obs")
                if difference is not None:
                    raise CloningError(
                        f"The {group_size} copies of sub-env {k // group_size} ({self.names[k // group_size]}) were "
                        f"reset with the same seed ({int(seeds[k // group_size])}) and member {k % group_size} "
                        f"started elsewhere than member 0 ({difference}): the env's reset ignores its seed or "
                        "draws from a global generator, so GRPO's group episodes would not start from one "
                        "state. Fix the env: call super().reset(seed=seed) in reset() and draw every random "
                        "number from self.np_random."
                    )

    def run_episodes(self, seeds: Sequence[int] | np.ndarray, sample: Sampler) -> GroupEpisodes:
        """
        Run one group of ``G`` episodes per sub-env, all members of a group from the same reset seed.

        :param seeds: One reset seed per sub-env
        :param sample: Policy sampler
        :return: The episodes, step by step over the copies alive at each step
        """
        n_copies = self.n_envs * self.group_size
        observations = self._reset(seeds)
        self._check_same_start(observations, seeds)
        alive = np.arange(n_copies)
        self.transforms.start_episodes(n_copies)
        episodes = GroupEpisodes([], [], [], [], [], np.zeros(n_copies), np.zeros(n_copies, dtype=np.int64))
        for _ in range(self.max_episode_steps):
            # These episodes are the agent's own: they update VecNormalize's statistics.
            obs = self.transforms.observations(stack_observations(observations), alive, update=True)
            env_actions, actions, log_probs = sample(obs)
            next_observations, rewards, done = self._step(alive, env_actions)
            check_finite_rewards(rewards, alive // self.group_size, "a group episode")
            episodes.raw_returns[alive] += rewards
            episodes.lengths[alive] += 1
            episodes.obs.append(obs)
            episodes.copy_index.append(alive)
            episodes.actions.append(actions)
            episodes.log_probs.append(log_probs)
            episodes.rewards.append(self.transforms.rewards(rewards, alive))
            keep = ~done
            alive = alive[keep]
            observations = [o for o, k in zip(next_observations, keep, strict=True) if k]
            if len(alive) == 0:
                break
        else:
            raise ValueError(
                f"A group episode ran for {self.max_episode_steps} steps without ending. group_mode='episode' "
                "needs episodes that end: wrap the env in gymnasium.wrappers.TimeLimit."
            )
        return episodes
