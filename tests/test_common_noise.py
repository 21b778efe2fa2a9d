"""Common random numbers for branch continuations: marginals stay the policy's, members are coupled."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    MultiCategoricalDistribution,
    SquashedDiagGaussianDistribution,
)
from stable_baselines3.common.env_util import make_vec_env

from sb3_grpo import GRPO
from sb3_grpo.grpo.common_noise import sample_with_common_noise

N_GROUPS = 20_000


def _categorical(probs: list[float], n: int) -> CategoricalDistribution:
    dist = CategoricalDistribution(len(probs))
    return dist.proba_distribution(th.log(th.tensor([probs] * n)))


def test_categorical_marginal_is_the_policys() -> None:
    th.manual_seed(0)
    probs = [0.1, 0.6, 0.3]
    actions = sample_with_common_noise(_categorical(probs, N_GROUPS), th.arange(N_GROUPS), N_GROUPS)
    frequencies = np.bincount(actions.numpy(), minlength=3) / N_GROUPS
    # 4 standard errors of a frequency with N_GROUPS independent draws
    np.testing.assert_allclose(frequencies, probs, atol=4 * np.sqrt(0.25 / N_GROUPS))


def test_categorical_inverse_cdf_by_hand() -> None:
    # probs (0.2, 0.5, 0.3): CDF (0.2, 0.7, 1.0); u=0.1 -> 0, u=0.2 -> 1, u=0.69 -> 1, u=0.95 -> 2
    from sb3_grpo.grpo.common_noise import _inverse_cdf

    probs = th.tensor([[0.2, 0.5, 0.3]] * 4)
    index = _inverse_cdf(probs, th.tensor([0.1, 0.2, 0.69, 0.95]))
    assert index.tolist() == [0, 1, 1, 2]
    # a CDF that rounds below 1 never yields an index past the last category
    assert _inverse_cdf(th.tensor([[0.5, 0.4999999]]), th.tensor([0.99999999])).tolist() == [1]


def test_rows_of_a_group_share_their_draw() -> None:
    th.manual_seed(1)
    groups = th.arange(150).repeat_interleave(3)  # 150 groups of 3 rows
    n = len(groups)
    categorical = sample_with_common_noise(_categorical([0.5, 0.5], n), groups, 150).reshape(-1, 3)
    gaussian = DiagGaussianDistribution(2).proba_distribution(th.zeros(n, 2), th.zeros(2))
    normal = sample_with_common_noise(gaussian, groups, 150).reshape(-1, 3, 2)
    for actions in (categorical, normal):
        assert th.all(actions == actions[:, :1])  # same group, same distribution: same action
    assert len(th.unique(categorical)) == 2 and len(th.unique(normal)) > 100  # draws differ between groups


def test_gaussian_marginal_and_coupling() -> None:
    th.manual_seed(2)
    mean = th.tensor([[1.0, -2.0]] * N_GROUPS)
    dist = DiagGaussianDistribution(2).proba_distribution(mean, th.log(th.tensor([0.5, 2.0])))
    actions = sample_with_common_noise(dist, th.arange(N_GROUPS), N_GROUPS)
    np.testing.assert_allclose(actions.mean(0).numpy(), [1.0, -2.0], atol=4 * 2.0 / np.sqrt(N_GROUPS))
    np.testing.assert_allclose(actions.std(0).numpy(), [0.5, 2.0], rtol=0.05)
    # Two members of one group with different means keep the same standardized noise.
    two = DiagGaussianDistribution(1).proba_distribution(th.tensor([[0.0], [3.0]]), th.zeros(1))
    pair = sample_with_common_noise(two, th.tensor([0, 0]), 1)
    assert pair[1, 0] - pair[0, 0] == pytest.approx(3.0)


def test_squashed_gaussian_stays_in_bounds() -> None:
    th.manual_seed(3)
    dist = SquashedDiagGaussianDistribution(1).proba_distribution(th.zeros(1000, 1), th.ones(1))
    actions = sample_with_common_noise(dist, th.arange(1000) // 2, 500)
    assert th.all(actions.abs() < 1)
    assert th.all(actions[0::2] == actions[1::2])


def test_multicategorical_and_bernoulli_marginals() -> None:
    th.manual_seed(4)
    multi = MultiCategoricalDistribution([2, 3]).proba_distribution(
        th.log(th.tensor([[0.3, 0.7, 0.2, 0.2, 0.6]] * N_GROUPS))
    )
    actions = sample_with_common_noise(multi, th.arange(N_GROUPS), N_GROUPS).numpy()
    tolerance = 4 * np.sqrt(0.25 / N_GROUPS)
    np.testing.assert_allclose(np.bincount(actions[:, 0], minlength=2) / N_GROUPS, [0.3, 0.7], atol=tolerance)
    np.testing.assert_allclose(
        np.bincount(actions[:, 1], minlength=3) / N_GROUPS, [0.2, 0.2, 0.6], atol=tolerance
    )
    probs = th.tensor([[0.25, 0.9]] * N_GROUPS)
    bernoulli = BernoulliDistribution(2).proba_distribution(th.log(probs / (1 - probs)))
    bits = sample_with_common_noise(bernoulli, th.arange(N_GROUPS), N_GROUPS).numpy()
    np.testing.assert_allclose(bits.mean(0), [0.25, 0.9], atol=tolerance)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("branch_noise", ["common", "independent"])
def test_members_with_equal_first_actions_tie_only_with_common_noise(env_id: str, branch_noise: str) -> None:
    """On a deterministic env, equal first actions + common continuation noise = equal scores."""
    n_envs, horizon = 2, 20
    env = make_vec_env(env_id, n_envs=n_envs, seed=0)
    model = GRPO(
        "MlpPolicy", env, n_steps=4, batch_size=8, branch_horizon=horizon, branch_noise=branch_noise, seed=0
    )
    model.learn(1)  # builds the branch copies
    assert model._branch_pool is not None and model._cloner is not None
    states = model._cloner.get_states()
    first = np.repeat(env.action_space.sample()[None], n_envs * model.group_size, axis=0)
    spreads = []
    for _ in range(5):
        scores, _ = model._branch_pool.score_actions(
            states, first, model._sample_continuation, horizon=horizon, gamma=1.0
        )
        spreads.append(np.ptp(scores, axis=1))
    if branch_noise == "common":
        assert np.all(np.asarray(spreads) == 0)
    else:
        assert np.max(spreads) > 0  # the check above can fail: independent continuations differ


def test_unknown_branch_noise_is_refused() -> None:
    with pytest.raises(ValueError, match="branch_noise"):
        GRPO("MlpPolicy", "CartPole-v1", branch_noise="shared")


def test_gsde_rows_share_the_exploration_matrix() -> None:
    th.manual_seed(5)
    from stable_baselines3.common.distributions import StateDependentNoiseDistribution

    dist = StateDependentNoiseDistribution(1, squash_output=True)
    latent = th.tensor([[1.0, 2.0], [1.0, 2.0], [0.5, -1.0]])
    dist.sample_weights(th.zeros(2, 1), batch_size=3)  # per-row matrices, as reset_noise(n_envs * G)
    dist.proba_distribution(th.zeros(3, 1), th.zeros(2, 1), latent)
    actions = sample_with_common_noise(dist, th.tensor([0, 0, 1]), 2)
    expected = th.tanh(latent @ dist.exploration_mat)  # mean 0, one shared matrix
    th.testing.assert_close(actions, expected)
    assert actions[0] == actions[1]
