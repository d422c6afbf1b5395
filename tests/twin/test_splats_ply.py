"""3DGS PLY files: our round trip is bit-exact, and files in the published layout load."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from twin.splats.gaussians import Splats
from twin.splats.ply import read_ply, splat_field_names, write_ply
from twin.splats.rendering import rasterization


def _random_splats(n, degree, normals=False, seed=0):
    rng = np.random.default_rng(seed)
    return Splats(
        means=rng.normal(size=(n, 3)),
        quats=rng.normal(size=(n, 4)),
        log_scales=rng.normal(size=(n, 3)) - 3,
        opacity_logits=rng.normal(size=n),
        sh=rng.normal(size=(n, (degree + 1) ** 2, 3)),
        normals=rng.normal(size=(n, 3)) if normals else None,
    )


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize("normals", [False, True])
def test_round_trip_is_bit_identical(tmp_path, degree, normals):
    splats = _random_splats(257, degree, normals)
    first, second = tmp_path / "a.ply", tmp_path / "b.ply"
    write_ply(first, splats)
    back = read_ply(first)
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh"):
        a, b = getattr(splats, name), getattr(back, name)
        assert a.dtype == b.dtype == np.float32
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32)), name
    if normals:
        assert np.array_equal(splats.normals, back.normals)
    write_ply(second, back)
    assert first.read_bytes() == second.read_bytes()


def test_empty_set_round_trips(tmp_path):
    write_ply(tmp_path / "e.ply", _random_splats(0, 2))
    assert len(read_ply(tmp_path / "e.ply")) == 0


def _published_layout_file(path, n, fmt="binary_little_endian", extra_element=False, double=False):
    """A file written field by field from the layout of the 3DGS reference code (``save_ply``):
    x y z nx ny nz f_dc_0..2 f_rest_0..44 opacity scale_0..2 rot_0..3, one float each, plus an
    extra property a foreign tool might add.  Values encode (vertex, field) so we can check mapping."""
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(45)]
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "label"]
    typ = "double" if double else "float"
    lines = ["ply", f"format {fmt} 1.0", "comment written by a hypothetical trainer", f"element vertex {n}"]
    lines += [f"property {'uchar' if nm == 'label' else typ} {nm}" for nm in names]
    if extra_element:
        lines += ["element camera 1", "property float fx"]
    lines.append("end_header")
    values = np.array([[v * 100 + j + 0.25 for j in range(len(names))] for v in range(n)], dtype=np.float64)
    values[:, -1] = 7  # label
    values[:, names.index("rot_0")] = 1.0  # a valid rotation
    with open(path, "wb") as f:
        f.write(("\n".join(lines) + "\n").encode())
        for row in values:
            if fmt == "ascii":
                f.write(
                    (
                        " ".join(
                            str(int(x)) if i == len(names) - 1 else repr(float(x)) for i, x in enumerate(row)
                        )
                        + "\n"
                    ).encode()
                )
            else:
                end = "<" if fmt == "binary_little_endian" else ">"
                code = "d" if double else "f"
                f.write(struct.pack(end + code * (len(names) - 1) + "B", *row[:-1], int(row[-1])))
        if extra_element:
            f.write(b"1.0\n" if fmt == "ascii" else struct.pack("<f", 1.0))
    return names, values


@pytest.mark.parametrize(
    "variant",
    [
        dict(),
        dict(fmt="binary_big_endian"),
        dict(fmt="ascii", extra_element=True),
        dict(double=True, extra_element=True),
    ],
)
def test_reads_file_built_from_published_layout(tmp_path, variant):
    path = tmp_path / "foreign.ply"
    names, values = _published_layout_file(path, 5, **variant)
    splats = read_ply(path)
    col = {nm: values[:, i].astype(np.float32) for i, nm in enumerate(names)}
    assert splats.sh_degree == 3 and len(splats) == 5
    np.testing.assert_array_equal(splats.means, np.stack([col["x"], col["y"], col["z"]], 1))
    np.testing.assert_array_equal(splats.normals, np.stack([col["nx"], col["ny"], col["nz"]], 1))
    np.testing.assert_array_equal(splats.opacity_logits, col["opacity"])
    np.testing.assert_array_equal(splats.log_scales, np.stack([col[f"scale_{i}"] for i in range(3)], 1))
    np.testing.assert_array_equal(splats.quats, np.stack([col[f"rot_{i}"] for i in range(4)], 1))
    for c in range(3):
        np.testing.assert_array_equal(splats.sh[:, 0, c], col[f"f_dc_{c}"])
        for j in range(15):  # channel-major: f_rest_{c*15 + j} is coefficient j+1 of channel c
            np.testing.assert_array_equal(splats.sh[:, 1 + j, c], col[f"f_rest_{c * 15 + j}"])


def test_our_header_is_the_published_layout(tmp_path):
    write_ply(tmp_path / "s.ply", _random_splats(3, 3))
    header = (tmp_path / "s.ply").read_bytes().split(b"end_header")[0].decode().splitlines()
    props = [line.split()[-1] for line in header if line.startswith("property")]
    assert header[1] == "format binary_little_endian 1.0"
    assert all(line.startswith("property float ") for line in header if line.startswith("property"))
    assert props == splat_field_names(3)
    assert props[:9] == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    assert props[-8:] == ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]


def test_degree0_file_without_normals_renders(tmp_path):
    names = [
        "x",
        "y",
        "z",
        "f_dc_0",
        "f_dc_1",
        "f_dc_2",
        "opacity",
        "scale_0",
        "scale_1",
        "scale_2",
        "rot_0",
        "rot_1",
        "rot_2",
        "rot_3",
    ]
    row = [0.0, 0.0, 2.0, 1.0, 0.0, -1.0, 3.0, -2.0, -2.0, -2.0, 1.0, 0.0, 0.0, 0.0]
    header = ["ply", "format binary_little_endian 1.0", "element vertex 1"]
    header += [f"property float {nm}" for nm in names] + ["end_header"]
    (tmp_path / "one.ply").write_bytes(("\n".join(header) + "\n").encode() + struct.pack("<14f", *row))
    splats = read_ply(tmp_path / "one.ply")
    assert splats.normals is None and splats.sh_degree == 0
    p = splats.activated()
    k = torch.tensor([[[20.0, 0, 16], [0, 20.0, 12], [0, 0, 1]]])
    out = rasterization(
        p["means"],
        p["quats"],
        p["scales"],
        p["opacities"],
        p["colors"],
        torch.eye(4)[None],
        k,
        32,
        24,
        sh_degree=0,
        backend="cpu",
    )
    centre = out.rgb[0, 12, 16]
    assert centre[0] > centre[1] > centre[2]  # f_dc (1, 0, -1) → reddish
