"""The hyperparameters of GRPO in the RL Zoo (``grpo.yml``), installed as ``sb3_grpo.zoo_configs``.

``python -m sb3_grpo.zoo train`` reads ``grpo.yml`` from here when no ``-conf`` is given.
"""
