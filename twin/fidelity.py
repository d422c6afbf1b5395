"""How good a twin is: image metrics on held-out frames, and errors against ground truth.

Image metrics skip the pixels the simulator draws (the robot) and are pure functions over arrays.
Ground-truth errors are computed after a build, from the demonstration's ``ground_truth/``, which
reconstruction itself never reads.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from twin.splats.metrics import ssim_map
from twin.transforms import quat_to_mat


# -- images ------------------------------------------------------------------------------------
def _float_image(image) -> np.ndarray:
    image = np.asarray(image)
    return image.astype(np.float64) / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)


def masked_psnr(render, target, valid: np.ndarray | None = None) -> float:
    """PSNR (dB) over the ``valid`` pixels of two ``[H, W, 3]`` images (uint8 or [0, 1] floats)."""
    err = (_float_image(render) - _float_image(target)) ** 2
    if valid is not None:
        err = err[np.asarray(valid, dtype=bool)]
    mse = float(err.mean()) if err.size else 0.0
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def masked_ssim(render, target, valid: np.ndarray | None = None) -> float:
    """Mean SSIM (11-pixel Gaussian window) over the ``valid`` pixels of two ``[H, W, 3]`` images."""
    a = torch.as_tensor(_float_image(render), dtype=torch.float32)
    b = torch.as_tensor(_float_image(target), dtype=torch.float32)
    per_pixel = ssim_map(a, b)[0].mean(dim=0).numpy()
    if valid is not None:
        per_pixel = per_pixel[np.asarray(valid, dtype=bool)]
    return float(per_pixel.mean()) if per_pixel.size else 1.0


def depth_error(rendered: np.ndarray, measured: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """Mean and median absolute depth error (m) where both depths are positive (and ``valid``)."""
    rendered, measured = np.asarray(rendered, dtype=float), np.asarray(measured, dtype=float)
    ok = (rendered > 0) & (measured > 0) & np.isfinite(rendered) & np.isfinite(measured)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    err = np.abs(rendered - measured)[ok]
    if not err.size:
        return {"mean_m": None, "median_m": None, "pixels": 0}
    return {"mean_m": float(err.mean()), "median_m": float(np.median(err)), "pixels": int(err.size)}


def difference_image(render, target) -> np.ndarray:
    """Absolute difference of two images as a uint8 heat picture (×4 gain, grey)."""
    diff = np.abs(_float_image(render) - _float_image(target)).mean(axis=-1)
    grey = np.clip(diff * 4.0 * 255.0, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


# -- ground truth shapes -------------------------------------------------------------------------
def ghost_level(image, footprint: np.ndarray, ring: np.ndarray) -> float:
    """How much an emptied footprint stands out from the table around it: the mean colour of the
    ``footprint`` pixels against that of the ``ring`` pixels, mean absolute difference over the
    channels, in 8-bit levels (0: it looks like the table); NaN when either region is empty."""
    pixels = np.asarray(image, dtype=np.float64).reshape(-1, 3)
    if pixels.max() <= 1.0:
        pixels = pixels * 255.0
    inside, around = np.asarray(footprint, bool).ravel(), np.asarray(ring, bool).ravel()
    if not inside.any() or not around.any():
        return float("nan")
    return float(np.abs(pixels[inside].mean(axis=0) - pixels[around].mean(axis=0)).mean())


def _box_surface(half: np.ndarray, n: int, rng: np.random.Generator, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    half = np.asarray(half, dtype=float)
    areas = np.array([half[1] * half[2], half[0] * half[2], half[0] * half[1]]) * 2
    axis = rng.choice(3, size=n, p=areas / areas.sum())
    pts = rng.uniform(-1, 1, size=(n, 3))
    pts[np.arange(n), axis] = rng.choice([-1.0, 1.0], size=n)
    return pts * half + np.asarray(centre)


def shape_surface(shape: str, size, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points on the surface of a reference-scene shape, in its body frame."""
    size = np.asarray(size, dtype=float)
    if shape in ("box", "mesh"):  # a mesh prop: its bounding box (the size a scene spec gives)
        return _box_surface(size, n, rng)
    if shape == "sphere":
        d = rng.normal(size=(n, 3))
        return size[0] * d / np.linalg.norm(d, axis=1, keepdims=True)
    if shape in ("cylinder", "prism", "bowl", "cup"):  # a vessel's ground truth: its closed hull
        radius, half_height = size[0], size[1]
        sides = int(size[2]) if shape == "prism" else 64
        angles = 2 * np.pi * np.arange(sides + 1) / sides
        on_side = rng.uniform(size=n) < (2 * half_height) / (2 * half_height + radius)
        k = rng.integers(0, sides, size=n)
        t = rng.uniform(size=n)
        ring = np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius
        edge = ring[k] + (ring[k + 1] - ring[k]) * t[:, None]
        r = np.sqrt(rng.uniform(size=n))
        xy = np.where(on_side[:, None], edge, edge * r[:, None])
        z = np.where(on_side, rng.uniform(-half_height, half_height, n), rng.choice([-1, 1], n) * half_height)
        return np.column_stack([xy, z])
    if shape == "tray":
        hx, hy, hz, wall = size
        parts = [
            ((hx, hy, wall / 2), (0, 0, -hz + wall / 2)),
            ((wall / 2, hy, hz), (hx - wall / 2, 0, 0)),
            ((wall / 2, hy, hz), (-hx + wall / 2, 0, 0)),
            ((hx, wall / 2, hz), (0, hy - wall / 2, 0)),
            ((hx, wall / 2, hz), (0, -hy + wall / 2, 0)),
        ]
        per = np.full(len(parts), n // len(parts))
        per[: n - per.sum()] += 1
        return np.vstack([_box_surface(h, m, rng, c) for (h, c), m in zip(parts, per, strict=True)])
    raise ValueError(f"unknown shape {shape!r}")


def shape_extents(shape: str, size) -> np.ndarray:
    """Footprint extents (sorted, full widths) and height of a reference-scene shape."""
    size = np.asarray(size, dtype=float)
    if shape in ("box", "tray", "mesh"):
        foot, height = 2 * size[:2], 2 * size[2]
    elif shape == "sphere":
        foot, height = np.array([2 * size[0]] * 2), 2 * size[0]
    elif shape == "prism":
        radius, sides = size[0], int(size[2])
        angles = 2 * np.pi * np.arange(sides) / sides
        # narrowest width over headings, and the width across that heading
        widths = [np.ptp(radius * np.cos(angles - a)) for a in np.linspace(0, np.pi, 181)]
        a = np.linspace(0, np.pi, 181)[int(np.argmin(widths))]
        foot = np.array([min(widths), np.ptp(radius * np.sin(angles - a))])
        height = 2 * size[1]
    else:  # cylinder, bowl, cup
        foot, height = np.array([2 * size[0]] * 2), 2 * size[1]
    return np.array([*np.sort(foot), height])


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance: the mean of both directions' mean nearest-neighbour distance."""
    return float((cKDTree(b).query(a)[0].mean() + cKDTree(a).query(b)[0].mean()) / 2)


def mesh_surface(vertices: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points sampled uniformly by area on a triangle mesh."""
    tri = np.asarray(vertices, dtype=float)[np.asarray(faces)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    pick = rng.choice(len(tri), size=n, p=area / area.sum())
    u, v = rng.uniform(size=(2, n))
    flip = u + v > 1
    u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
    t = tri[pick]
    return t[:, 0] + (t[:, 1] - t[:, 0]) * u[:, None] + (t[:, 2] - t[:, 0]) * v[:, None]


def match_objects(twin_xy: np.ndarray, truth_xy: np.ndarray, max_distance: float = 0.05):
    """Pairs (twin index, truth index) matching centres by least total distance within ``max_distance``:
    as many pairs as the distance allows first (a far-off pair costs more than any set of near
    ones, so two far objects cannot take a near one's match to lower the total)."""
    if not len(twin_xy) or not len(truth_xy):
        return []
    cost = np.linalg.norm(np.asarray(twin_xy)[:, None, :2] - np.asarray(truth_xy)[None, :, :2], axis=-1)
    far = cost.size * max_distance + 1.0
    rows, cols = linear_sum_assignment(np.where(cost <= max_distance, cost, far))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= max_distance]


def object_errors(twin_objects: list[dict], truth_objects: list[dict], rng: np.random.Generator) -> dict:
    """Per ground-truth object: matched twin object, position and size errors, Chamfer distance.

    ``twin_objects``: dicts with name, kind, pos, quat, half_extents and optionally ``surface``
    (body-frame points). ``truth_objects``: dicts with name, shape, size, pos, quat, visual_only.
    """
    pairs = match_objects(
        np.array([o["pos"] for o in twin_objects]), np.array([o["pos"] for o in truth_objects])
    )
    matched = {t: w for w, t in pairs}
    rows = []
    for j, truth in enumerate(truth_objects):
        row = {"truth": truth["name"], "twin": None}
        if j in matched:
            twin = twin_objects[matched[j]]
            est_half = np.asarray(twin["half_extents"], dtype=float)
            est = np.array([*np.sort(2 * est_half[:2]), 2 * est_half[2]])
            ref = shape_extents(truth["shape"], truth["size"])
            flat = bool(truth.get("visual_only"))
            rel = np.abs(est - ref) / ref
            row.update(
                twin=twin["name"],
                position_error_m=float(np.linalg.norm(np.asarray(twin["pos"]) - np.asarray(truth["pos"]))),
                size_error=float(rel[:2].max() if flat else rel.max()),
                extents_m=est.round(4).tolist(),
                truth_extents_m=ref.round(4).tolist(),
            )
            if twin.get("surface") is not None and not flat:
                rot_t, rot_w = quat_to_mat(truth["quat"]), quat_to_mat(twin["quat"])
                truth_pts = shape_surface(truth["shape"], truth["size"], 4000, rng) @ rot_t.T + truth["pos"]
                twin_pts = np.asarray(twin["surface"]) @ rot_w.T + np.asarray(twin["pos"])
                row["chamfer_m"] = chamfer(twin_pts, truth_pts)
        rows.append(row)
    found = [r for r in rows if r["twin"] is not None]
    return {
        "objects": rows,
        "matched": len(found),
        "truth_objects": len(truth_objects),
        "twin_objects": len(twin_objects),
        "max_position_error_m": max((r["position_error_m"] for r in found), default=None),
        "max_size_error": max((r["size_error"] for r in found), default=None),
    }


def camera_errors(calibration: dict, arrays: dict) -> dict:
    """Each calibrated camera's pose error against a robot log's true ``T_base_camera_<name>``
    (the wrist camera's over all its frames, worst frame)."""
    from twin.transforms import pose_error

    out = {}
    entries = dict(calibration.get("cameras", {}))
    if "wrist" in calibration:
        entries[calibration["wrist"]["camera"]] = calibration["wrist"]
    for name, entry in entries.items():
        truth = arrays.get(f"T_base_camera_{name}")
        if truth is None:
            continue
        found = np.asarray(entry["T_world_camera"], dtype=float)
        pairs = zip(found.reshape(-1, 4, 4), np.asarray(truth).reshape(-1, 4, 4), strict=True)
        errors = np.array([pose_error(f, t) for f, t in pairs])
        out[name] = {
            "position_error_m": round(float(errors[:, 0].max()), 4),
            "rotation_error_deg": round(float(errors[:, 1].max()), 3),
        }
    return out


def ground_truth_report(twin_dir, demonstration_dir, seed: int = 0) -> dict:
    """Compare a built twin with its demonstration's ``ground_truth/`` and add the result to the
    twin's ``fidelity.json`` under ``ground_truth``. Reconstruction never calls this."""
    import json
    from pathlib import Path

    from twin.demonstration import read_ground_truth
    from twin.package import read_twin

    twin = read_twin(twin_dir)
    truth = read_ground_truth(demonstration_dir)
    first = {name: poses[0] for name, poses in truth["arrays"].items()}
    truth_objects = [
        {**o, "pos": first[o["name"]][:3], "quat": first[o["name"]][3:7]}
        for o in truth["objects"]["scene"]["objects"]
        if o["name"] in first
    ]
    rng = np.random.default_rng(seed)
    twin_objects = []
    for o in twin.objects:
        entry = {"name": o.name, "kind": o.kind, "pos": o.pos, "quat": o.quat, "half_extents": o.half_extents}
        if o.mesh:
            from twin.meshes import read_obj

            entry["surface"] = mesh_surface(*read_obj(twin.root / o.mesh), 4000, rng)
        twin_objects.append(entry)
    report = object_errors(twin_objects, truth_objects, rng)
    cameras = camera_errors(twin.calibration, truth["arrays"])
    if cameras:
        report["cameras"] = cameras
    path = Path(twin.path("fidelity"))
    fidelity = json.loads(path.read_text())
    fidelity["ground_truth"] = report
    path.write_text(json.dumps(fidelity, indent=1) + "\n")
    return report
