"""Scenes and the robot in MuJoCo, shared by reconstruction and evaluation: scene specs
(``spec``, ``textures``), their ``MjSpec`` composition (``builder``), the Panda (``robot``), the
compiled world (``world``), a twin package as a world (``twin_world``), splat + robot compositing
(``render``, ``relight``) and the robot alone for masks (``robot_view``). Headless GL is chosen
in ``gl`` before MuJoCo loads.

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "spec": ("SceneSpec", "SceneSpecError", "load_scene_spec", "scene_from_dict"),
    "builder": ("build_scene_spec",),
    "robot": ("PandaConfig", "panda_spec"),
    "gl": ("HeadlessGLError", "import_mujoco"),
    "world": ("World",),
    "twin_world": ("load_twin_world", "twin_scene", "twin_spec"),
    "render": ("TwinRenderer", "twin_splats"),
    "robot_view": ("RobotView", "RobotViewError"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
