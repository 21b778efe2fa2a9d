"""GRPO: Group-Relative Policy Optimization as a Stable-Baselines3 on-policy algorithm."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import io
import json
import math
import pathlib
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any, ClassVar, Literal, TypeVar, get_type_hints

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback, ConvertCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.save_util import load_from_zip_file, open_path
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import FloatSchedule, obs_as_tensor
from stable_baselines3.common.vec_env import SubprocVecEnv, VecEnv

from sb3_grpo.callbacks import TransitionProgressBarCallback, pace_progress_bars, warn_step_paced_callbacks
from sb3_grpo.cloning import CloningError, VecEnvCloner
from sb3_grpo.cloning.adapters import env_name
from sb3_grpo.cloning.chain import cloner_for
from sb3_grpo.cloning.remote import WorkerBranches
from sb3_grpo.core.advantages import AdvantageScaling, Baseline
from sb3_grpo.core.objective import KLEstimator, grpo_loss
from sb3_grpo.core.validation import RULES, Rule, check_hyperparameters, is_choice, is_integer
from sb3_grpo.grpo.branching import (
    BranchPool,
    NumpyObs,
    VecTransforms,
    check_finite_rewards,
    record_agent_episodes,
)
from sb3_grpo.grpo.buffers import GroupRolloutBuffer, Supervision
from sb3_grpo.grpo.common_noise import sample_with_common_noise
from sb3_grpo.grpo.policies import (
    CnnPolicy,
    GRPOPolicy,
    MlpPolicy,
    MultiInputPolicy,
    log_prob_and_entropy,
    sample_actions,
)
from sb3_grpo.grpo.schedules import DEFAULT_LEARNING_RATE

SelfGRPO = TypeVar("SelfGRPO", bound="GRPO")

GroupMode = Literal["state", "episode"]
BranchNoise = Literal["independent", "common"]
BranchSamples = Literal["first", "all"]

#: Below this many parameters a policy runs on one CPU thread during ``learn()`` (``torch_threads="auto"``).
_SMALL_POLICY_PARAMETERS = 1_000_000

#: Budget of ``learn()`` when called without ``total_timesteps`` (env transitions, branches included).
DEFAULT_TOTAL_TIMESTEPS = 100_000


class GRPO(OnPolicyAlgorithm):
    """
    Group-Relative Policy Optimization (GRPO).

    Paper: Shao et al. 2024, "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open
    Language Models", https://arxiv.org/abs/2402.03300 (Section 4.1). GRPO drops PPO's critic: the
    baseline of an action is the mean score of a *group* of G alternatives tried from the same state.

    Group sampling, ``group_mode="state"`` (default): at every ``branch_interval``-th state the agent
    visits, the env state is saved, G actions are sampled from the current policy, and each is scored on a private copy of the
    env restored to that state: its reward plus, with ``branch_horizon`` H > 0, the discounted rewards
    of up to H further policy steps (stopping at termination or truncation). The agent's own trajectory
    then continues with **member 0's action** (an ordinary sample of the policy), so the rewards and
    episode statistics of the real env are those of the policy itself. The env must be cloneable
    (:mod:`sb3_grpo.cloning`).

    ``group_mode="episode"``: G whole episodes from the same reset seed, on private env copies. With
    ``supervision="outcome"`` every step of episode j gets the group-relative advantage of its return;
    with ``"process"`` the step at time t gets its discounted return-to-go compared with those of the
    members still alive at t. Needs a seedable ``reset`` and private copies of the env: clones where it
    can be cloned, else ``gym.make`` of its registered id. The episodes count as the agent's
    episodes in ``rollout/ep_rew_mean``.

    With ``n_envs > 1`` each sub-env has its own groups: a group never mixes members of two sub-envs.
    Callbacks' ``on_step`` runs once per decision of all sub-envs (state mode), or once per group of
    episodes (episode mode).

    Accounting: ``num_timesteps`` (and so ``total_timesteps`` in :meth:`learn`) counts **every** env
    transition, branch steps included, so that equal budgets compare fairly with PPO. The number of
    steps on the agent's own trajectory is logged as ``rollout/decisions``.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining
        (from 1 to 0); by default 1e-3 decaying linearly to 0 over the budget of :meth:`learn`
        (:class:`~sb3_grpo.grpo.schedules.LinearDecay`, rl-zoo's ``lin_1e-3``)
    :param n_steps: Groups collected per sub-env per update: decisions in state mode (each one group of
        G actions), groups of G episodes in episode mode
    :param batch_size: Minibatch size, in samples (one sample = one state-action pair)
    :param n_epochs: Number of epoch when optimizing the surrogate loss
    :param gamma: Discount factor of the branch continuations and of process returns-to-go
    :param group_size: G, the number of members of a group (>= 2)
    :param group_mode: "state" (G actions from each visited state) or "episode" (G episodes from one
        reset seed)
    :param branch_horizon: H, the policy steps after each member's first action (state mode); 0 scores
        actions by their immediate reward (bandits)
    :param branch_interval: State mode: run a group at every this many decisions of the agent; the
        decisions between two groups are plain steps of the policy (no branches, no samples). With an
        interval k a decision costs ``1 + G (H + 1) / k`` transitions at most, so longer branches cost
        the same budget (TRPO's vine: few states, long rollouts). 1: a group at every decision
    :param supervision: "outcome" or "process" (episode mode)
    :param skip_identical_groups: State mode, discrete actions: when the G sampled first actions of a
        group are all the same, do not run its branches and give its members advantage 0. Such a group
        says nothing about which action is better (its advantages sum to zero over a single
        ``(s, a)``); its branches would only cost transitions and add continuation noise to minibatches
    :param branch_noise: State mode with H > 0: "independent" samples each member's continuation
        actions independently; "common" draws the continuation actions of all members of a group from
        shared random numbers (common random numbers, as TRPO's vine rollouts), so that the members'
        scores differ through their first actions, not through the luck of their continuations. The
        first actions, which the group compares, are always independent samples
    :param branch_samples: State mode: what a group is learned from. "first": the G first actions, each
        with the group-relative advantage of its branch's score (the vine estimate). "all": every step
        of every branch, as a short episode group from the group's state with process supervision: the
        step at ``h`` of member j is scored by its discounted return-to-go over the rest of its branch,
        ``R_jh = sum_{h'=h..H} gamma^(h'-h) r_jh'``, against the members still running at ``h`` (GRPO's
        process supervision, DeepSeekMath Sec. 4.1.3). At ``h = 0`` this is the "first" advantage; the
        continuation steps add ``H`` samples per member for the same transitions. Needs
        ``branch_noise="independent"`` (continuations learned from must be independent samples)
    :param clip_range: Clipping parameter epsilon (low side, and high side unless ``clip_range_high``
        is given); it can be a function of the current progress remaining (from 1 to 0)
    :param clip_range_high: Upper clipping parameter (DAPO's clip-higher); None: same as clip_range
    :param kl_coef: Coefficient of the KL penalty to the reference policy (0: no reference is built)
    :param ref_update_interval: Refresh the reference policy with the current one every this many
        updates; None keeps the initial policy as reference
    :param kl_estimator: "k1", "k2" or "k3" (DeepSeekMath's unbiased, non-negative estimator)
    :param ent_coef: Entropy coefficient for the loss calculation
    :param advantage_scaling: "group_std" (DeepSeekMath), "batch_std" or "none" (Dr. GRPO)
    :param baseline: "mean" (GRPO) or "leave_one_out" (RLOO)
    :param normalize_advantage: Whether to also normalize advantages per minibatch, as PPO does
    :param max_grad_norm: The maximum value for the gradient clipping (None: no clipping)
    :param target_kl: Stop the epochs of an update early once the approximate KL to the collecting
        policy exceeds 1.5 x this (None: no limit)
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
    :param sde_sample_freq: Sample a new gSDE noise matrix every n decisions (-1: once per rollout)
    :param stats_window_size: Window size for the rollout logging
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation
    :param verbose: Verbosity level: 0 for no output, 1 for info messages, 2 for debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run
    :param torch_threads: torch's intra-op threads while :meth:`learn` runs (restored afterwards):
        "auto" uses 1 on the CPU for policies under a million parameters, whose forward passes of a
        few rows only lose time to thread synchronisation (CartPole on 2 busy cores: 324 transitions/s
        with torch's default of 2 threads, 2079/s with 1), and leaves torch's setting alone otherwise;
        an integer sets it; None never touches it
    :param gae_lambda: PPO's, refused: GRPO has no critic (see :attr:`ppo_only_arguments`)
    :param vf_coef: PPO's, refused: GRPO has no critic
    :param clip_range_vf: PPO's, refused: GRPO has no critic
    :param rollout_buffer_class: PPO's, refused: GRPO fills its own group buffer
    :param rollout_buffer_kwargs: PPO's, refused: GRPO fills its own group buffer
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    #: PPO's arguments that mean nothing without a critic or with GRPO's buffer, and why. They are in the
    #: signature only to be refused, in ``GRPO(...)``, ``GRPO.load`` and the zoo, with a message that says
    #: what to remove (Python's own "unexpected keyword argument" would not).
    ppo_only_arguments: ClassVar[dict[str, str]] = {
        "gae_lambda": "no critic, so no generalized advantage estimation (advantages are group-relative)",
        "vf_coef": "no critic, so no value loss to weigh",
        "clip_range_vf": "no critic, so no value function to clip",
        "rollout_buffer_class": "its own buffer of groups (GroupRolloutBuffer), which cannot be replaced",
        "rollout_buffer_kwargs": "its own buffer of groups (GroupRolloutBuffer), which takes no options",
    }
    policy: ActorCriticPolicy
    rollout_buffer: GroupRolloutBuffer  # type: ignore[assignment]

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = DEFAULT_LEARNING_RATE,
        n_steps: int = 8,
        batch_size: int = 16,
        n_epochs: int = 4,
        gamma: float = 0.99,
        group_size: int = 2,
        group_mode: GroupMode = "state",
        branch_horizon: int = 64,
        branch_interval: int = 8,
        supervision: Supervision = "outcome",
        skip_identical_groups: bool = True,
        branch_noise: BranchNoise = "common",
        branch_samples: BranchSamples = "first",
        clip_range: float | Schedule = 0.2,
        clip_range_high: float | None = None,
        kl_coef: float = 0.0,
        ref_update_interval: int | None = None,
        kl_estimator: KLEstimator = "k3",
        ent_coef: float = 0.0,
        advantage_scaling: AdvantageScaling = "group_std",
        baseline: Baseline = "mean",
        normalize_advantage: bool = False,
        max_grad_norm: float | None = 0.5,
        target_kl: float | None = None,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        torch_threads: int | Literal["auto"] | None = "auto",
        gae_lambda: None = None,
        vf_coef: None = None,
        clip_range_vf: None = None,
        rollout_buffer_class: None = None,
        rollout_buffer_kwargs: None = None,
        _init_setup_model: bool = True,
    ) -> None:
        _refuse_ppo_only_arguments(
            "GRPO(...)",
            gae_lambda=gae_lambda,
            vf_coef=vf_coef,
            clip_range_vf=clip_range_vf,
            rollout_buffer_class=rollout_buffer_class,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
        )
        _check_hyperparameters(
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=batch_size,
            n_epochs=n_epochs,
            gamma=gamma,
            group_size=group_size,
            group_mode=group_mode,
            branch_horizon=branch_horizon,
            branch_interval=branch_interval,
            supervision=supervision,
            skip_identical_groups=skip_identical_groups,
            branch_noise=branch_noise,
            branch_samples=branch_samples,
            clip_range=clip_range,
            clip_range_high=clip_range_high,
            kl_coef=kl_coef,
            ref_update_interval=ref_update_interval,
            kl_estimator=kl_estimator,
            ent_coef=ent_coef,
            advantage_scaling=advantage_scaling,
            baseline=baseline,
            normalize_advantage=normalize_advantage,
            max_grad_norm=max_grad_norm,
            target_kl=target_kl,
            use_sde=use_sde,
            torch_threads=torch_threads,
        )
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            gamma=gamma,
            gae_lambda=1.0,
            ent_coef=ent_coef,
            vf_coef=0.0,
            max_grad_norm=math.inf if max_grad_norm is None else max_grad_norm,  # None: no clipping
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            device=device,
            seed=seed,
            _init_setup_model=False,
            supported_action_spaces=(spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
        )
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.group_size = group_size
        self.group_mode = group_mode
        self.branch_horizon = branch_horizon
        self.branch_interval = branch_interval
        self.supervision = supervision
        self.skip_identical_groups = skip_identical_groups
        self.branch_noise = branch_noise
        self.branch_samples = branch_samples
        self.clip_range = clip_range
        self.clip_range_high = clip_range_high
        self.kl_coef = kl_coef
        self.ref_update_interval = ref_update_interval
        self.kl_estimator = kl_estimator
        self.advantage_scaling = advantage_scaling
        self.baseline = baseline
        self.normalize_advantage = normalize_advantage
        self.target_kl = target_kl
        self.torch_threads = torch_threads
        self._n_decisions = 0
        self._n_train_calls = 0
        #: ``num_timesteps`` when the last rollout began (the progress of the schedules in its update)
        self._rollout_start = 0
        self._branch_pool: BranchPool | None = None
        self._cloner: VecEnvCloner | None = None
        self._seed_rng: np.random.Generator | None = None
        #: the no-signal check is over: some group has had members with different scores, or the warning was
        #: given; and how many groups tied before that (see ``_check_signal``)
        self._signal_check_done = False
        self._flat_groups = 0

        if self.env is not None and group_mode == "state" and branch_samples == "first":
            n_samples = n_steps * self.env.num_envs * group_size
            if batch_size > n_samples:
                # As PPO with a batch larger than its buffer: every epoch is one minibatch of the rollout.
                warnings.warn(
                    f"batch_size={batch_size} is larger than a rollout ({n_samples} samples = n_steps {n_steps} x "
                    f"n_envs {self.env.num_envs} x group_size {group_size}): each epoch is one minibatch of "
                    f"{n_samples} samples. Lower batch_size or raise n_steps to silence this.",
                    UserWarning,
                    stacklevel=2,
                )
            elif n_samples % batch_size > 0:
                warnings.warn(
                    f"A rollout holds {n_samples} samples (n_steps x n_envs x group_size), which batch_size="
                    f"{batch_size} does not divide: the last minibatch of each epoch holds "
                    f"{n_samples % batch_size} samples. Pick a batch_size that divides {n_samples}.",
                    UserWarning,
                    stacklevel=2,
                )

        if _init_setup_model:
            self._setup_model()

    # ------------------------------------------------------------------ set-up
    def _setup_model(self) -> None:
        if self.branch_samples == "all" and self.branch_noise == "common":
            # here, not in __init__ only: GRPO.load(..., branch_samples=...) sets attributes, then calls this
            raise ValueError(
                "branch_samples='all' learns from the continuation steps of the branches, which must then be "
                "independent samples of the policy; branch_noise='common' draws them from shared random "
                "numbers. Pass branch_noise='independent' (or keep branch_samples='first')."
            )
        _check_policy_class(self.policy_class)
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.rollout_buffer = GroupRolloutBuffer(
            self.observation_space, self.action_space, self.group_size, device=self.device
        )
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space,
            self.action_space,
            self.lr_schedule,
            use_sde=self.use_sde,
            **self.policy_kwargs,
        )
        self.policy = self.policy.to(self.device)
        self.reference_policy: ActorCriticPolicy | None = None
        if self.kl_coef > 0:
            self.reference_policy = copy.deepcopy(self.policy)
            self.reference_policy.set_training_mode(False)
            self.reference_policy.requires_grad_(False)
        self.clip_range = FloatSchedule(self.clip_range)
        self._maybe_recommend_cpu(mlp_class_name="GRPOPolicy")

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "reference_policy", "_branch_pool", "_cloner"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts = ["policy", "policy.optimizer"]
        if self.reference_policy is not None:
            state_dicts.append("reference_policy")
        return state_dicts, []

    def set_parameters(
        self,
        load_path_or_dict: str | dict[str, Any],
        exact_match: bool = True,
        device: th.device | str = "auto",
    ) -> None:
        """
        Load parameters, as SB3's ``set_parameters``; the reference policy may be absent on either side.

        Loading with another ``kl_coef`` (``GRPO.load(path, env, kl_coef=0.04)``): a model saved without
        a KL penalty gets its reference from the loaded policy (fine-tuning with a penalty to where it
        started); a model loaded with ``kl_coef=0`` drops the saved reference.

        :param load_path_or_dict: A saved zip file, or a dict of state dicts as from ``get_parameters``
        :param exact_match: Whether every module's parameters must be given
        :param device: Device on which the parameters are loaded
        """
        params = load_path_or_dict
        if not isinstance(params, dict):
            _, params, _ = load_from_zip_file(params, device=device, load_data=False)
        params = dict(params)
        has_reference = params.get("reference_policy") is not None
        if self.reference_policy is None:
            params.pop("reference_policy", None)
        elif not has_reference and exact_match:
            params["reference_policy"] = params.get("policy", self.policy.state_dict())
        super().set_parameters(params, exact_match=exact_match, device=device)  # type: ignore[arg-type]

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfGRPO],
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfGRPO:
        """
        Load a saved model, as SB3's ``load``. Hyperparameters given in ``kwargs`` replace the saved ones
        and are checked as the constructor checks them (a bad value raises the constructor's ValueError
        or TypeError) before anything is loaded.

        :param path: A saved zip file
        :param env: The environment to run the loaded model on (None: set one later with ``set_env``)
        :param device: Device on which the model is loaded
        :param custom_objects: Objects that replace saved ones when unpickling, as in SB3
        :param print_system_info: Whether to print the system info the model was saved with
        :param force_reset: Whether to reset the environment before the next ``learn``
        :param kwargs: Attributes to change on loading (e.g. ``kl_coef=0.04`` to fine-tune with a KL penalty)
        :return: The loaded model
        """
        _refuse_ppo_only_arguments("GRPO.load(...)", **kwargs)
        _refuse_other_algorithms_models(path)
        kwargs = {name: value for name, value in kwargs.items() if name not in cls.ppo_only_arguments}
        _check_load_kwargs(kwargs)
        return super().load(  # type: ignore[return-value]
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )

    def set_env(self, env: GymEnv, force_reset: bool = True) -> None:
        super().set_env(env, force_reset=force_reset)
        self._close_branches()

    def _close_branches(self) -> None:
        if self._branch_pool is not None:
            self._branch_pool.close()
        self._branch_pool = None
        self._cloner = None

    def _make_branch_pool(self, env: VecEnv) -> BranchPool:
        """Build the private env copies of the groups (once per training env)."""
        transforms = VecTransforms(env)
        try:
            self._cloner = VecEnvCloner(env)
            if isinstance(self._cloner.venv, SubprocVecEnv):
                # the copies live in the workers, beside their sub-envs, and are stepped there in parallel
                return BranchPool([], transforms, workers=WorkerBranches(self._cloner.venv, self.group_size))
            branch_envs = [self._cloner.make_branch_envs(i, self.group_size) for i in range(env.num_envs)]
        except CloningError as error:
            if self.group_mode == "state":
                raise CloningError(
                    f"GRPO(group_mode='state') needs an env it can save and restore, and this one cannot be "
                    f"cloned: {error}\nAlternatively use group_mode='episode', which needs a seedable reset and an env registered with gymnasium (its copies are then made with gym.make)."
                ) from error
            branch_envs = self._fresh_env_copies(env)
        _close_with(env, [branch for group in branch_envs for branch in group])
        rewind = self.group_mode == "state" and any(
            cloner_for(branch).draws_from_global_generators for group in branch_envs for branch in group
        )
        if rewind and env.num_envs > 1:
            raise CloningError(
                f"GRPO(group_mode='state') cannot clone the {env.num_envs} sub-envs of this VecEnv: their env "
                f"{env_name(branch_envs[0][0])!r} draws from the process's global random generators "
                "(np.random or random), which the sub-envs share, so no copy can know what a sub-env will draw "
                "after the others. Use one sub-env (n_envs=1), or SubprocVecEnv (a process per sub-env), or "
                "draw from the env's own generator (self.np_random) instead."
            )
        return BranchPool(branch_envs, transforms, rewind_global_generators=rewind)

    def _fresh_env_copies(self, env: VecEnv) -> list[list[gym.Env]]:
        """Episode mode without cloning: new envs made from each sub-env's registered spec."""
        try:
            specs = [_recreatable_part(spec) for spec in env.get_attr("spec")]
        except ValueError:  # a spec property that cannot be built
            specs = [None]
        if any(spec is None for spec in specs):
            raise CloningError(
                "group_mode='episode' needs private copies of the env: it could neither clone it nor remake it "
                "from a registered spec. Register the env with gymnasium.register, or make it cloneable "
                "(see sb3_grpo.cloning)."
            )
        warnings.warn(
            f"group_mode='episode': the env cannot be cloned, so its group copies are made with "
            f"gym.make({specs[0].id!r}); wrappers added outside gym.make are not on the copies. Make the env "
            "cloneable (see sb3_grpo.cloning) to have copies of the whole wrapped env.",
            UserWarning,
            stacklevel=2,
        )
        return [[gym.make(spec) for _ in range(self.group_size)] for spec in specs]

    def _update_current_progress_remaining(self, num_timesteps: int, total_timesteps: int) -> None:
        # An update takes the schedules' values where its rollout began, not where it ended (SB3): a
        # rollout of 1 + G (H + 1) / k transitions per decision can overshoot the budget by its whole size,
        # and a decaying learning rate would then give the last update (or the only one of a budget under a
        # rollout) a learning rate of 0 or below.
        super()._update_current_progress_remaining(min(num_timesteps, self._rollout_start), total_timesteps)
        self._current_progress_remaining = max(0.0, self._current_progress_remaining)

    def _init_callback(self, callback: MaybeCallback, progress_bar: bool = False) -> BaseCallback:
        # SB3's bar advances by n_envs per callback call; ours by the transitions made, branches included.
        if progress_bar:
            if callback is None:
                callback = []
            elif not isinstance(callback, list):
                callback = [callback if isinstance(callback, BaseCallback) else ConvertCallback(callback)]
            callback = [*callback, TransitionProgressBarCallback()]
        callback = super()._init_callback(callback, progress_bar=False)
        pace_progress_bars(callback)
        self._warn_step_paced(callback)
        return callback

    def _warn_step_paced(self, callback: BaseCallback) -> None:
        """Warn about SB3 callbacks counting calls (``EvalCallback``...), which GRPO makes far fewer of."""
        group_size = self.group_size
        if self.group_mode == "state":
            # a decision: the agent's step and up to G branches of 1 + H steps (one group per interval)
            per_call = 1 + group_size * (self.branch_horizon + 1) / self.branch_interval
            how = f"1 + G(H+1)/k = {per_call:.0f}"
        else:
            per_call, how = group_size, f"G={group_size} whole episodes (G x their length)"
        warn_step_paced_callbacks(callback, per_call, how)

    # ---------------------------------------------------------------- sampling
    def _sample(self, obs: NumpyObs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """
        Sample actions from the current policy, with their log-probabilities.

        :param obs: A batch of observations (as the policy sees them)
        :return: actions ready for ``env.step`` (clipped/unscaled for Box), actions as sampled (what
            the log-probability is of), and ``log pi(a|s)``
        """
        with th.no_grad(), _unchecked_distributions():
            actions, log_probs = sample_actions(self.policy, self._obs_tensor(obs))
        actions_np = actions.cpu().numpy()
        return self._env_actions(actions_np), actions_np, log_probs.cpu().numpy()

    def _sample_continuation(self, obs: NumpyObs, groups: np.ndarray) -> np.ndarray:
        """
        Actions of the policy steps that continue the branches of groups (state mode), for ``env.step``.

        No log-probabilities: the continuation steps are scored, not learned from.

        :param obs: A batch of observations (as the policy sees them)
        :param groups: The group (sub-env) of each row; with ``branch_noise="common"`` rows of one group
            share their random numbers
        :return: actions ready for ``env.step``
        """
        with th.no_grad(), _unchecked_distributions():
            distribution = self.policy.get_distribution(self._obs_tensor(obs))
            if self.branch_noise == "independent":
                actions = distribution.get_actions()
            else:
                group_index = th.as_tensor(groups, device=self.device)
                actions = sample_with_common_noise(distribution, group_index, self.env.num_envs)  # type: ignore[union-attr]
            actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return self._env_actions(actions.cpu().numpy())

    def _obs_tensor(self, obs: NumpyObs) -> Any:
        """``obs`` as the policy's input, after checking it is finite.

        torch's argument checks of the action distribution are off while sampling (see
        ``_unchecked_distributions``); weights are checked after each update, so finite observations
        give finite distribution parameters.
        """
        for value in obs.values() if isinstance(obs, dict) else (obs,):
            if not np.isfinite(value).all():
                raise ValueError(
                    "The policy got a NaN/inf observation from the env (or from VecNormalize): GRPO cannot "
                    "sample actions for it. Fix the env's observations (wrap the VecEnv with "
                    "stable_baselines3.common.vec_env.VecCheckNan to find the step)."
                )
        return obs_as_tensor(obs, self.device)  # type: ignore[arg-type]

    def _env_actions(self, actions: np.ndarray) -> np.ndarray:
        """Sampled actions as ``env.step`` takes them (clipped, or unscaled when squashed, for Box)."""
        if isinstance(self.action_space, spaces.Box):
            if self.policy.squash_output:
                return self.policy.unscale_action(actions)
            return np.clip(actions, self.action_space.low, self.action_space.high)
        return actions

    # ---------------------------------------------------------------- rollouts
    def collect_rollouts(  # type: ignore[override]
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: GroupRolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """
        Collect ``n_rollout_steps`` groups per sub-env and compute their advantages.

        :param env: The training environment
        :param callback: Callback called after every step of the agent (and at rollout start/end)
        :param rollout_buffer: Buffer to fill
        :param n_rollout_steps: Groups per sub-env
        :return: False if a callback stopped training
        """
        assert self._last_obs is not None, "No previous observation was provided"
        self._rollout_start = self.num_timesteps
        if self._branch_pool is None:
            self._branch_pool = self._make_branch_pool(env)
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        if self.use_sde:
            self.policy.reset_noise(env.num_envs * self.group_size)
        callback.on_rollout_start()

        collect = self._collect_state_groups if self.group_mode == "state" else self._collect_episode_groups
        for step in range(n_rollout_steps):
            if self.use_sde and self.sde_sample_freq > 0 and step % self.sde_sample_freq == 0:
                self.policy.reset_noise(env.num_envs * self.group_size)
            if self.group_mode == "state":
                for _ in range(self.branch_interval - 1):
                    if not self._step_without_group(env, callback):
                        return False
            if not collect(env, callback, rollout_buffer):
                return False

        stats = rollout_buffer.compute_advantages(self.advantage_scaling, self.baseline)
        self.logger.record("rollout/group_reward_std", stats["group_reward_std"])
        self.logger.record("train/frac_zero_std_groups", stats["frac_zero_std_groups"])
        self.logger.record("rollout/decisions", self._n_decisions)
        self._check_signal(stats["frac_zero_std_groups"], n_rollout_steps * env.num_envs)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def _check_signal(self, frac_zero_std_groups: float, n_groups: int) -> None:
        """
        Warn once when no group has yet had members that scored differently, after at least 100 groups
        and a quarter of ``learn()``'s budget: every advantage so far was 0, so no update has had a
        policy gradient.

        :param frac_zero_std_groups: The share of this rollout's groups whose members all scored the same
        :param n_groups: The number of groups in this rollout
        """
        if self._signal_check_done:
            return
        if frac_zero_std_groups < 1.0:
            self._signal_check_done = True
            return
        self._flat_groups += n_groups
        if self._flat_groups < 100 or self.num_timesteps < 0.25 * self._total_timesteps:
            return
        self._signal_check_done = True  # warn once
        if self.group_mode == "state":
            fixes = (
                "group_mode='episode' with supervision='process' (whole episodes as groups, each step scored by "
                "its return-to-go: on Acrobot-v1 this learns where state groups do not), longer branches "
                f"(branch_horizon, now {self.branch_horizon}) or larger groups (group_size, now {self.group_size})"
            )
        else:
            fixes = f"larger groups (group_size, now {self.group_size})"
            if self.supervision == "outcome":
                fixes += ", supervision='process' (each step scored by its return-to-go)"
            if isinstance(self.action_space, spaces.Box):
                fixes += ", a wider initial Gaussian (policy_kwargs=dict(log_std_init=...))"
        warnings.warn(
            f"In {self.num_timesteps} transitions ({self._flat_groups} groups) no GRPO group has had members "
            "with different scores (train/frac_zero_std_groups has stayed 1): every advantage was 0, so the "
            "policy has learned nothing from the rewards. The groups never see a difference between actions, "
            f"as in a sparse-reward env whose reward the random policy does not reach. Try {fixes}, or a "
            "denser reward.",
            UserWarning,
            stacklevel=2,
        )

    def _collect_state_groups(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: GroupRolloutBuffer
    ) -> bool:
        """One decision per sub-env: score a group of G actions from its state, then take member 0's action."""
        assert self._branch_pool is not None and self._cloner is not None
        n_envs, group_size = env.num_envs, self.group_size
        obs = self._last_obs
        # copies in SubprocVecEnv workers restore from their sub-env: no state crosses the pipe
        states = None if self._branch_pool.in_workers else self._cloner.get_states()
        group_obs = _repeat_observations(obs, group_size)  # type: ignore[arg-type]
        env_actions, actions, log_probs = self._sample(group_obs)
        step = self._n_decisions // n_envs
        active = self._groups_to_run(actions, n_envs) if self.skip_identical_groups else None
        if self.branch_samples == "all":
            branches, n_branch_transitions = self._branch_pool.record_branches(
                states,
                (env_actions, group_obs, actions, log_probs),
                self._sample,
                self.branch_horizon,
                step,
                active,
            )
        else:
            scores, n_branch_transitions = self._branch_pool.score_actions(
                states,
                env_actions,
                self._sample_continuation,
                self.branch_horizon,
                self.gamma,
                step,
                active,
                # identical continuations add the same return to every member (common noise, no gSDE)
                stop_coinciding=self.branch_noise == "common" and not self.use_sde,
            )
        # The agent follows member 0 of each group: an ordinary sample of the policy.
        self.num_timesteps += n_branch_transitions
        callback.update_locals(locals())  # the group's scores and actions, beside the step's locals
        if not self._agent_step(env, callback, agent_actions=env_actions[::group_size]):
            return False

        if self.branch_samples == "all":
            rollout_buffer.add_episode_groups(branches, "process", self.gamma)
        else:
            rollout_buffer.add_state_groups(obs, actions, log_probs, scores)  # type: ignore[arg-type]
        return True

    def _step_without_group(self, env: VecEnv, callback: BaseCallback) -> bool:
        """A decision between two groups (``branch_interval > 1``): the policy acts, nothing is branched."""
        agent_actions, _, _ = self._sample(self._last_obs)  # type: ignore[arg-type]
        return self._agent_step(env, callback, agent_actions)

    def _agent_step(self, env: VecEnv, callback: BaseCallback, agent_actions: np.ndarray) -> bool:
        """Step the real env with the agent's actions; count, call the callbacks, keep the episode stats.

        The callbacks' locals keep those of the group before it (``env_actions``, ``scores``...).
        """
        new_obs, rewards, dones, infos = env.step(agent_actions)
        if self._branch_pool is not None:  # the runtime clone check, after a group (a no-op otherwise)
            self._branch_pool.check_first_steps(
                new_obs, rewards, dones, infos, self._n_decisions // env.num_envs
            )
        check_finite_rewards(
            rewards,
            np.arange(env.num_envs),
            f"step {self._n_decisions // env.num_envs} of the agent's trajectory",
        )
        self.num_timesteps += env.num_envs
        self._n_decisions += env.num_envs
        callback.update_locals(locals())
        if not callback.on_step():
            return False
        self._update_info_buffer(infos, dones)
        self._last_obs = new_obs  # type: ignore[assignment]
        self._last_episode_starts = dones
        return True

    def _collect_episode_groups(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: GroupRolloutBuffer
    ) -> bool:
        """One group of G episodes per sub-env, from a shared reset seed."""
        assert self._branch_pool is not None
        n_envs, group_size = env.num_envs, self.group_size
        seeds = self._episode_seed_rng().integers(0, 2**31 - 1, size=n_envs)
        episodes = self._branch_pool.run_episodes(seeds, self._sample)
        self.num_timesteps += episodes.n_transitions
        self._n_decisions += episodes.n_transitions
        rollout_buffer.add_episode_groups(episodes, self.supervision, self.gamma)

        # The group's episodes are the agent's episodes: they follow the current policy.
        for k in range(n_envs * group_size):
            self.ep_info_buffer.extend([{"r": float(episodes.raw_returns[k]), "l": int(episodes.lengths[k])}])  # type: ignore[union-attr]
        record_agent_episodes(env, episodes.raw_returns, episodes.lengths, group_size)
        callback.update_locals(locals())
        return callback.on_step()

    def _groups_to_run(self, actions: np.ndarray, n_envs: int) -> np.ndarray | None:
        """Sub-envs whose group has at least two different first actions (discrete actions only)."""
        if isinstance(self.action_space, spaces.Box):
            return None
        per_group = actions.reshape(n_envs, self.group_size, -1)
        return ~np.all(per_group == per_group[:, :1], axis=(1, 2))

    def _episode_seed_rng(self) -> np.random.Generator:
        if self._seed_rng is None:
            self._seed_rng = np.random.default_rng(self.seed)
        return self._seed_rng

    # ------------------------------------------------------------------ update
    def train(self) -> None:
        """
        Update the policy on the rollout buffer: ``n_epochs`` passes of minibatch gradient steps on the
        GRPO objective (:func:`sb3_grpo.core.objective.grpo_loss`).
        """
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        buffer = self.rollout_buffer
        if self.reference_policy is not None:
            buffer.ref_log_probs = self._reference_log_probs(buffer)

        entropy_losses, pg_losses, kl_refs, losses, clip_fractions, approx_kls = [], [], [], [], [], []
        continue_training = True
        for epoch in range(self.n_epochs):
            for batch in buffer.get(self.batch_size):
                actions = batch.actions
                if isinstance(self.action_space, spaces.Discrete):
                    actions = actions.long().flatten()
                log_prob, entropy = log_prob_and_entropy(self.policy, batch.observations, actions)
                advantages = batch.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                out = grpo_loss(
                    log_prob,
                    batch.old_log_prob,
                    advantages,
                    clip_range=clip_range,
                    clip_range_high=self.clip_range_high,
                    ref_log_prob=batch.ref_log_prob,
                    kl_coef=self.kl_coef,
                    kl_estimator=self.kl_estimator,
                    entropy=entropy,
                    ent_coef=self.ent_coef,
                )
                pg_losses.append(out.policy_loss.item())
                entropy_losses.append(-out.entropy.item())
                kl_refs.append(out.kl.item())
                losses.append(out.loss.item())
                clip_fractions.append(out.clip_fraction)
                approx_kls.append(out.approx_kl)
                if self.target_kl is not None and out.approx_kl > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {out.approx_kl:.2f}")
                    break
                self.policy.optimizer.zero_grad()
                out.loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
                if not np.isfinite(losses[-1]):
                    self._raise_non_finite_update(f"a non-finite loss ({losses[-1]})")
            self._n_updates += 1
            if not continue_training:
                break
        self._check_finite_weights()

        self._n_train_calls += 1
        if (
            self.reference_policy is not None
            and self.ref_update_interval is not None
            and self._n_train_calls % self.ref_update_interval == 0
        ):
            self.reference_policy.load_state_dict(self.policy.state_dict())

        self.logger.record("train/entropy_loss", float(np.mean(entropy_losses)) if entropy_losses else 0.0)
        self.logger.record("train/policy_gradient_loss", float(np.mean(pg_losses)) if pg_losses else 0.0)
        self.logger.record("train/kl_ref", float(np.mean(kl_refs)) if kl_refs else 0.0)
        self.logger.record("train/approx_kl", float(np.mean(approx_kls)) if approx_kls else 0.0)
        self.logger.record("train/clip_fraction", float(np.mean(clip_fractions)) if clip_fractions else 0.0)
        self.logger.record("train/loss", losses[-1] if losses else 0.0)
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        self.logger.record("train/group_size", self.group_size)

    def _check_finite_weights(self) -> None:
        """Stop when an update left a non-finite weight (checked once per update: a pass over the weights)."""
        for name, weight in self.policy.named_parameters():
            if not th.isfinite(weight).all():
                self._raise_non_finite_update(f"a non-finite weight ({name})")

    def _raise_non_finite_update(self, what: str) -> None:
        """Stop training on garbage (or a later failure in torch's distribution checks), naming the causes.

        :param what: what was non-finite
        :raises ValueError: always
        """
        raise ValueError(
            f"The policy update after {self.num_timesteps} transitions produced {what}. Likely causes: "
            "non-finite observations or rewards from the env (wrap it in VecCheckNan to find them), a "
            f"learning rate too high for this problem (now {self.policy.optimizer.param_groups[0]['lr']}), "
            "an exploding log_std (try a smaller log_std_init or use_sde), or a non-finite hyperparameter "
            "set after construction (GRPO.load(path, **kwargs) or an attribute assignment)."
        )

    def _reference_log_probs(self, buffer: GroupRolloutBuffer) -> np.ndarray:
        """``log pi_ref(a|s)`` of every sample in the buffer (no gradient)."""
        assert self.reference_policy is not None
        out = np.empty(len(buffer.actions), dtype=np.float32)
        with th.no_grad():
            for idx, obs, actions in buffer.iter_in_order(4096):
                if isinstance(self.action_space, spaces.Discrete):
                    actions = actions.long().flatten()
                log_prob, _ = log_prob_and_entropy(self.reference_policy, obs, actions)
                out[idx] = log_prob.cpu().numpy()
        return out

    # ------------------------------------------------------------------ public
    def learn(  # type: ignore[override]
        self: SelfGRPO,
        total_timesteps: int = DEFAULT_TOTAL_TIMESTEPS,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "GRPO",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfGRPO:
        """
        Train for ``total_timesteps`` env transitions (branch steps included).

        :param total_timesteps: The budget in env transitions; default 100,000
        :param callback: callback(s) called at every step of the agent's own trajectory
        :param log_interval: Log every this many rollouts
        :param tb_log_name: The name of the run for TensorBoard logging
        :param reset_num_timesteps: Whether or not to reset the current timestep number (used in logging)
        :param progress_bar: Display a progress bar using tqdm and rich.
        :return: the trained model
        """
        previous_threads = th.get_num_threads()
        threads = self._learn_threads()
        if threads is not None:
            th.set_num_threads(threads)
        try:
            return super().learn(
                total_timesteps=total_timesteps,
                callback=callback,
                log_interval=log_interval,
                tb_log_name=tb_log_name,
                reset_num_timesteps=reset_num_timesteps,
                progress_bar=progress_bar,
            )
        finally:
            th.set_num_threads(previous_threads)

    def _learn_threads(self) -> int | None:
        """torch's intra-op threads during :meth:`learn` (see ``torch_threads``); None: leave them."""
        if self.torch_threads != "auto":
            return self.torch_threads
        n_parameters = sum(p.numel() for p in self.policy.parameters())
        if self.device.type == "cpu" and n_parameters < _SMALL_POLICY_PARAMETERS:
            return 1
        return None


def ppo_only_message(names: list[str]) -> str:
    """Why GRPO has none of PPO's arguments ``names`` (each in :attr:`GRPO.ppo_only_arguments`).

    :param names: The PPO-only arguments given
    :return: one sentence per argument
    """
    return " ".join(f"{name}: GRPO has {GRPO.ppo_only_arguments[name]}." for name in names)


def _refuse_ppo_only_arguments(where: str, **given: Any) -> None:
    """Refuse PPO's arguments that GRPO does not have (None, their default, is accepted), naming them all.

    :param where: The call, for the message (``GRPO(...)``)
    :param given: Keyword arguments of that call (others than PPO-only ones are ignored)
    :raises TypeError: if any PPO-only argument is given a value
    """
    names = [name for name in GRPO.ppo_only_arguments if given.get(name) is not None]
    if names:
        raise TypeError(
            f"{where} got PPO's {', '.join(names)}, which GRPO does not have. {ppo_only_message(names)} "
            f"Remove {'it' if len(names) == 1 else 'them'} from the call; in an rl-zoo yml entry copied "
            f"from PPO's, delete the key{'s' if len(names) > 1 else ''} {', '.join(names)}."
        )


def _refuse_other_algorithms_models(path: str | pathlib.Path | io.BufferedIOBase) -> None:
    """Refuse a model zip saved by another algorithm (PPO...), whose hyperparameters would become GRPO's.

    PPO's ``n_steps`` (transitions per env) would become GRPO's groups per env, its ``batch_size`` and
    constant learning rate GRPO's: the load would run, on settings nobody chose. Only the saved data's
    names are read (a file SB3's load cannot read is left to its error).

    :param path: What was given to :meth:`GRPO.load`
    :raises ValueError: when the saved data has no ``group_size``
    """
    try:
        file = open_path(path, "r", suffix="zip")
    except (OSError, ValueError):
        return
    start = file.tell()
    try:
        with zipfile.ZipFile(file) as archive:
            saved = json.loads(archive.read("data"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return
    finally:
        if file is path:
            file.seek(start)
        else:
            file.close()
    if "policy_class" in saved and "group_size" not in saved:
        raise ValueError(
            f"{path} holds a model saved by another algorithm (PPO, A2C...), not by GRPO: its hyperparameters "
            "mean other things in GRPO (n_steps counts groups). To start GRPO from its policy, build GRPO with "
            "that policy class and load the weights: model = GRPO(stable_baselines3.ppo.MlpPolicy, env, "
            "policy_kwargs=<the same>), then model.set_parameters(path)."
        )


def _check_policy_class(policy_class: type[BasePolicy]) -> None:
    """Refuse a policy GRPO cannot train; warn that an actor-critic policy's critic stays unused.

    GRPO samples and scores actions through ``get_distribution`` only (``sample_actions``), so SB3's
    ``ActorCriticPolicy`` and its subclasses (SB3's custom-policy examples) train as PPO trains them.

    :param policy_class: The policy class given to GRPO
    :raises TypeError: for a policy without an actor-critic's action distribution
    """
    if not (isinstance(policy_class, type) and issubclass(policy_class, ActorCriticPolicy)):
        raise TypeError(
            f"GRPO needs an on-policy actor policy (sb3_grpo's 'MlpPolicy', 'CnnPolicy', 'MultiInputPolicy', "
            f"a subclass of sb3_grpo.grpo.policies.GRPOPolicy, or an SB3 ActorCriticPolicy), got {policy_class!r}."
        )
    if not issubclass(policy_class, GRPOPolicy):
        name = policy_class.__name__
        warnings.warn(
            f"{name} is an actor-critic policy: GRPO trains its actor and never uses or trains its value "
            f"network (its predict_values returns the untrained critic's values). Derive {name} from "
            "sb3_grpo.grpo.policies.GRPOPolicy instead of ActorCriticPolicy (the same hooks, such as "
            "_build_mlp_extractor) to not build the critic, or pass the string 'MlpPolicy'.",
            UserWarning,
            stacklevel=4,
        )


def _recreatable_part(spec: Any) -> Any:
    """``spec`` cut before the first wrapper that ``gym.make`` cannot recreate.

    A wrapper that does not record its constructor arguments (SB3's ``Monitor``) has no kwargs in the
    spec; the chain below it (what ``gym.make`` built: ``TimeLimit``, ...) is what gets remade.
    """
    if spec is None:
        return None
    recreatable = []
    for wrapper_spec in spec.additional_wrappers:
        if wrapper_spec.kwargs is None:
            break
        recreatable.append(wrapper_spec)
    return dataclasses.replace(spec, additional_wrappers=tuple(recreatable))


def _close_with(env: VecEnv, branch_envs: list[gym.Env]) -> None:
    """Make ``env.close()`` (on the VecEnv or any wrapper of it) also close ``branch_envs``."""
    base = env.unwrapped  # every VecEnvWrapper's close() ends in its base VecEnv's
    close_base = base.close

    def close() -> None:
        for branch in branch_envs:
            branch.close()
        close_base()

    base.close = close  # type: ignore[method-assign]


@contextlib.contextmanager
def _unchecked_distributions() -> Iterator[None]:
    """torch's argument checks of distributions off: at the 2-16 rows of a branch step they cost about a
    quarter of a CartPole run's wall time (measured in docs/benchmarks.md)."""
    previous = th.distributions.Distribution._validate_args
    th.distributions.Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        th.distributions.Distribution.set_default_validate_args(previous)


def _repeat_observations(obs: NumpyObs, repeats: int) -> NumpyObs:
    """Repeat each env's observation ``repeats`` times (env-major), dicts key by key."""
    if isinstance(obs, dict):
        return {key: np.repeat(value, repeats, axis=0) for key, value in obs.items()}
    return np.repeat(obs, repeats, axis=0)


#: GRPO's own rules, beside the ones it shares with the core (``sb3_grpo.core.validation.RULES``)
_RULES: dict[str, Rule] = {
    **RULES,
    "n_steps": Rule(integer=True, minimum=1),
    "batch_size": Rule(
        integer=True,
        minimum=2,
        hint="with one sample per minibatch normalized advantages are NaN "
        "(see https://github.com/DLR-RM/stable-baselines3/issues/440)",
    ),
    "gamma": Rule(minimum=0, maximum=1),
    "branch_horizon": Rule(integer=True, minimum=0, hint="0 scores the first reward only"),
    "branch_interval": Rule(integer=True, minimum=1),
    "ref_update_interval": Rule(
        integer=True, minimum=1, optional=True, hint="None keeps the initial policy as reference"
    ),
    "target_kl": Rule(minimum=0, strict=True, optional=True),
}


@functools.cache
def _init_annotations() -> dict[str, Any]:
    return get_type_hints(GRPO.__init__)


def _check_load_kwargs(kwargs: dict[str, Any]) -> None:
    """Check the hyperparameters given to ``GRPO.load`` by the constructor's rules (each rule reads one value)."""
    annotations = _init_annotations()
    given = {
        name: value
        for name, value in kwargs.items()
        if name in _RULES
        or name == "torch_threads"
        or annotations.get(name) is bool
        or is_choice(annotations.get(name))
    }
    _check_hyperparameters(**given)


def _check_hyperparameters(**values: Any) -> None:
    """Reject bad hyperparameters up front, each by its one rule, saying what to change."""
    threads = values.pop("torch_threads", None)
    check_hyperparameters(values, _init_annotations(), _RULES, schedules=True)
    if threads not in ("auto", None) and (not is_integer(threads) or threads < 1):
        raise ValueError(
            f"torch_threads must be 'auto', None or an integer >= 1 (got {threads!r}); 'auto' uses one thread "
            "for small policies on the CPU."
        )
