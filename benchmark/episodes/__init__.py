"""Episodes: the Gymnasium env over a twin (``env``) and one recorded rollout of a policy in it
(``episode``).

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "env": ("EnvConfig", "TwinEnv"),
    "episode": ("Outcome", "run_episode"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
