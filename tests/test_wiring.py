"""Exact, hand-computed tests of how the parts are wired together.

Each test pins one place where a small bug would let every learning test pass (a mutation test of the
library found them): a setting the trainer does not pass on, a group laid out wrongly, a mask off by
one step, a score that counts rewards after the episode ended, a refresh or early stop one update off,
a minibatch that drops a sample. The envs below are deterministic where the test needs to know every
score, and put in their observation what the test needs to find a sample's group and member.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import defaultdict
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_grpo import GRPO, GRPOConfig, GRPOTrainer, group_advantages, zero_std_groups
from sb3_grpo.core.experience import GroupExperience
from sb3_grpo.grpo.branching import BranchPool
from sb3_grpo.grpo.buffers import GroupEpisodes, GroupRolloutBuffer

from .test_core_trainer import ActionIsReward, TablePolicy

# --- the core trainer passes its config on ---------------------------------------------------------

# Two groups of G=3 rewards, and what each setting makes of them (worked out by hand):
# group 0: r = 1, 2, 6: mean 3, deviations -2, -1, 3, sample std sqrt((4 + 1 + 9) / 2) = sqrt(7);
#          leave-one-out baselines (9 - r) / 2 = 4, 3.5, 1.5
# group 1: r = 0, 0, 3: mean 1, deviations -1, -1, 2, sample std sqrt((1 + 1 + 4) / 2) = sqrt(3);
#          leave-one-out baselines (3 - r) / 2 = 1.5, 1.5, 0
# batch: mean 2, deviations -1, 0, 4, -2, -2, 1, sample std sqrt(26 / 5)
REWARDS = [1.0, 2.0, 6.0, 0.0, 0.0, 3.0]
EXPECTED_ADVANTAGES = {
    ("none", "mean"): [-2, -1, 3, -1, -1, 2],
    ("group_std", "mean"): [v / math.sqrt(7) for v in (-2, -1, 3)] + [v / math.sqrt(3) for v in (-1, -1, 2)],
    ("batch_std", "mean"): [v / math.sqrt(26 / 5) for v in (-2, -1, 3, -1, -1, 2)],
    ("none", "leave_one_out"): [-3, -1.5, 4.5, -1.5, -1.5, 3],
}


def experience(ref_shift: list[float] | None = None) -> GroupExperience:
    """Two groups of three samples of a uniform 3-action policy (log-prob log(1/3) each)."""
    log_third = math.log(1 / 3)
    old = torch.full((6,), log_third)
    return GroupExperience(
        states=[0, 1],
        flat_states=torch.tensor([0, 0, 0, 1, 1, 1]),
        actions=[0, 1, 2, 0, 1, 2],
        group_index=torch.tensor([0, 0, 0, 1, 1, 1]),
        rewards=torch.tensor(REWARDS),
        old_log_probs=old,
        ref_log_probs=None if ref_shift is None else old + torch.tensor(ref_shift),
        group_size=3,
    )


@pytest.mark.parametrize(("scaling", "baseline"), list(EXPECTED_ADVANTAGES))
def test_trainer_uses_advantage_scaling_and_baseline_of_its_config(scaling: Any, baseline: Any) -> None:
    config = GRPOConfig(group_size=3, advantage_scaling=scaling, baseline=baseline, advantage_eps=0.0)
    trainer = GRPOTrainer(config, TablePolicy(), None, ActionIsReward())
    advantages = trainer.compute_advantages(experience())
    np.testing.assert_allclose(advantages.numpy(), EXPECTED_ADVANTAGES[scaling, baseline], rtol=1e-6)


# log(pi_ref / pi) per sample, and the mean of each estimator over the six samples (by hand):
# k1 = mean(-d) = 0.5 / 6; k2 = mean(d^2 / 2) = 7.25 / 12; k3 = mean(exp(d) - d - 1)
REF_SHIFT = [1.0, -2.0, 0.5, 0.0, 1.0, -1.0]
EXPECTED_KL = {
    "k1": 0.5 / 6,
    "k2": 7.25 / 12,
    "k3": sum(math.exp(d) - d - 1 for d in REF_SHIFT) / 6,
}


@pytest.mark.parametrize("estimator", list(EXPECTED_KL))
def test_trainer_uses_kl_estimator_of_its_config(estimator: Any) -> None:
    # The policy's logits are 0, so log pi = log(1/3) = the old log-prob; the reference is shifted.
    config = GRPOConfig(group_size=3, kl_estimator=estimator, groups_per_batch=None)
    trainer = GRPOTrainer(config, TablePolicy(), TablePolicy(), ActionIsReward())
    exp = experience(REF_SHIFT)
    trainer.compute_advantages(exp)
    metrics = trainer.update(exp)  # no optimizer: one pass, nothing changes
    assert metrics["kl"] == pytest.approx(EXPECTED_KL[estimator], rel=1e-6)


# --- the zero-signal check reads present members only ------------------------------------------------


def test_zero_signal_check_ignores_absent_members() -> None:
    # Present members equal, the absent one below (row 0) or above (row 1) them: no signal in either.
    rewards = torch.tensor([[5.0, 5.0, 0.0], [5.0, 5.0, 9.0], [5.0, 4.0, 5.0]])
    mask = torch.tensor([[True, True, False], [True, True, False], [True, True, False]])
    assert zero_std_groups(rewards, mask).tolist() == [True, True, False]
    advantages = group_advantages(rewards, mask, scaling="none")
    assert advantages.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, -0.5, 0.0]]


# --- process supervision: the alive mask at unequal episode ends --------------------------------------


class UnequalEpisodes(gym.Env):
    """The k-th reset (counted over all instances) starts an episode of ``1 + k % 3`` steps.

    Step t pays ``k % 3 + 1 + t / 2``. The observation ``[tag, k, t]`` names the group (``tag``, drawn
    from the reset seed, which the members of a group share), the member (``k``) and the step.
    """

    observation_space = spaces.Box(0.0, 1e6, shape=(3,), dtype=np.float32)
    action_space = spaces.Discrete(2)
    resets = itertools.count()

    def __init__(self) -> None:
        self.tag, self.k, self.t = 0, 0, 0

    def _obs(self) -> np.ndarray:
        return np.array([self.tag, self.k, self.t], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.tag = int(self.np_random.integers(1_000_000))
        self.k, self.t = next(UnequalEpisodes.resets), 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = self.k % 3 + 1 + self.t / 2
        self.t += 1
        return self._obs(), reward, self.t >= 1 + self.k % 3, False, {}

    def get_state(self) -> tuple[int, int, int, Any]:
        return self.tag, self.k, self.t, self.np_random.bit_generator.state

    def set_state(self, state: tuple[int, int, int, Any]) -> None:
        self.tag, self.k, self.t, rng = state
        self.np_random.bit_generator.state = rng


# A group of three members of lengths 1, 2, 3 (k % 3 = 0, 1, 2) and gamma = 0.5 (by hand):
#   rewards                  returns-to-go at t = 0, 1, 2
#   k%3=0: 1                 1
#   k%3=1: 2, 2.5            3.25, 2.5
#   k%3=2: 3, 3.5, 4         5.75, 5.5, 4
# process, no scaling: t=0: all three alive, mean 10/3; t=1: two alive, mean 4; t=2: one alive: 0.
# outcome: returns 1, 4.5, 10.5, mean 16/3, the same advantage at every step of a member.
EXPECTED_PROCESS = {
    (0, 0): 1 - 10 / 3,
    (1, 0): 3.25 - 10 / 3,
    (2, 0): 5.75 - 10 / 3,
    (1, 1): 2.5 - 4,
    (2, 1): 5.5 - 4,
    (2, 2): 0.0,
}
EXPECTED_OUTCOME = {
    (0, 0): 1 - 16 / 3,
    (1, 0): 4.5 - 16 / 3,
    (2, 0): 10.5 - 16 / 3,
    (1, 1): 4.5 - 16 / 3,
    (2, 1): 10.5 - 16 / 3,
    (2, 2): 10.5 - 16 / 3,
}


#: State mode as these tests were written for: a group at every decision, every group run (also those whose
#: first actions agree), independent continuations.
EVERY_DECISION: dict[str, Any] = dict(
    branch_interval=1, skip_identical_groups=False, branch_noise="independent"
)


def samples(model: GRPO) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every sample of the last rollout: observations, actions, advantages (one batch, numpy)."""
    (batch,) = list(model.rollout_buffer.get(None))
    return batch.observations.cpu().numpy(), batch.actions.cpu().numpy(), batch.advantages.cpu().numpy()


@pytest.mark.parametrize(
    ("supervision", "expected"), [("process", EXPECTED_PROCESS), ("outcome", EXPECTED_OUTCOME)]
)
def test_episode_groups_with_unequal_lengths(
    supervision: Any, expected: dict[tuple[int, int], float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The members name themselves in their first observation, which the runtime check of episode starts
    # (tested in test_clone_check.py) would refuse: this test is about the advantages only.
    monkeypatch.setattr(BranchPool, "_check_same_start", lambda self, observations, seeds: None)
    model = GRPO(
        "MlpPolicy", DummyVecEnv([UnequalEpisodes]), group_mode="episode", supervision=supervision,
        group_size=3, n_steps=2, batch_size=4, n_epochs=1, gamma=0.5, advantage_scaling="none", seed=0,
    )  # fmt: skip
    model.learn(total_timesteps=1)
    obs, _, advantages = samples(model)
    groups: dict[int, set[int]] = defaultdict(set)
    for tag, k, _ in obs:
        groups[int(tag)].add(int(k))
    assert len(groups) == 2, "two groups were collected (n_steps=2)"
    for members in groups.values():
        assert sorted(k % 3 for k in members) == [0, 1, 2], f"members {members} should have lengths 1, 2, 3"
    # Each member's steps, once each: 2 groups x (1 + 2 + 3) samples.
    assert len(obs) == 12 and len({(int(k), int(t)) for _, k, t in obs}) == 12
    for (_, k, t), advantage in zip(obs, advantages, strict=True):
        assert advantage == pytest.approx(expected[int(k) % 3, int(t)], abs=1e-5), (k, t)
    # the agent's episodes: raw (undiscounted) returns 1, 4.5, 10.5 of lengths 1, 2, 3, in both groups
    episodes = sorted((info["r"], info["l"]) for info in model.ep_info_buffer)
    assert episodes == [(1.0, 1), (1.0, 1), (4.5, 2), (4.5, 2), (10.5, 3), (10.5, 3)]


# --- state groups: a branch stops at termination -------------------------------------------------------


class StopOrWalk(gym.Env):
    """At the start of an episode, action 1 ends it with reward 1; action 0 pays 0 and enters a corridor
    of two more steps paying 0 (any action) after which the episode ends. A step after the end pays 100:
    what a branch that is stepped past termination would count. Observation ``[phase, episode]``."""

    observation_space = spaces.Box(0.0, 1e6, shape=(2,), dtype=np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self) -> None:
        self.phase, self.episode, self.ended = 0, -1, False

    def _obs(self) -> np.ndarray:
        return np.array([self.phase, self.episode], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.phase, self.episode, self.ended = 0, self.episode + 1, False
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.ended:
            return self._obs(), 100.0, True, False, {}
        reward = 1.0 if self.phase == 0 and action == 1 else 0.0
        self.ended = (self.phase == 0 and action == 1) or self.phase == 2
        self.phase = min(self.phase + 1, 2)
        return self._obs(), reward, self.ended, False, {}

    def get_state(self) -> tuple[int, int, bool]:
        return self.phase, self.episode, self.ended

    def set_state(self, state: tuple[int, int, bool]) -> None:
        self.phase, self.episode, self.ended = state


def test_branches_are_not_scored_past_termination() -> None:
    # H=5 reaches past every episode end. Scores by hand: first action 1 -> 1; first action 0 -> 0 (the
    # corridor pays nothing). So at the start of an episode advantage_j = a_j - mean(a) over the group,
    # and every corridor group is flat (0). A branch stepped past its end would add 100s.
    model = GRPO(
        "MlpPolicy", DummyVecEnv([StopOrWalk]), group_size=4, branch_horizon=5, n_steps=16, batch_size=16,
        n_epochs=1, gamma=0.9, advantage_scaling="none", seed=0, **EVERY_DECISION,
    )  # fmt: skip
    model.learn(total_timesteps=1)
    obs, actions, advantages = samples(model)
    start_groups: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for (phase, episode), action, advantage in zip(obs, actions.reshape(-1), advantages, strict=True):
        if phase == 0:
            start_groups[int(episode)].append((float(action), float(advantage)))
        else:
            assert advantage == 0.0
    assert any(len({a for a, _ in group}) == 2 for group in start_groups.values()), (
        "no mixed group at a start"
    )
    for group in start_groups.values():
        assert len(group) == 4
        mean = sum(a for a, _ in group) / 4
        for action, advantage in group:
            assert advantage == pytest.approx(action - mean, abs=1e-6)


# --- state groups with n_envs > 1: each sample in its own group and member cell -------------------------


class Pulls(gym.Env):
    """A 3-armed bandit whose arm ``a`` pays ``(a + 1) * (env_id + 1)``; it never ends.

    Observation ``[env_id, pulls]``, where ``pulls`` counts the real env's steps (a group's key)."""

    observation_space = spaces.Box(0.0, 1e6, shape=(2,), dtype=np.float32)
    action_space = spaces.Discrete(3)

    def __init__(self, env_id: int = 0) -> None:
        self.env_id, self.pulls = env_id, 0

    def _obs(self) -> np.ndarray:
        return np.array([self.env_id, self.pulls], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.pulls += 1
        return self._obs(), float((int(action) + 1) * (self.env_id + 1)), False, False, {}

    def get_state(self) -> int:
        return self.pulls

    def set_state(self, state: int) -> None:
        self.pulls = state


def pulls_env(n_envs: int) -> DummyVecEnv:
    return DummyVecEnv([lambda i=i: Pulls(i) for i in range(n_envs)])  # type: ignore[misc]


def test_member_cells_with_several_sub_envs() -> None:
    # H=0: a member's score is its arm's payout. Advantage (no scaling) = payout - mean payout of the
    # group, the group being one sub-env at one decision: [env_id, pulls] in the observation.
    model = GRPO(
        "MlpPolicy", pulls_env(3), group_size=4, branch_horizon=0, n_steps=4, batch_size=16, n_epochs=1,
        advantage_scaling="none", seed=0, **EVERY_DECISION,
    )  # fmt: skip
    model.learn(total_timesteps=1)
    obs, actions, advantages = samples(model)
    groups: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for (env_id, pulls), action, advantage in zip(obs, actions.reshape(-1), advantages, strict=True):
        groups[int(env_id), int(pulls)].append(((action + 1) * (env_id + 1), float(advantage)))
    assert len(groups) == 3 * 4 and all(len(group) == 4 for group in groups.values())
    for group in groups.values():
        mean = sum(payout for payout, _ in group) / 4
        for payout, advantage in group:
            assert advantage == pytest.approx(payout - mean, abs=1e-5)


# --- the update: minibatches, early stop, reference refresh ----------------------------------------


def adam_steps(model: GRPO) -> int:
    """Optimizer steps taken so far (Adam counts them per parameter)."""
    first = next(iter(model.policy.optimizer.state.values()), None)
    return 0 if first is None else int(first["step"])


def test_minibatches_hold_every_sample_once() -> None:
    # 3 decisions x 3 sub-envs x G=2 = 18 samples; batch_size 4: minibatches of 4, 4, 4, 4, 2.
    with warnings.catch_warnings():  # batch_size does not divide the rollout, on purpose
        warnings.simplefilter("ignore", UserWarning)
        model = GRPO(
            "MlpPolicy", pulls_env(3), group_size=2, branch_horizon=0, n_steps=3, batch_size=4, n_epochs=2,
            advantage_scaling="none", seed=0, **EVERY_DECISION,
        )  # fmt: skip
    model.learn(total_timesteps=1)
    assert adam_steps(model) == 2 * 5
    everything = sorted(zip(*(a.reshape(len(a), -1).tolist() for a in samples(model)), strict=True))
    batches = list(model.rollout_buffer.get(4))
    assert [len(b.advantages) for b in batches] == [4, 4, 4, 4, 2]
    rows = [
        row
        for b in batches
        for row in zip(
            b.observations.cpu().numpy().tolist(),
            b.actions.cpu().numpy().reshape(-1, 1).tolist(),
            b.advantages.cpu().numpy().reshape(-1, 1).tolist(),
            strict=True,
        )
    ]
    assert sorted(rows) == everything


def approx_kl_after_one_step(model: GRPO) -> float:
    """PPO's approximate KL ``mean((r - 1) - log r)`` between the collecting policy and ``model.policy``."""
    (batch,) = list(model.rollout_buffer.get(None))
    with torch.no_grad():
        log_prob, _ = model.policy.evaluate_actions(batch.observations, batch.actions.long().flatten())
    log_ratio = log_prob - batch.old_log_prob
    return float(((log_ratio.exp() - 1) - log_ratio).mean())


def kl_model(n_epochs: int, target_kl: float | None) -> GRPO:
    # One minibatch per epoch (batch_size = the rollout): epoch 1 starts at approx_kl 0 and takes a step;
    # epoch 2 checks the approx_kl of that one step against 1.5 x target_kl.
    return GRPO(
        "MlpPolicy", pulls_env(1), group_size=4, branch_horizon=0, n_steps=8, batch_size=32, n_epochs=n_epochs,
        learning_rate=0.05, advantage_scaling="none", target_kl=target_kl, seed=0, **EVERY_DECISION,
    )  # fmt: skip


def test_target_kl_stops_at_one_and_a_half_times_it() -> None:
    one_step = kl_model(1, None).learn(total_timesteps=1)
    kl = approx_kl_after_one_step(one_step)
    assert kl > 1e-4
    # 1.5 x target_kl above the measured KL: the second epoch runs (and so do later ones).
    assert adam_steps(kl_model(3, kl / 1.2).learn(total_timesteps=1)) >= 2
    # 1.5 x target_kl below it: the second epoch stops before its step.
    assert adam_steps(kl_model(3, kl / 1.6).learn(total_timesteps=1)) == 1


def test_reference_policy_refreshed_every_ref_update_interval_updates() -> None:
    model = GRPO(
        "MlpPolicy", pulls_env(1), group_size=2, branch_horizon=0, n_steps=4, batch_size=8, n_epochs=1,
        learning_rate=0.05, kl_coef=0.1, ref_update_interval=2, seed=0, **EVERY_DECISION,
    )  # fmt: skip
    assert model.reference_policy is not None
    rollout = 4 * (1 + 2)  # transitions per rollout: 4 decisions, each 1 real step and G=2 branch pulls

    def params(policy: torch.nn.Module) -> torch.Tensor:
        return torch.nn.utils.parameters_to_vector(policy.parameters()).detach().clone()

    initial = params(model.policy)
    model.learn(total_timesteps=rollout)  # update 1: the reference stays the initial policy
    assert model.num_timesteps == rollout
    assert torch.equal(params(model.reference_policy), initial)
    assert not torch.equal(params(model.policy), initial)
    model.learn(total_timesteps=rollout, reset_num_timesteps=False)  # update 2: refreshed
    after_two = params(model.policy)
    assert torch.equal(params(model.reference_policy), after_two)
    model.learn(total_timesteps=rollout, reset_num_timesteps=False)  # update 3: kept
    assert torch.equal(params(model.reference_policy), after_two)
    assert not torch.equal(params(model.policy), after_two)
    model.learn(total_timesteps=rollout, reset_num_timesteps=False)  # update 4: refreshed
    assert torch.equal(params(model.reference_policy), params(model.policy))


# --- the buffer's layout, directly -----------------------------------------------------------------------


def layout_buffer(group_size: int = 2) -> GroupRolloutBuffer:
    return GroupRolloutBuffer(spaces.Box(-1e6, 1e6, shape=(1,)), spaces.Discrete(3), group_size)


def test_state_groups_give_each_member_its_cell_when_the_number_of_sub_envs_changes() -> None:
    buffer = layout_buffer()
    # three sub-envs, then one: member j of sub-env i is row i * G + j of the actions
    buffer.add_state_groups(np.zeros((3, 1)), np.arange(6), np.zeros(6), np.array([[0, 1], [0, 2], [0, 3]]))
    buffer.add_state_groups(np.zeros((1, 1)), np.arange(2), np.zeros(2), np.array([[5, 1]]))
    buffer.compute_advantages("none", "mean")
    assert buffer.advantages is not None
    assert buffer.advantages.tolist() == [-0.5, 0.5, -1, 1, -1.5, 1.5, 2, -2]
    assert buffer.members.tolist() == [0, 1, 0, 1, 0, 1, 0, 1]


# Two sub-envs, G=2 (copy k = member k % 2 of sub-env k // 2), gamma 0.5, by hand:
#   copy 0: rewards 1, 10   returns-to-go 6, 10     copy 1: reward 2   returns-to-go 2
#   copy 2: reward 3        returns-to-go 3         copy 3: rewards 4, 20   returns-to-go 14, 20
# process: t=0: sub-env 0 [6, 2] -> 2, -2; sub-env 1 [3, 14] -> -5.5, 5.5; t=1: one member left in each
# group: 0. outcome: returns 11, 2 | 3, 24 -> 4.5, -4.5 | -10.5, 10.5 at every step.
TWO_SUB_ENVS = GroupEpisodes(
    obs=[np.zeros((4, 1)), np.zeros((2, 1))],
    copy_index=[np.array([0, 1, 2, 3]), np.array([0, 3])],
    actions=[np.zeros(4), np.zeros(2)],
    log_probs=[np.zeros(4), np.zeros(2)],
    rewards=[np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 20.0])],
    raw_returns=np.array([11.0, 2.0, 3.0, 24.0]),
    lengths=np.array([2, 1, 1, 2]),
)


@pytest.mark.parametrize(
    ("supervision", "expected"),
    [("process", [2, -2, -5.5, 5.5, 0, 0]), ("outcome", [4.5, -4.5, -10.5, 10.5, 4.5, 10.5])],
)
def test_episode_groups_of_several_sub_envs(supervision: Any, expected: list[float]) -> None:
    buffer = layout_buffer()
    buffer.add_episode_groups(TWO_SUB_ENVS, supervision, gamma=0.5)
    stats = buffer.compute_advantages("none", "mean")
    assert buffer.advantages is not None
    assert buffer.advantages.tolist() == pytest.approx(expected)
    # process: the two rows at t=1 hold one present member each: no signal (absent members do not count)
    assert stats["frac_zero_std_groups"] == (0.5 if supervision == "process" else 0.0)
    assert TWO_SUB_ENVS.n_transitions == 6
