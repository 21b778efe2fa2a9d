"""GRPOTrainer, experience layout, config validation, protocols, and the two core examples."""

from __future__ import annotations

import ast
import copy
import dataclasses
import math
import runpy
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from sb3_grpo.core import (
    GRPOConfig,
    GRPOTrainer,
    PolicyModel,
    RewardModel,
    collect_experience,
    make_optimizer,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


class TablePolicy(nn.Module):
    """Categorical policy over K actions with one row of logits per integer state. Records its calls."""

    def __init__(self, num_states: int = 4, num_actions: int = 3, with_entropy: bool = False) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(num_states, num_actions))
        self.calls: list[tuple[Any, list[Any]]] = []
        self.with_entropy = with_entropy

    def _dist(self, states: Any) -> torch.distributions.Categorical:
        index = torch.as_tensor(np.asarray(states), dtype=torch.long).reshape(-1)
        return torch.distributions.Categorical(logits=self.logits[index])

    def generate_actions(self, states: Any, num_actions_per_state: int, **kwargs: Any) -> list[list[Any]]:
        return self._dist(states).sample((num_actions_per_state,)).T.tolist()

    def get_log_probabilities(self, states: Any, actions: list[Any]) -> torch.Tensor:
        self.calls.append((states, list(actions)))
        return self._dist(states).log_prob(torch.as_tensor(actions))

    def get_parameters(self) -> dict[str, torch.Tensor]:
        return dict(self.named_parameters())


class EntropyTablePolicy(TablePolicy):
    def entropy(self, states: Any) -> torch.Tensor:
        return self._dist(states).entropy()


class ActionIsReward:
    """reward = action (as a float), for any state."""

    def compute_rewards(self, states: Any, actions: list[Any]) -> torch.Tensor:
        return torch.tensor(actions, dtype=torch.float32)

    def train(self) -> ActionIsReward:
        return self

    def eval(self) -> ActionIsReward:
        return self

    def to(self, device: Any) -> ActionIsReward:
        return self


class FixedRewards(ActionIsReward):
    def __init__(self, rewards: Any) -> None:
        self.rewards = rewards

    def compute_rewards(self, states: Any, actions: list[Any]) -> Any:
        return self.rewards


def params_of(policy: TablePolicy) -> torch.Tensor:
    return policy.logits.detach().clone()


# --- protocols -------------------------------------------------------------------------------------


def test_user_classes_satisfy_protocols_without_inheriting() -> None:
    assert isinstance(TablePolicy(), PolicyModel)
    assert isinstance(ActionIsReward(), RewardModel)
    assert not isinstance(object(), PolicyModel)
    assert PolicyModel not in type(TablePolicy()).__mro__


def test_policy_missing_methods_is_a_type_error_naming_them() -> None:
    class NotAPolicy:
        def generate_actions(self, states: Any, n: int) -> list[list[Any]]:
            return []

    with pytest.raises(
        TypeError,
        match=r"policy \(NotAPolicy\) does not satisfy the PolicyModel.*"
        r"get_log_probabilities, get_parameters, train, eval, to",
    ):
        GRPOTrainer(GRPOConfig(), NotAPolicy(), None, ActionIsReward())  # type: ignore[arg-type]


def test_reward_model_and_reference_are_checked() -> None:
    with pytest.raises(TypeError, match=r"reward_model \(function\) .*RewardModel.*compute_rewards"):
        GRPOTrainer(GRPOConfig(), TablePolicy(), None, lambda s, a: 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"reference_policy \(str\)"):
        GRPOTrainer(GRPOConfig(), TablePolicy(), "ref", ActionIsReward())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a GRPOConfig"):
        GRPOTrainer({"group_size": 4}, TablePolicy(), None, ActionIsReward())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"optimizer must be a torch\.optim\.Optimizer"):
        GRPOTrainer(GRPOConfig(), TablePolicy(), None, ActionIsReward(), optimizer="adam")  # type: ignore[arg-type]


def test_kl_coef_without_reference_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"kl_coef=0.04 > 0 needs a reference_policy"):
        GRPOTrainer(GRPOConfig(kl_coef=0.04), TablePolicy(), None, ActionIsReward())


def test_reference_that_is_the_policy_warns() -> None:
    policy = TablePolicy()
    with pytest.warns(UserWarning, match="KL to it is always 0"):
        GRPOTrainer(GRPOConfig(), policy, policy, ActionIsReward())


# --- experience layout -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "tensor", "array"])
def test_flat_states_are_repeated_group_major(kind: str) -> None:
    torch.manual_seed(0)
    raw = [2, 0, 3]
    states: Any = {"list": raw, "tensor": torch.tensor(raw), "array": np.array(raw)}[kind]
    policy = TablePolicy()
    exp = collect_experience(policy, ActionIsReward(), states, group_size=4)
    assert type(exp.flat_states) is type(states)
    assert list(np.asarray(exp.flat_states)) == [2] * 4 + [0] * 4 + [3] * 4
    assert exp.group_index.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert len(exp) == 12 and exp.num_groups == 3
    # rewards are the actions, so the grouped rewards are the actions of each group in order
    assert exp.grouped_rewards().tolist() == [
        [float(a) for a in exp.actions[4 * i : 4 * i + 4]] for i in range(3)
    ]
    # old log-probs are the policy's, without a graph
    states_seen, actions_seen = policy.calls[-1]
    assert states_seen is exp.flat_states and actions_seen == exp.actions
    assert not exp.old_log_probs.requires_grad
    torch.testing.assert_close(exp.old_log_probs, torch.full((12,), -math.log(3)))
    assert exp.ref_log_probs is None

    sub = exp.select_groups(torch.tensor([2, 0]))
    assert list(np.asarray(sub.flat_states)) == [3] * 4 + [2] * 4
    assert sub.actions == exp.actions[8:12] + exp.actions[0:4]
    assert list(np.asarray(sub.states)) == [3, 2]


def test_minibatches_are_whole_groups_and_count_matches() -> None:
    torch.manual_seed(0)
    policy = TablePolicy(num_states=10)
    config = GRPOConfig(group_size=3, groups_per_batch=4, n_epochs=2, seed=1)
    trainer = GRPOTrainer(config, policy, None, ActionIsReward(), make_optimizer(policy, config))
    policy.calls.clear()
    metrics = trainer.step(list(range(10)))
    # collection: 1 call; update: 2 epochs x ceil(10 / 4) = 3 minibatches of 4, 4, 2 groups
    update_calls = policy.calls[1:]
    assert len(update_calls) == 6
    assert sorted(len(a) for _, a in update_calls) == [6, 6, 12, 12, 12, 12]
    for states, _ in update_calls:
        groups = np.asarray(states).reshape(-1, 3)
        assert (groups == groups[:, :1]).all()  # each run of G samples is one state
    assert metrics["num_minibatches"] == 6.0 and metrics["num_gradient_steps"] == 6.0


# --- step ------------------------------------------------------------------------------------------

EXPECTED_KEYS = {
    "loss",
    "policy_loss",
    "kl",
    "entropy",
    "clip_fraction",
    "approx_kl",
    "reward_mean",
    "reward_std",
    "reward_min",
    "reward_max",
    "frac_zero_std_groups",
    "advantage_abs_mean",
    "num_groups",
    "num_samples",
    "num_minibatches",
    "num_gradient_steps",
}


def test_without_optimizer_nothing_is_updated() -> None:
    torch.manual_seed(0)
    policy = TablePolicy()
    before = params_of(policy)
    trainer = GRPOTrainer(GRPOConfig(group_size=4, n_epochs=3), policy, None, ActionIsReward())
    metrics = trainer.step([0, 1, 2, 3])
    assert set(metrics) == EXPECTED_KEYS  # no grad_norm without an optimizer
    assert all(isinstance(v, float) for v in metrics.values())
    assert torch.equal(params_of(policy), before)
    assert policy.logits.grad is None
    assert metrics["num_samples"] == 16 and metrics["num_groups"] == 4
    # ratio 1 everywhere: no clipping, loss = -mean(A) = 0 (group means of A are 0), entropy = log 3
    assert metrics["clip_fraction"] == 0.0 and metrics["approx_kl"] == 0.0
    assert metrics["loss"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["entropy"] == pytest.approx(math.log(3))  # the -log pi estimate is exact for uniform pi


def test_step_improves_reward_and_reports_metrics() -> None:
    torch.manual_seed(0)
    policy = EntropyTablePolicy(num_states=4, num_actions=3)
    config = GRPOConfig(group_size=8, learning_rate=0.1, seed=0)
    trainer = GRPOTrainer(config, policy, None, ActionIsReward(), make_optimizer(policy, config))
    first = trainer.step([0, 1, 2, 3])
    assert set(first) == EXPECTED_KEYS | {"grad_norm"}
    assert first["entropy"] == pytest.approx(math.log(3))  # exact entropy from policy.entropy()
    for _ in range(30):
        last = trainer.step([0, 1, 2, 3])
    assert first["reward_mean"] < 1.3 < 1.8 < last["reward_mean"]  # chance is 1.0, best is 2.0
    assert last["entropy"] < first["entropy"]
    assert trainer.num_steps == 31


def test_exact_entropy_is_used_when_the_policy_has_it() -> None:
    torch.manual_seed(0)
    policy = EntropyTablePolicy(num_states=2, num_actions=3)
    with torch.no_grad():
        policy.logits.copy_(torch.tensor([[3.0, 0.0, -1.0], [0.0, 0.5, 1.0]]))
    exact = float(policy._dist([0, 1]).entropy().mean().detach())
    metrics = GRPOTrainer(GRPOConfig(group_size=4), policy, None, ActionIsReward()).step([0, 1])
    assert metrics["entropy"] == pytest.approx(exact)  # a sampled -log pi estimate would differ


def test_reference_kl_is_measured_and_penalised() -> None:
    torch.manual_seed(0)

    def run(kl_coef: float) -> tuple[float, TablePolicy]:
        policy = TablePolicy(num_states=2)
        reference = copy.deepcopy(policy).requires_grad_(False)
        config = GRPOConfig(group_size=8, learning_rate=0.2, kl_coef=kl_coef, seed=0)
        trainer = GRPOTrainer(config, policy, reference, ActionIsReward(), make_optimizer(policy, config))
        for _ in range(25):
            metrics = trainer.step([0, 1])
        return metrics["kl"], policy

    kl_free, _ = run(0.0)
    kl_penalised, _ = run(2.0)
    assert kl_free > 0.1  # measured even with kl_coef = 0
    assert kl_penalised < kl_free / 2


def test_gradient_norm_is_clipped() -> None:
    torch.manual_seed(0)
    policy = TablePolicy()
    before = params_of(policy)
    config = GRPOConfig(group_size=4, max_grad_norm=1e-3)
    trainer = GRPOTrainer(
        config, policy, None, ActionIsReward(), torch.optim.SGD(policy.parameters(), lr=1.0)
    )
    metrics = trainer.step([0, 1, 2, 3])
    assert metrics["grad_norm"] > 1e-3  # the norm before clipping
    assert float((params_of(policy) - before).norm()) == pytest.approx(1e-3, rel=1e-3)


def test_same_seed_same_metrics() -> None:
    def run() -> list[dict[str, float]]:
        policy = TablePolicy()
        with torch.no_grad():
            policy.logits.copy_(torch.arange(12.0).view(4, 3) / 10)
        config = GRPOConfig(group_size=4, groups_per_batch=2, n_epochs=2, seed=123)
        trainer = GRPOTrainer(config, policy, None, ActionIsReward(), make_optimizer(policy, config))
        return [trainer.step([0, 1, 2, 3]) for _ in range(3)]

    assert run() == run()


# --- bad input to step -----------------------------------------------------------------------------


def make_trainer(reward_model: Any = None, policy: Any = None) -> GRPOTrainer:
    policy = policy or TablePolicy()
    config = GRPOConfig(group_size=2)
    return GRPOTrainer(config, policy, None, reward_model or ActionIsReward(), make_optimizer(policy, config))


@pytest.mark.parametrize("states", [[], torch.empty(0, 3), np.zeros((0,))])
def test_empty_states(states: Any) -> None:
    with pytest.raises(ValueError, match="step\\(\\) got no states"):
        make_trainer().step(states)


def test_states_of_wrong_type() -> None:
    with pytest.raises(TypeError, match="wrap a single state in a list"):
        make_trainer().step(3)


@pytest.mark.parametrize(
    ("rewards", "match"),
    [
        (torch.zeros(5), r"compute_rewards returned rewards of shape \(5,\), expected \(6,\)"),
        (torch.zeros(3, 2), r"compute_rewards returned rewards of shape \(3, 2\), expected \(6,\)"),
        (
            torch.tensor([0.0, 1, float("nan"), 0, float("inf"), 0]),
            r"2 NaN/inf rewards \(first at flat index 2\)",
        ),
    ],
)
def test_bad_rewards(rewards: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_trainer(FixedRewards(rewards)).step([0, 1, 2])


def test_rewards_as_list_are_accepted() -> None:
    metrics = make_trainer(FixedRewards([0.0, 1.0, 1.0, 1.0])).step([0, 1])
    assert metrics["frac_zero_std_groups"] == 0.5


def test_bad_log_probabilities() -> None:
    class ShortLogProbs(TablePolicy):
        def get_log_probabilities(self, states: Any, actions: list[Any]) -> torch.Tensor:
            return super().get_log_probabilities(states, actions)[:-1]

    with pytest.raises(ValueError, match=r"get_log_probabilities returned log-probabilities of shape \(5,\)"):
        make_trainer(policy=ShortLogProbs()).step([0, 1, 2])

    class DetachedLogProbs(TablePolicy):
        def get_log_probabilities(self, states: Any, actions: list[Any]) -> torch.Tensor:
            return super().get_log_probabilities(states, actions).detach()

    with pytest.raises(ValueError, match="does not require grad"):
        make_trainer(policy=DetachedLogProbs()).step([0, 1, 2])


def test_bad_generated_actions() -> None:
    class OneActionTooFew(TablePolicy):
        def generate_actions(self, states: Any, num_actions_per_state: int, **kw: Any) -> list[list[Any]]:
            return super().generate_actions(states, num_actions_per_state - 1)

    with pytest.raises(ValueError, match="returned 1 actions for state 0, expected num_actions_per_state=2"):
        make_trainer(policy=OneActionTooFew()).step([0, 1])

    class TensorActions(TablePolicy):
        def generate_actions(self, states: Any, num_actions_per_state: int, **kw: Any) -> Any:
            return torch.zeros(len(states), num_actions_per_state)

    with pytest.raises(TypeError, match=r"\.tolist\(\)"):
        make_trainer(policy=TensorActions()).step([0, 1])


# --- config ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"group_size": 1}, "group_size must be an integer >= 2, got 1"),
        ({"group_size": 0}, "group_size must be an integer >= 2"),
        ({"group_size": True}, "group_size must be an integer >= 2"),
        ({"group_size": 4.0}, "group_size must be an integer >= 2"),
        ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
        ({"learning_rate": lambda _: 0.1}, "learning_rate must be a finite number > 0, got <function"),
        ({"clip_range": 0.0}, "clip_range must be a finite number > 0"),
        ({"clip_range_high": -1.0}, "clip_range_high must be a finite number > 0 or None"),
        ({"kl_coef": -0.1}, "kl_coef must be a finite number >= 0"),
        ({"kl_estimator": "k4"}, "kl_estimator must be one of 'k1', 'k2', 'k3', got 'k4'"),
        ({"ent_coef": float("nan")}, "ent_coef must be a finite number >= 0"),
        ({"ent_coef": -0.01}, "ent_coef must be a finite number >= 0"),
        ({"advantage_scaling": "std"}, "advantage_scaling must be one of 'group_std', 'batch_std', 'none'"),
        ({"baseline": "median"}, "baseline must be one of 'mean', 'leave_one_out'"),
        ({"advantage_eps": -1.0}, "advantage_eps must be a finite number >= 0"),
        ({"n_epochs": 0}, "n_epochs must be an integer >= 1"),
        ({"groups_per_batch": 0}, "groups_per_batch must be an integer >= 1 or None"),
        ({"max_grad_norm": 0.0}, "max_grad_norm must be a finite number > 0 or None"),
        ({"seed": "0"}, "seed must be an integer or None"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GRPOConfig(**kwargs)


def test_config_takes_its_old_names_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="use n_epochs") as record:
        config = GRPOConfig(group_size=3, batch_size=4, num_epochs_per_update=2, seed=1)
    assert any("use groups_per_batch" in str(w.message) for w in record)
    assert config == GRPOConfig(group_size=3, groups_per_batch=4, n_epochs=2, seed=1)
    with pytest.warns(DeprecationWarning, match="read n_epochs"):
        assert config.num_epochs_per_update == 2  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match="read groups_per_batch"):
        assert config.batch_size == 4  # type: ignore[attr-defined]
    assert dataclasses.replace(config, n_epochs=5).n_epochs == 5
    with pytest.raises(ValueError, match="both num_epochs_per_update and n_epochs"):
        GRPOConfig(n_epochs=2, num_epochs_per_update=3)
    with (
        pytest.raises(ValueError, match="groups_per_batch must be an integer >= 1"),
        pytest.warns(DeprecationWarning),
    ):
        GRPOConfig(batch_size=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"group_size": 1},
        {"clip_range": 0.0},
        {"clip_range_high": float("nan")},
        {"kl_coef": -1.0},
        {"kl_estimator": "k4"},
        {"ent_coef": -0.5},
        {"advantage_scaling": "max"},
        {"baseline": "median"},
        {"n_epochs": 0},
        {"max_grad_norm": 0.0},
        {"learning_rate": "1e-3"},
        {"group_size": None},
        {"kl_coef": None},
    ],
)
def test_config_and_grpo_share_one_rule_per_hyperparameter(kwargs: dict[str, Any]) -> None:
    from sb3_grpo import GRPO

    with pytest.raises(ValueError) as in_config:
        GRPOConfig(**kwargs)
    with pytest.raises(ValueError) as in_grpo:
        GRPO("MlpPolicy", "CartPole-v1", **kwargs)
    # the same rule: the same message, except where GRPO also takes a schedule
    assert str(in_grpo.value).replace(" or a schedule", "") == str(in_config.value)


def test_shared_hyperparameters_have_the_same_names_in_config_and_grpo() -> None:
    import inspect

    from sb3_grpo import GRPO

    grpo_parameters = set(inspect.signature(GRPO.__init__).parameters)
    config_only = {f.name for f in dataclasses.fields(GRPOConfig)} - grpo_parameters
    assert config_only == {"advantage_eps", "groups_per_batch"}


def test_every_config_field_has_help() -> None:
    from dataclasses import fields

    for f in fields(GRPOConfig):
        assert len(GRPOConfig.help(f.name)) > 20, f.name
    with pytest.raises(KeyError):
        GRPOConfig.help("nope")


# --- the core stays model-agnostic -----------------------------------------------------------------


def test_core_imports_only_torch_numpy_and_itself() -> None:
    allowed = {"torch", "numpy", "sb3_grpo"} | set(sys.stdlib_module_names)
    for path in (ROOT / "sb3_grpo" / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
                if name.startswith("sb3_grpo"):
                    assert name.startswith("sb3_grpo.core"), f"{path.name} imports {name}"


# --- examples --------------------------------------------------------------------------------------


def test_minimal_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    source = (EXAMPLES / "core_minimal.py").read_text()
    ours = [line for line in source.splitlines() if "sb3_grpo" in line and "import" in line]
    assert ours == ["from sb3_grpo import GRPOConfig, GRPOTrainer"]
    namespace = runpy.run_path(str(EXAMPLES / "core_minimal.py"), run_name="core_minimal")
    history = namespace["main"]()
    out = capsys.readouterr().out
    assert "metrics of the first step" in out and "reward_mean" in out and "clip_fraction" in out
    assert history[0]["reward_mean"] < 0.6 and history[-1]["reward_mean"] > 0.9


def test_contextual_choice_learns_from_chance_to_90_percent() -> None:
    namespace = runpy.run_path(str(EXAMPLES / "core_contextual_choice.py"), run_name="core_contextual_choice")
    before, after = namespace["train"](seed=0)
    print(f"contextual choice: fraction of best reward {before:.3f} -> {after:.3f}")
    assert before < 0.3  # chance is 1 / 5
    assert after >= 0.9


def test_boundary_values_are_accepted() -> None:
    from sb3_grpo import GRPO

    model = GRPO(
        "MlpPolicy", "CartPole-v1", gamma=1.0, kl_coef=0.0, ent_coef=0.0, branch_horizon=0, max_grad_norm=None
    )
    assert model.gamma == 1.0
    assert model.max_grad_norm == math.inf  # None: the gradient is not clipped
    config = GRPOConfig(kl_coef=0.0, ent_coef=0.0, advantage_eps=0.0, max_grad_norm=None)
    assert config.max_grad_norm is None
