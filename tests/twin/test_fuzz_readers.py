"""Seeded fuzzing of the readers of the shared formats: damaged demonstration folders and twin
packages end in success or in the reader's own error, one line naming the folder; never in another
exception. Mutations come from ``tests/fuzzing.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fuzzing import REFUSED, assert_one_error_line, mutate_file, read_or_refused, run_cli
from small_inputs import small_demo, small_package

from twin.demonstration import DemonstrationError, read_demonstration, write_demonstration
from twin.package import REPORT_FILES, TwinPackageError, check_twin, read_twin

DEMO_MUTATIONS = 240
TWIN_MUTATIONS = 300


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    """A small, sound demonstration folder; copy it before damaging it."""
    return write_demonstration(tmp_path_factory.mktemp("fuzz_demo") / "demo", small_demo())


@pytest.fixture(scope="module")
def twin_folder(tmp_path_factory) -> Path:
    """A small, sound twin package; copy it before damaging it."""
    return small_package(tmp_path_factory.mktemp("fuzz_twin") / "twin")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _read_and_check(folder: Path) -> list[str]:
    read_twin(folder)
    return check_twin(folder)


def test_the_unmutated_fixtures_are_sound(demo_folder, twin_folder):
    demo = read_demonstration(demo_folder)
    assert list(demo.cameras) == ["front", "wrist"] and demo.num_frames == 6
    assert read_twin(twin_folder).task["max_seconds"] == 20.0
    assert check_twin(twin_folder) == []


def test_fuzzed_demonstration_folders(demo_folder, tmp_path):
    """Each damaged folder reads, or raises DemonstrationError in one line naming the folder."""
    rng = np.random.default_rng(20250611)
    outcomes = {"read": 0, "refused": 0}
    for i in range(DEMO_MUTATIONS):
        folder = tmp_path / "demo"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(demo_folder, folder)
        files = _files(folder)
        how = mutate_file(files[rng.integers(len(files))], rng)
        mutation = f"mutation {i} ({how})"
        read = read_or_refused(
            read_demonstration, folder, error=DemonstrationError, naming=folder, mutation=mutation
        )
        outcomes["refused" if read is REFUSED else "read"] += 1
    assert outcomes["refused"] >= DEMO_MUTATIONS // 3, outcomes
    assert outcomes["read"] > 0, outcomes


def test_fuzzed_twin_packages(twin_folder, tmp_path):
    """Each damaged package reads or raises TwinPackageError (one line naming the package);
    check_twin never raises, and it reports every change to a file the simulation reads."""
    rng = np.random.default_rng(20250612)
    outcomes = {"read": 0, "refused": 0, "changes noticed": 0}
    for i in range(TWIN_MUTATIONS):
        folder = tmp_path / "twin"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(twin_folder, folder)
        files = _files(folder)
        target = files[rng.integers(len(files))]
        before = target.read_bytes()
        how = mutate_file(target, rng)

        mutation = f"mutation {i} ({how})"
        problems = read_or_refused(
            _read_and_check, folder, error=TwinPackageError, naming=folder, mutation=mutation
        )
        if problems is REFUSED:
            outcomes["refused"] += 1
            continue
        outcomes["read"] += 1
        assert all(isinstance(p, str) and "\n" not in p for p in problems), problems
        changed = not target.exists() or target.read_bytes() != before
        if changed and target.name not in REPORT_FILES:
            assert problems, f"mutation {i} ({how}) went unnoticed by check_twin"
            outcomes["changes noticed"] += 1
    assert outcomes["refused"] >= TWIN_MUTATIONS // 4, outcomes
    assert outcomes["read"] > 0 and outcomes["changes noticed"] > 0, outcomes


def test_a_broken_demonstration_is_one_error_line_from_the_cli(demo_folder, tmp_path):
    folder = Path(shutil.copytree(demo_folder, tmp_path / "demo"))
    depth = folder / "depth.npz"
    depth.write_bytes(depth.read_bytes()[:100])
    out = run_cli("twin", "build", str(folder), "-o", str(tmp_path / "twin"))
    assert_one_error_line(out, "depth.npz", "unreadable")
    assert not (tmp_path / "twin").exists()
