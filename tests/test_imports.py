"""Importing the top-level packages stays light: no simulator, no torch, no GUI."""

import subprocess
import sys


def test_top_level_imports_load_no_heavy_dependency():
    code = (
        "import sys, twin, benchmark, dashboard, benchmark.cli; "
        "heavy = [m for m in ('mujoco', 'torch', 'pybullet', 'numba', 'streamlit') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
