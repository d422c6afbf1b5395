"""The public surface of ``twin.splats``: explicit ``__all__``, lazy loading, no name shadowed by a module."""

from __future__ import annotations

import subprocess
import sys
import types


def test_import_is_light_and_every_public_name_resolves():
    code = (
        "import sys, types, twin.splats as s; "
        "light = not any(m in sys.modules for m in ('torch', 'numba', 'mujoco')); "
        "objs = [getattr(s, n) for n in s.__all__]; "
        "print(light, all(not isinstance(o, types.ModuleType) for o in objs), sorted(s.__all__) == s.__all__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]


def test_rasterization_is_the_function():
    import twin.splats as s
    from twin.splats import fit  # noqa: F401 - importing submodules must not shadow public names

    assert callable(s.rasterization) and not isinstance(s.rasterization, types.ModuleType)
    assert s.rasterization.__module__ == "twin.splats.rendering"
