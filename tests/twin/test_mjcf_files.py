"""What an MJCF document reaches: a package's scene.xml reaching outside the package is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.scene.mjcf_files import MJCFFileError, outside, reached_files


def _scene(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "scene.xml"
    path.write_text(f"<mujoco>{body}</mujoco>")
    return path


def test_files_inside_the_package_are_fine(tmp_path):
    root = tmp_path / "pkg"
    scene = _scene(root, '<compiler meshdir="meshes"/><asset><mesh file="a.obj"/>'
                         '<texture name="t" type="2d" file="textures/t.png"/></asset>')  # fmt: skip
    assert outside(scene, root) == []
    assert [p.relative_to(root).as_posix() for p in reached_files(scene)] == [
        "meshes", "meshes/a.obj", "textures/t.png",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        '<include file="/etc/hostname"/>',
        '<include file="../other.xml"/>',
        '<asset><mesh file="../../stolen.obj"/></asset>',
        '<compiler texturedir="/usr/share"/><asset><texture type="2d" file="x.png"/></asset>',
        '<compiler assetdir=".."/><asset><mesh file="m.obj"/></asset>',
        '<asset><texture type="cube" fileright="/tmp/r.png"/></asset>',
    ],
)
def test_a_file_outside_the_package_is_named(tmp_path, body):
    root = tmp_path / "pkg"
    problems = outside(_scene(root, body), root)
    assert problems and all("outside the package" in p for p in problems)


def test_includes_are_followed_and_a_link_out_is_caught(tmp_path):
    root = tmp_path / "pkg"
    (tmp_path / "secret.obj").write_text("v 0 0 0")
    root.mkdir()
    (root / "inner.xml").write_text('<mujoco><asset><mesh file="link.obj"/></asset></mujoco>')
    (root / "link.obj").symlink_to(tmp_path / "secret.obj")
    scene = _scene(root, '<include file="inner.xml"/>')
    assert outside(scene, root) == [f"{scene}: reaches {root / 'link.obj'}, outside the package"]


def test_an_unreadable_document_is_one_error(tmp_path):
    path = tmp_path / "scene.xml"
    path.write_text("<mujoco><include")
    with pytest.raises(MJCFFileError, match="not readable MJCF"):
        reached_files(path)
