"""GRPO in the RL Baselines3 Zoo (``rl_zoo3``, the optional extra ``pip install "sb3-grpo[zoo]"``).

- :func:`register_grpo`: ``--algo grpo`` for the zoo's ``train``/``enjoy``/``record_video``, and GRPO's
  optuna search space for ``-optimize``;
- ``python -m sb3_grpo.zoo <train|enjoy|record_video|plot_train|all_plots|plot_from_file> ...``: the zoo's
  scripts with GRPO registered (console script ``sb3-grpo-zoo``);
- hyperparameters: ``zoo_configs/grpo.yml``. See ``docs/zoo.md``.
"""

from sb3_grpo.zoo.register import ALGO_NAME, register_env_alias, register_grpo
from sb3_grpo.zoo.sampler import convert_grpo_params, sample_grpo_params

__all__ = [
    "ALGO_NAME",
    "convert_grpo_params",
    "register_env_alias",
    "register_grpo",
    "sample_grpo_params",
]
