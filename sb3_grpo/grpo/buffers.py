"""``GroupRolloutBuffer``: the samples of one GRPO rollout, with the groups that score them.

SB3's ``RolloutBuffer`` holds one action per (step, env) and a value-based advantage. A GRPO rollout
holds *groups*: G actions (or G episodes) that start from the same state, each with a scalar score.
The buffer keeps three tables:

- ``observations``: each observation once (in state mode the G members of a group share it);
- ``scores`` / ``mask``: one row per group (per group and step in ``process`` supervision), one
  column per member; ``mask`` marks the members present in the row;
- samples: ``(observation row, action, old log-prob, score row, member)``.

:meth:`GroupRolloutBuffer.add_state_groups` and :meth:`GroupRolloutBuffer.add_episode_groups` fill them
from what the two group modes collect (episode groups arrive as a :class:`GroupEpisodes` record);
``compute_advantages`` turns every score row into group-relative advantages with the core's
:func:`~sb3_grpo.core.advantages.group_advantages` and gives each sample the advantage of its
``(row, member)`` cell. Nothing else in the algorithm knows how groups are laid out.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.common.utils import obs_as_tensor

from sb3_grpo.core.advantages import AdvantageScaling, Baseline, group_advantages, zero_std_groups

NumpyObs = np.ndarray | dict[str, np.ndarray]
Supervision = Literal["outcome", "process"]


@dataclass
class GroupEpisodes:
    """One group of G whole episodes per sub-env, step by step (what episode mode collects).

    Copy ``k`` is member ``k % G`` of sub-env ``k // G``. The lists hold one entry per step ``t``, over
    the copies still running at ``t`` (``copy_index[t]``), in that order.

    :param obs: Observations the policy saw (batch first; a dict of arrays for Dict spaces)
    :param copy_index: The copies running at each step
    :param actions: Actions as sampled
    :param log_probs: ``log pi_old(a|s)`` of those actions
    :param rewards: Rewards as the algorithm scores them (after the VecEnv's reward transforms)
    :param raw_returns: Undiscounted return of each copy's episode, from the env's raw rewards
    :param lengths: Length of each copy's episode
    """

    obs: list[NumpyObs]
    copy_index: list[np.ndarray]
    actions: list[np.ndarray]
    log_probs: list[np.ndarray]
    rewards: list[np.ndarray]
    raw_returns: np.ndarray
    lengths: np.ndarray

    @property
    def n_transitions(self) -> int:
        """Env transitions of all the episodes."""
        return int(self.lengths.sum())


class GroupRolloutSamples(NamedTuple):
    """One minibatch: tensors on the algorithm's device."""

    observations: PyTorchObs
    actions: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    ref_log_prob: th.Tensor | None


class GroupRolloutBuffer:
    """
    Storage for one GRPO rollout (see the module docstring for its layout).

    :param observation_space: Observation space
    :param action_space: Action space
    :param group_size: Members per group (G), the number of score columns
    :param device: Device of the tensors that :meth:`get` yields
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        group_size: int,
        device: th.device | str = "cpu",
    ) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.group_size = group_size
        self.device = th.device(device)
        self.action_dim = get_action_dim(action_space)
        self._member_index = np.zeros(0, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Empty the buffer."""
        self._obs_chunks: list[NumpyObs] = []
        self._n_obs = 0
        self._score_chunks: list[np.ndarray] = []
        self._mask_chunks: list[np.ndarray | None] = []
        self._n_rows = 0
        self._sample_chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.advantages: np.ndarray | None = None
        self.ref_log_probs: np.ndarray | None = None

    def add_observations(self, obs: NumpyObs) -> np.ndarray:
        """
        Store a batch of observations.

        :param obs: Observations, batch first (a dict of arrays for Dict spaces)
        :return: Their row indices, to pass to :meth:`add_samples`
        """
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        if isinstance(obs, dict):
            self._obs_chunks.append({key: np.array(value) for key, value in obs.items()})
        else:
            self._obs_chunks.append(np.array(obs))
        rows = np.arange(self._n_obs, self._n_obs + n)
        self._n_obs += n
        return rows

    def add_scores(self, scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """
        Store score rows: ``scores[k, j]`` is member j's score in group row k.

        :param scores: ``(n_rows, G)`` scores
        :param mask: ``(n_rows, G)`` booleans, True where the member is present (default: all)
        :return: The row indices, to pass to :meth:`add_samples`
        """
        scores = np.asarray(scores, dtype=np.float64).reshape(-1, self.group_size)
        self._score_chunks.append(scores)
        # None: all members present (expanded once, in compute_advantages)
        self._mask_chunks.append(None if mask is None else np.asarray(mask, dtype=bool).reshape(scores.shape))
        rows = np.arange(self._n_rows, self._n_rows + len(scores))
        self._n_rows += len(scores)
        return rows

    def add_state_groups(
        self, obs: NumpyObs, actions: np.ndarray, log_probs: np.ndarray, scores: np.ndarray
    ) -> None:
        """
        Store one group per sub-env (state mode): G actions sampled in the sub-env's observation, and their scores.

        :param obs: One observation per sub-env, shared by the members of its group
        :param actions: ``n_envs * G`` actions, sub-env major: member j of sub-env i at row ``i * G + j``
        :param log_probs: ``log pi_old(a|s)`` of those actions, in the same order
        :param scores: ``(n_envs, G)`` the members' scores
        """
        group_size = self.group_size
        obs_rows = self.add_observations(obs)
        score_rows = self.add_scores(scores)
        n_envs = len(obs_rows)
        if len(self._member_index) != n_envs * group_size:  # the same at every decision
            self._member_index = np.tile(np.arange(group_size), n_envs)
        self.add_samples(
            np.repeat(obs_rows, group_size),
            actions,
            log_probs,
            np.repeat(score_rows, group_size),
            self._member_index,
        )

    def add_episode_groups(self, episodes: GroupEpisodes, supervision: Supervision, gamma: float) -> None:
        """
        Store one group of G episodes per sub-env (episode mode).

        ``"outcome"``: every step of episode j is scored by the episode's return (one score row per group).
        ``"process"``: step t of member j is scored by its discounted return-to-go
        ``R_jt = r_jt + gamma R_j,t+1``, against the members still running at t (one score row per group
        and step, the members that have ended masked out).

        :param episodes: The episodes
        :param supervision: ``"outcome"`` or ``"process"``
        :param gamma: Discount of the returns-to-go (process supervision)
        """
        group_size = self.group_size
        n_copies = len(episodes.lengths)
        n_envs, horizon = n_copies // group_size, len(episodes.obs)
        # rewards[k, t]: reward of copy k at step t (0 after its end)
        rewards = np.zeros((n_copies, horizon))
        for t, (copies, step_rewards) in enumerate(zip(episodes.copy_index, episodes.rewards, strict=True)):
            rewards[copies, t] = step_rewards
        if supervision == "outcome":
            score_rows = self.add_scores(rewards.sum(axis=1).reshape(n_envs, group_size))
            rows_per_step = 0  # the same row at every step
        else:
            returns_to_go = np.zeros_like(rewards)
            running = np.zeros(n_copies)
            for t in reversed(range(horizon)):
                running = rewards[:, t] + gamma * running
                returns_to_go[:, t] = running
            running_at = np.arange(horizon)[None, :] < episodes.lengths[:, None]
            # rows ordered (t, sub-env): row t * n_envs + i holds the group of sub-env i at step t
            scores = returns_to_go.T.reshape(horizon * n_envs, group_size)
            mask = running_at.T.reshape(horizon * n_envs, group_size)
            score_rows = self.add_scores(scores, mask)
            rows_per_step = n_envs
        for t, (obs, copies, actions, log_probs) in enumerate(
            zip(episodes.obs, episodes.copy_index, episodes.actions, episodes.log_probs, strict=True)
        ):
            obs_rows = self.add_observations(obs)
            self.add_samples(
                obs_rows,
                actions,
                log_probs,
                score_rows[t * rows_per_step + copies // group_size],
                copies % group_size,
            )

    def add_samples(
        self,
        obs_rows: np.ndarray,
        actions: np.ndarray,
        log_probs: np.ndarray,
        score_rows: np.ndarray,
        members: np.ndarray,
    ) -> None:
        """
        Store samples: the action taken in observation ``obs_rows[n]``, scored in ``(score_rows[n], members[n])``.

        :param obs_rows: Row of each sample's observation
        :param actions: Actions, batch first
        :param log_probs: ``log pi_old(a|s)`` at collection time
        :param score_rows: Score row of each sample
        :param members: Member (column) of each sample in its score row
        """
        self._sample_chunks.append(
            (
                np.asarray(obs_rows, dtype=np.int64),
                np.asarray(actions, dtype=np.float32).reshape(len(obs_rows), self.action_dim),
                np.asarray(log_probs, dtype=np.float32).reshape(-1),
                np.asarray(score_rows, dtype=np.int64),
                np.asarray(members, dtype=np.int64),
            )
        )

    def compute_advantages(self, scaling: AdvantageScaling, baseline: Baseline) -> dict[str, float]:
        """
        Concatenate what was added and compute every sample's group-relative advantage.

        :param scaling: The core's advantage scaling ("group_std", "batch_std" or "none")
        :param baseline: The core's baseline ("mean" or "leave_one_out")
        :return: Statistics of the groups: ``frac_zero_std_groups`` and ``group_reward_std`` (mean
            within-group standard deviation of the scores)
        """
        if not self._sample_chunks:
            raise RuntimeError("The rollout buffer is empty: collect a rollout before computing advantages.")
        if isinstance(self._obs_chunks[0], dict):
            keys = self._obs_chunks[0].keys()
            self.observations: NumpyObs = {
                key: np.concatenate([chunk[key] for chunk in self._obs_chunks])
                for key in keys  # type: ignore[index]
            }
        else:
            self.observations = np.concatenate(self._obs_chunks)  # type: ignore[arg-type]
        self.obs_rows, self.actions, self.log_probs, self.score_rows, self.members = (
            np.concatenate([chunk[i] for chunk in self._sample_chunks]) for i in range(5)
        )
        scores = th.as_tensor(np.concatenate(self._score_chunks))
        mask = th.as_tensor(
            np.concatenate(
                [
                    np.ones(scores_chunk.shape, dtype=bool) if mask_chunk is None else mask_chunk
                    for scores_chunk, mask_chunk in zip(self._score_chunks, self._mask_chunks, strict=True)
                ]
            )
        )
        advantages = group_advantages(scores, mask, scaling=scaling, baseline=baseline)
        self.advantages = advantages.numpy()[self.score_rows, self.members].astype(np.float32)
        flat = zero_std_groups(scores, mask)
        present = mask.sum(dim=1).clamp(min=1)
        mean = (scores * mask).sum(dim=1) / present
        std = (((scores - mean[:, None]) ** 2 * mask).sum(dim=1) / present).sqrt()
        return {
            "frac_zero_std_groups": float(flat.float().mean()),
            "group_reward_std": float(std.mean()),
        }

    def observations_at(self, rows: np.ndarray) -> NumpyObs:
        """
        :param rows: Observation rows
        :return: Those observations (numpy)
        """
        if isinstance(self.observations, dict):
            return {key: value[rows] for key, value in self.observations.items()}
        return self.observations[rows]

    def get(self, batch_size: int | None = None) -> Generator[GroupRolloutSamples, None, None]:
        """
        Yield the samples in a random order, ``batch_size`` at a time (the last batch may be smaller).

        :param batch_size: Samples per minibatch (None: all at once)
        """
        assert self.advantages is not None, "compute_advantages() must run before get()"
        n = len(self.advantages)
        batch_size = n if batch_size is None else batch_size
        # The global generator, as SB3's buffers: seeded by the algorithm's set_random_seed.
        indices = np.random.permutation(n)  # noqa: NPY002
        for start in range(0, n, batch_size):
            idx = indices[start : start + batch_size]
            ref = (
                None
                if self.ref_log_probs is None
                else th.as_tensor(self.ref_log_probs[idx], device=self.device)
            )
            yield GroupRolloutSamples(
                observations=obs_as_tensor(self.observations_at(self.obs_rows[idx]), self.device),  # type: ignore[arg-type]
                actions=th.as_tensor(self.actions[idx], device=self.device),
                old_log_prob=th.as_tensor(self.log_probs[idx], device=self.device),
                advantages=th.as_tensor(self.advantages[idx], device=self.device),
                ref_log_prob=ref,
            )

    def iter_in_order(
        self, batch_size: int
    ) -> Generator[tuple[np.ndarray, PyTorchObs, th.Tensor], None, None]:
        """
        Yield ``(sample indices, observations, actions)`` in storage order (to evaluate a reference policy).

        :param batch_size: Samples per batch
        """
        n = len(self.actions)
        for start in range(0, n, batch_size):
            idx = np.arange(start, min(start + batch_size, n))
            yield (
                idx,
                obs_as_tensor(self.observations_at(self.obs_rows[idx]), self.device),  # type: ignore[arg-type]
                th.as_tensor(self.actions[idx], device=self.device),
            )
