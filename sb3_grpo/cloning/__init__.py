"""Save and restore the state of any Gymnasium env, fast and exactly (the env-cloning layer of GRPO).

* :func:`get_state` / :func:`set_state`: the state of a whole env (wrappers included);
* :class:`CloneableEnv`: the protocol an env implements to be cloned natively;
* :func:`register_adapter`: make a class of envs cloneable without touching them;
* :func:`check_cloneable`: save, step, restore, replay and report any divergence;
* :class:`CloneableWrapper` / :class:`VecEnvCloner`: the same for SB3 ``VecEnv``\\ s.

See ``docs/cloning.md``.
"""

from sb3_grpo.cloning.adapters import AttributeAdapter, EnvAdapter, register_adapter
from sb3_grpo.cloning.chain import ChainState, get_state, make_branch_copy, set_state
from sb3_grpo.cloning.checker import CloneCheckReport, Divergence, check_cloneable
from sb3_grpo.cloning.protocol import CloneableEnv, CloningError
from sb3_grpo.cloning.vec_env import VecEnvCloner
from sb3_grpo.cloning.wrappers import CloneableWrapper

__all__ = [
    "AttributeAdapter",
    "ChainState",
    "CloneCheckReport",
    "CloneableEnv",
    "CloneableWrapper",
    "CloningError",
    "Divergence",
    "EnvAdapter",
    "VecEnvCloner",
    "check_cloneable",
    "get_state",
    "make_branch_copy",
    "register_adapter",
    "set_state",
]
