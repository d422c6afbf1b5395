"""Headless GL selection: honours MUJOCO_GL, prefers EGL, and says what to install otherwise."""

import pytest

from twin.scene import gl


def test_explicit_backend_wins(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert gl.choose_backend() == "osmesa"


def test_egl_preferred_when_present(monkeypatch):
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(gl.ctypes.util, "find_library", lambda name: f"lib{name}.so")
    assert gl.choose_backend() == "egl"
    monkeypatch.setattr(
        gl.ctypes.util, "find_library", lambda name: "libOSMesa.so" if name == "OSMesa" else None
    )
    assert gl.choose_backend() == "osmesa"


def test_no_backend_says_what_to_install(monkeypatch):
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(gl.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(gl.HeadlessGLError, match="apt-get install libegl1"):
        gl.choose_backend()


def test_this_machine_renders_headless():
    """The real path: a backend is found and MuJoCo renders offscreen with it."""
    mujoco = gl.import_mujoco()
    spec = mujoco.MjSpec()
    spec.worldbody.add_light(pos=[0, 0, 2])
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[1, 1, 0.1], rgba=[1, 0, 0, 1])
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    with mujoco.Renderer(model, 32, 32) as renderer:
        renderer.update_scene(data)
        image = renderer.render()
    assert image[..., 0].mean() > image[..., 2].mean() + 20
