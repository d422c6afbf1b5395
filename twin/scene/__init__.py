"""Scenes and the robot in MuJoCo, shared by reconstruction and evaluation: scene specs
(``spec``, ``textures``), their ``MjSpec`` composition (``builder``), the Panda (``robot``), the
compiled world (``world``), a twin package as a world (``twin_world``), splat + robot compositing
(``render``, ``relight``) and the robot alone for masks (``robot_view``). Headless GL is chosen
in ``gl`` before MuJoCo loads."""
