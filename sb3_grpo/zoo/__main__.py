"""``python -m sb3_grpo.zoo <command> [zoo flags]`` (console script ``sb3-grpo-zoo``).

Registers GRPO in ``rl_zoo3`` (:func:`sb3_grpo.zoo.register_grpo`), then runs the zoo's own script with
all of its flags:

- ``train``: ``rl_zoo3.train`` (``-conf``, ``-n``, ``-optimize``, ``--storage``, ``--study-name``...);
- ``enjoy``: ``rl_zoo3.enjoy``;
- ``record_video``: ``rl_zoo3.record_video`` (needs an env with ``rgb_array`` rendering and moviepy);
- ``plot_train``, ``all_plots``, ``plot_from_file``: ``rl_zoo3.plots``. Ours adds ``--save FILE``, which
  writes the figure(s) to ``FILE`` (``FILE``, ``FILE-1``... when there are several) instead of only
  showing them, handy with the Agg backend.

``train --algo grpo`` without ``-conf`` reads the hyperparameters shipped with the package
(:func:`default_config`, the repository's ``zoo_configs/grpo.yml``).
``--env module:EnvId`` (``sb3_grpo.envs:DynamicBandit-v0``) imports ``module`` first, as ``gymnasium.make`` does.
A bad config entry ends ``train`` with one line naming the key and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib.resources
import random
import runpy
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sb3_grpo.zoo.register import register_env_alias, register_grpo

#: The commands and what they run.
COMMANDS: dict[str, str] = {
    "train": "rl_zoo3.train (train, or tune with -optimize)",
    "enjoy": "rl_zoo3.enjoy (run a trained agent)",
    "record_video": "rl_zoo3.record_video (record a trained agent)",
    "plot_train": "rl_zoo3.plots.plot_train (training curves from the Monitor logs)",
    "all_plots": "rl_zoo3.plots.all_plots (evaluation curves from evaluations.npz)",
    "plot_from_file": "rl_zoo3.plots.plot_from_file (plots from all_plots' saved results)",
}

PLOT_COMMANDS = ("plot_train", "all_plots", "plot_from_file")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one of the zoo's scripts with GRPO registered.

    :param argv: ``[command, *zoo flags]``; default: ``sys.argv[1:]``
    :return: the exit status (0: success, 2: bad command or bad config entry)
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        listing = "\n".join(f"  {name:<15} {what}" for name, what in COMMANDS.items())
        usage = f"usage: python -m sb3_grpo.zoo <command> [zoo flags]\n\ncommands:\n{listing}\n"
        if args and args[0] in ("-h", "--help"):
            print(usage)
            return 0
        print(f"{usage}\nerror: unknown command {args[0]!r}" if args else usage, file=sys.stderr)
        return 2
    command, flags = args[0], args[1:]
    register_grpo()
    env_id = _flag_value(flags, "--env")
    if env_id is not None and command in ("train", "enjoy", "record_video"):
        register_env_alias(env_id)
    if command in PLOT_COMMANDS:
        return _run_plot(command, flags)
    if command == "train" and _flag_value(flags, "--algo") == "grpo" and not _has_config(flags):
        flags = [*flags, "-conf", str(default_config())]
    storage = _flag_value(flags, "--storage")
    if command == "train" and storage is not None and "://" in storage:
        prepare_database(storage)
    return _run_script(command, flags)


def prepare_database(url: str, attempts: int = 5) -> None:
    """Create optuna's tables in the database ``url`` if they are missing, safely from several workers.

    Workers started at once on an empty PostgreSQL database race to create the tables, and all but one
    fail with a unique-key violation (measured with two zoo workers); creating them again after a
    short random pause finds them made.

    :param url: an optuna RDB storage URL (``postgresql+psycopg://...``, ``sqlite:///...``)
    :param attempts: tries before the last error is raised
    """
    import optuna
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            optuna.storages.RDBStorage(url)
            return
        except sqlalchemy.exc.SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.2, 1.0))


def default_config() -> Path:
    """The zoo hyperparameters shipped with the package (``zoo_configs/grpo.yml`` in the repository)."""
    return Path(str(importlib.resources.files("sb3_grpo.zoo_configs") / "grpo.yml"))


def _has_config(flags: Sequence[str]) -> bool:
    return any(flag.split("=", 1)[0] in ("-conf", "--conf-file") for flag in flags)


def _run_script(command: str, flags: list[str]) -> int:
    """Run ``train``, ``enjoy`` or ``record_video`` as the zoo's own command line would."""
    from sb3_grpo.zoo.config_check import CheckedExperimentManager, ZooConfigError

    old_argv = sys.argv
    sys.argv = [f"sb3_grpo.zoo {command}", *flags]
    try:
        if command == "train":
            import rl_zoo3.train

            rl_zoo3.train.ExperimentManager = CheckedExperimentManager  # type: ignore[misc]
            rl_zoo3.train.train()
        elif command == "enjoy":
            from rl_zoo3.enjoy import enjoy

            enjoy()
        else:
            # The zoo's record_video runs under ``if __name__ == "__main__"``.
            runpy.run_module("rl_zoo3.record_video", run_name="__main__")
    except ZooConfigError as error:
        print(f"sb3_grpo.zoo {command}: error: {error}", file=sys.stderr)
        return 2
    finally:
        sys.argv = old_argv
    return 0


def _run_plot(command: str, flags: list[str]) -> int:
    """Run a plot script of ``rl_zoo3.plots``, saving its figures when ``--save FILE`` is given."""
    save_parser = argparse.ArgumentParser(add_help=False)
    save_parser.add_argument("--save", type=Path, default=None)
    known, zoo_flags = save_parser.parse_known_args(flags)

    import matplotlib.pyplot as plt
    import rl_zoo3.plots

    script: Callable[[], None] = getattr(rl_zoo3.plots, command)
    old_argv = sys.argv
    sys.argv = [f"sb3_grpo.zoo {command}", *zoo_flags]
    try:
        script()
    finally:
        sys.argv = old_argv
    if known.save is not None:
        for i, number in enumerate(plt.get_fignums()):
            path = known.save if i == 0 else known.save.with_stem(f"{known.save.stem}-{i}")
            path.parent.mkdir(parents=True, exist_ok=True)
            plt.figure(number).savefig(path)
            print(f"Saved {path}")
    return 0


def _flag_value(flags: Sequence[str], name: str) -> str | None:
    """The value of ``name VALUE`` or ``name=VALUE`` in a command line, if present."""
    for i, flag in enumerate(flags):
        if flag == name and i + 1 < len(flags):
            return flags[i + 1]
        if flag.startswith(f"{name}="):
            return flag.split("=", 1)[1]
    return None


if __name__ == "__main__":
    sys.exit(main())
