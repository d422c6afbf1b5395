"""Choose a headless OpenGL backend for MuJoCo before ``mujoco`` is first imported.

MuJoCo reads ``MUJOCO_GL`` once, at import. Unset, it tries GLFW and dies without a display,
so every module that renders imports ``mujoco`` through :func:`import_mujoco`.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

BACKENDS = ("egl", "osmesa")
_LIBRARIES = {"egl": ("EGL", "libegl1 libgl1-mesa-dri"), "osmesa": ("OSMesa", "libosmesa6")}


class HeadlessGLError(RuntimeError):
    """No headless OpenGL backend is usable on this machine."""


def available_backends() -> list[str]:
    """Backends whose shared library the dynamic loader can find, in order of preference."""
    return [b for b in BACKENDS if ctypes.util.find_library(_LIBRARIES[b][0])]


def choose_backend() -> str:
    """Return the backend to use: ``MUJOCO_GL`` if set, else EGL, else OSMesa."""
    requested = os.environ.get("MUJOCO_GL")
    if requested:
        return requested
    found = available_backends()
    if not found:
        packages = " ".join(_LIBRARIES[b][1] for b in BACKENDS)
        raise HeadlessGLError(
            "no headless OpenGL library found for MuJoCo (tried libEGL and libOSMesa); "
            f"install one, e.g. `apt-get install {packages}`, or set MUJOCO_GL"
        )
    return found[0]


def import_mujoco():
    """Import ``mujoco`` with a headless backend chosen first; return the module."""
    if "mujoco" not in sys.modules:
        backend = choose_backend()
        os.environ["MUJOCO_GL"] = backend
        if backend == "osmesa":
            os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
        elif backend == "egl":
            os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import mujoco

    return mujoco
