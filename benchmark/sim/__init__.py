"""Simulation on top of :mod:`twin.scene`: action spaces (``actions``), controllers and IK
(``control``), task predicates (``tasks``), the privileged scripted expert (``expert``), the
camera sensor model (``sensor``) and the PyBullet backend (``bullet_world``).

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "actions": ("ACTION_SPACES", "ActionSpace", "action_problem"),
    "control": ("make_controller",),
    "tasks": ("TaskState", "is_success", "progress", "state_from_world"),
    "expert": ("ExpertConfig", "ScriptedExpert"),
    "sensor": ("SensorModel",),
    "bullet_world": ("BulletWorld", "make_world"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
