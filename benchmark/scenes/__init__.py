"""Reference scenes and their demonstrations: the scene registry (``registry``), hand-authored
scenes packaged as twins (``authored``), one expert rollout (``rollout``), the recorder
(``recording``) and twin builds scored against ground truth (``twins``).

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "registry": ("load_scene", "scene_names", "scene_tasks"),
    "authored": ("package_scene", "reference_twin"),
    "rollout": ("run_expert_episode",),
    "recording": ("RecordConfig", "record"),
    "twins": ("build_and_evaluate", "check_package"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
