"""Read and write Gaussian splats in the standard 3DGS PLY layout.

One ``vertex`` element with float properties ``x y z``, optional ``nx ny nz``, ``f_dc_0..2``,
``f_rest_0..3(K-1)-1`` (channel-major: all red coefficients, then green, then blue), ``opacity``
(logit), ``scale_0..2`` (log) and ``rot_0..3`` (w, x, y, z) — the layout the original 3DGS code,
gsplat's exporter and common viewers (SuperSplat, antimatter15/splat, nerfstudio) use.  We write
binary little-endian float32; we read binary (either endianness) or ASCII, any numeric property
type, ignoring properties and elements we do not use.  Written files read back bit-identically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from twin.splats.errors import PlyFormatError
from twin.splats.gaussians import Splats

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_REST_COUNTS = {0: 0, 9: 1, 24: 2, 45: 3}  # number of f_rest fields → SH degree


def splat_field_names(sh_degree: int, with_normals: bool = True) -> list[str]:
    """Vertex property names, in file order, for splats of ``sh_degree``."""
    names = ["x", "y", "z"] + (["nx", "ny", "nz"] if with_normals else [])
    names += [f"f_dc_{i}" for i in range(3)]
    names += [f"f_rest_{i}" for i in range(3 * ((sh_degree + 1) ** 2 - 1))]
    names += ["opacity"] + [f"scale_{i}" for i in range(3)] + [f"rot_{i}" for i in range(4)]
    return names


def write_ply(path: str | os.PathLike, splats: Splats) -> None:
    """Write ``splats`` as binary little-endian 3DGS PLY (normals written as zeros if absent)."""
    n, k = len(splats), splats.sh.shape[1]
    names = splat_field_names(splats.sh_degree)
    data = np.empty(n, dtype=[(name, "<f4") for name in names])
    columns = np.concatenate(
        [
            splats.means,
            np.zeros((n, 3), np.float32) if splats.normals is None else splats.normals,
            splats.sh[:, 0, :],
            splats.sh[:, 1:, :].transpose(0, 2, 1).reshape(n, 3 * (k - 1)),
            splats.opacity_logits[:, None],
            splats.log_scales,
            splats.quats,
        ],
        axis=1,
    )
    for i, name in enumerate(names):
        data[name] = columns[:, i]
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {n}"]
    header += [f"property float {name}" for name in names] + ["end_header"]
    with open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        f.write(data.tobytes())


def read_ply(path: str | os.PathLike) -> Splats:
    """Read a 3DGS PLY file; raises PlyFormatError naming what is missing or malformed."""
    path = Path(path)
    raw = path.read_bytes()
    fmt, elements, body_start = _parse_header(raw, path)
    vertex = _read_vertex(raw, body_start, fmt, elements, path)
    names = set(vertex.dtype.names)
    n_rest = sum(1 for name in names if name.startswith("f_rest_"))
    if n_rest not in _REST_COUNTS:
        raise PlyFormatError(f"{path}: {n_rest} f_rest_* fields; the 3DGS layout has 0, 9, 24 or 45")
    degree = _REST_COUNTS[n_rest]
    required = [nm for nm in splat_field_names(degree, with_normals=False)]
    missing = [nm for nm in required if nm not in names]
    if missing:
        raise PlyFormatError(f"{path}: vertex element lacks the 3DGS field(s) {', '.join(missing)}")

    def cols(prefix_names):
        return np.stack([vertex[nm].astype(np.float32) for nm in prefix_names], axis=1)

    n, k = vertex.shape[0], (degree + 1) ** 2
    sh = np.empty((n, k, 3), np.float32)
    sh[:, 0, :] = cols([f"f_dc_{i}" for i in range(3)])
    if k > 1:
        sh[:, 1:, :] = cols([f"f_rest_{i}" for i in range(n_rest)]).reshape(n, 3, k - 1).transpose(0, 2, 1)
    normals = cols(["nx", "ny", "nz"]) if {"nx", "ny", "nz"} <= names else None
    splats = Splats(
        means=cols(["x", "y", "z"]),
        quats=cols([f"rot_{i}" for i in range(4)]),
        log_scales=cols([f"scale_{i}" for i in range(3)]),
        opacity_logits=vertex["opacity"].astype(np.float32),
        sh=sh,
        normals=normals,
    )
    for field in ("means", "quats", "log_scales", "opacity_logits", "sh"):
        bad = ~np.isfinite(getattr(splats, field))
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise PlyFormatError(f"{path}: non-finite value in {field} (vertex {row})")
    if n and (np.linalg.norm(splats.quats, axis=1) == 0).any():
        raise PlyFormatError(f"{path}: zero-length rotation quaternion (rot_0..3 all zero)")
    return splats


def _parse_header(raw: bytes, path: Path):
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise PlyFormatError(f"{path}: not a PLY file (no 'ply' magic or no 'end_header')")
    nl = raw.find(b"\n", end)
    body_start = len(raw) if nl < 0 else nl + 1
    lines = raw[:end].decode("ascii", errors="replace").splitlines()
    fmt, elements = None, []
    for line in lines[1:]:
        parts = line.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        if parts[0] == "format":
            fmt = parts[1] if len(parts) > 1 else None
        elif parts[0] == "element" and len(parts) == 3:
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property" and elements:
            if parts[1] == "list":
                elements[-1][2].append((parts[-1], None))
            elif parts[1] in _TYPES and len(parts) == 3:
                elements[-1][2].append((parts[2], _TYPES[parts[1]]))
            else:
                raise PlyFormatError(f"{path}: unsupported property line {line!r}")
        else:
            raise PlyFormatError(f"{path}: unexpected header line {line!r}")
    if fmt not in ("binary_little_endian", "binary_big_endian", "ascii"):
        raise PlyFormatError(f"{path}: unsupported PLY format {fmt!r}")
    if not any(name == "vertex" for name, _, _ in elements):
        raise PlyFormatError(f"{path}: no 'vertex' element")
    return fmt, elements, body_start


def _read_vertex(raw: bytes, start: int, fmt: str, elements, path: Path) -> np.ndarray:
    if fmt == "ascii":
        text = raw[start:].decode("ascii", errors="replace").split("\n")
        row = 0
        for name, count, props in elements:
            if name == "vertex":
                if any(t is None for _, t in props):
                    raise PlyFormatError(f"{path}: list properties in the vertex element are not supported")
                dtype = np.dtype([(p, t) for p, t in props])
                rows = [line.split() for line in text[row : row + count]]
                if len(rows) != count or any(len(r) != len(props) for r in rows):
                    raise PlyFormatError(f"{path}: vertex data is truncated or malformed")
                values = np.array(rows, dtype=np.float64).reshape(count, len(props))
                out = np.empty(count, dtype=dtype)
                for i, (p, _) in enumerate(props):
                    out[p] = values[:, i]
                return out
            row += count
    endian = "<" if fmt == "binary_little_endian" else ">"
    offset = start
    for name, count, props in elements:
        if any(t is None for _, t in props):
            raise PlyFormatError(
                f"{path}: element {name!r} has list properties; only fixed-size data is supported"
            )
        dtype = np.dtype([(p, endian + t) for p, t in props])
        size = dtype.itemsize * count
        if name == "vertex":
            if offset + size > len(raw):
                raise PlyFormatError(
                    f"{path}: vertex data is truncated ({len(raw) - offset} bytes, {size} expected)"
                )
            return np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
        offset += size
    raise PlyFormatError(f"{path}: no 'vertex' element")
