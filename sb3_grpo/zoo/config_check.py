"""Turn a bad zoo config entry into a one-line error that names the key, instead of a deep traceback.

:class:`CheckedExperimentManager` is the zoo's ``ExperimentManager`` with two additions: the entry read
from the yaml file (with ``-params`` overrides) is checked before any env is made (unknown keys,
missing ``policy``/``n_timesteps``, schedule strings, text where a number is expected), and what the
algorithm's constructor rejects (``TypeError``/``ValueError``) is re-raised as :class:`ZooConfigError`
with the key it is about. ``python -m sb3_grpo.zoo train`` prints that message and exits with status 2.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Iterable
from typing import Any

from rl_zoo3.exp_manager import ExperimentManager
from rl_zoo3.utils import ALGOS
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_grpo.grpo.grpo import ppo_only_message

#: Keys the zoo reads itself and does not pass to the algorithm.
ZOO_KEYS: frozenset[str] = frozenset(
    {
        "n_timesteps",
        "n_envs",
        "normalize",
        "frame_stack",
        "env_wrapper",
        "vec_env_wrapper",
        "callback",
        "monitor_kwargs",
        "env_kwargs",
    }
)

#: Keys the zoo turns into ``action_noise`` (for algorithms that take one).
NOISE_KEYS: frozenset[str] = frozenset({"noise_type", "noise_std"})

#: Constructor arguments the zoo sets from its command line: a config entry must not hold them.
COMMAND_LINE_KEYS: dict[str, str] = {
    "env": "--env",
    "seed": "--seed",
    "verbose": "--verbose",
    "device": "--device",
    "tensorboard_log": "--tensorboard-log",
}

#: Keys whose string values the zoo parses as ``lin_<initial value>`` schedules.
SCHEDULE_KEYS: tuple[str, ...] = ("learning_rate", "clip_range", "clip_range_vf", "delta_std")

_SCHEDULE = re.compile(r"^lin_[-+0-9.eE]+$")


class ZooConfigError(ValueError):
    """A config entry the zoo cannot run, described in one line that names the key."""


def constructor_keys(algo_class: type[BaseAlgorithm]) -> dict[str, inspect.Parameter] | None:
    """The keyword arguments a config entry may give to an algorithm.

    :param algo_class: The algorithm class
    :return: its constructor's parameters by name (without those the zoo sets), or None when it takes
        ``**kwargs`` (any key is then possible)
    """
    parameters = inspect.signature(algo_class.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    hidden = {"self", *COMMAND_LINE_KEYS}
    return {name: p for name, p in parameters.items() if name not in hidden and not name.startswith("_")}


def check_entry(hyperparams: dict[str, Any], algo: str, where: str) -> None:
    """Check a config entry before the zoo uses it.

    :param hyperparams: The entry (yaml values, ``-params`` overrides applied)
    :param algo: The zoo's algorithm key (``grpo``)
    :param where: Where the entry comes from, for the message (``file [env]``)
    :raises ZooConfigError: naming the first bad key
    """
    for required in ("n_timesteps", "policy"):
        if required not in hyperparams:
            raise ZooConfigError(
                f"{where}: missing key {required!r} (every zoo entry needs n_timesteps and policy)."
            )
    for key, option in COMMAND_LINE_KEYS.items():
        if key in hyperparams:
            raise ZooConfigError(
                f"{where}: key {key!r} is set by the zoo's command line: remove it, use {option}."
            )
    for key in SCHEDULE_KEYS:
        value = hyperparams.get(key)
        if isinstance(value, str) and not _is_schedule(value):
            raise ZooConfigError(
                f"{where}: bad value {key}={value!r}: use a number or a linear schedule such as 'lin_3e-4'."
            )
    ppo_only = [key for key in getattr(ALGOS[algo], "ppo_only_arguments", {}) if key in hyperparams]
    if ppo_only:
        keys = ", ".join(ppo_only)
        raise ZooConfigError(
            f"{where}: delete the key{'s' if len(ppo_only) > 1 else ''} {keys} (PPO's; was this entry copied "
            f"from a PPO config?). {ppo_only_message(ppo_only)}"
        )
    known = constructor_keys(ALGOS[algo])
    if known is None:
        return
    for key, value in hyperparams.items():
        if key in ZOO_KEYS:
            continue
        if key not in known:
            raise ZooConfigError(
                f"{where}: unknown hyperparameter {key!r}{_did_you_mean(key, [*known, *ZOO_KEYS])}"
            )
        default = known[key].default
        is_number = isinstance(default, (int, float)) and not isinstance(default, bool)
        if is_number and key not in SCHEDULE_KEYS and isinstance(value, str):
            raise ZooConfigError(
                f"{where}: bad value {key}={value!r}: a number is expected (default: {default!r})."
            )


def describe_constructor_error(error: Exception, hyperparams: dict[str, Any], algo: str, where: str) -> str:
    """One line for an error raised while the zoo built the env and the model from an entry.

    :param error: The ``TypeError``/``ValueError`` raised
    :param hyperparams: The entry (to find which key the message is about)
    :param algo: The zoo's algorithm key
    :param where: Where the entry comes from (``file [env]``)
    :return: the message, naming the key when it can be found
    """
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    unexpected = re.search(r"unexpected keyword argument '(\w+)'", message)
    if unexpected:
        key = unexpected.group(1)
        known = constructor_keys(ALGOS[algo]) or {}
        return f"{where}: unknown hyperparameter {key!r}{_did_you_mean(key, [*known, *_zoo_keys(known)])}"
    keys = [key for key in hyperparams if re.search(rf"\b{re.escape(key)}\b", message)]
    about = f"hyperparameter {keys[0]!r}" if keys else "entry"
    return f"{where}: bad {about}: {message}"


class CheckedExperimentManager(ExperimentManager):
    """The zoo's ``ExperimentManager``, whose config errors are :class:`ZooConfigError` naming the key.

    Takes the same arguments as ``rl_zoo3.exp_manager.ExperimentManager``.
    """

    _entry: dict[str, Any] | None = None

    def _where(self) -> str:
        return f"{self.config} [{self.env_name.gym_id}]"

    def read_hyperparameters(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read the entry as the zoo does, then check it (see :func:`check_entry`).

        :return: the entry and its sorted copy for ``config.yml``, as the parent returns them
        """
        try:
            hyperparams, saved_hyperparams = super().read_hyperparameters()
        except ValueError as error:  # no entry for this env
            raise ZooConfigError(str(error)) from error
        check_entry(hyperparams, self.algo, self._where())
        self._entry = dict(hyperparams)
        return hyperparams, saved_hyperparams

    def setup_experiment(self) -> Any:
        """The zoo's set-up, with the algorithm's ``TypeError``/``ValueError`` re-raised as
        :class:`ZooConfigError`.

        :return: what the parent returns (the model and the saved entry, or None when tuning)
        """
        try:
            return super().setup_experiment()
        except ZooConfigError:
            raise
        except (TypeError, ValueError) as error:
            if self._entry is None:  # the entry was not read: not a config error
                raise
            raise ZooConfigError(
                describe_constructor_error(error, self._entry, self.algo, self._where())
            ) from error


def _zoo_keys(known: dict[str, inspect.Parameter]) -> frozenset[str]:
    """The keys the zoo consumes for an algorithm with these constructor parameters."""
    return ZOO_KEYS | NOISE_KEYS if "action_noise" in known else ZOO_KEYS


def _is_schedule(value: str) -> bool:
    if not _SCHEDULE.match(value):
        return False
    try:
        float(value.split("_", 1)[1])
    except ValueError:
        return False
    return True


def _did_you_mean(key: str, valid: Iterable[str]) -> str:
    valid = sorted(set(valid))
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; valid keys: {', '.join(valid)}"
