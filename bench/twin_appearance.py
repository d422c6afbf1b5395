"""Ghosts: what a twin's background shows where a solid stood, once the solid has moved. Prints JSON.

Run: ``python bench/twin_appearance.py [--twins TWIN ...] [--pictures docs/images/ghosts.jpg]``
(default: the splat twins ``bench/validity_study.py`` built under ``~/.cache/twinarena/validity-study``).

For every solid of every twin, the background splats alone (no objects, no zones, no robot: what
a perturbation that moves every solid away would leave) are drawn from the twin's evaluation
camera as the environment draws them (unseen pixels filled), and
:func:`twin.fidelity.ghost_level` compares the solid's old footprint with the table
ring 1.5–3.5 cm around it (off every other object), in 8-bit levels (issue 26's target: ≤ 6).
Each twin is measured as it is stored (``as_built``) and after :func:`twin.footprints.clear_footprints`
(``cleared``), side by side; a twin built by the current code has had it applied already.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

CACHE = Path.home() / ".cache" / "twinarena" / "validity-study"
RING = (0.015, 0.035)  # metres outside the footprint


def footprint_corners(obj, grow: float) -> np.ndarray:
    """The world corners [4, 3] of ``obj``'s footprint grown by ``grow``, at its bottom face."""
    from twin.transforms import quat_to_mat

    hx, hy, hz = (float(v) for v in obj.half_extents)
    local = np.array(
        [[sx * (hx + grow), sy * (hy + grow), -hz] for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    )
    return local @ quat_to_mat(obj.quat).T + np.asarray(obj.pos)


def polygon_mask(
    corners: np.ndarray, K: np.ndarray, T_world_camera: np.ndarray, size: tuple[int, int]
) -> np.ndarray:  # noqa: N803
    """Pixels [H, W] inside the image of the world polygon ``corners`` (all in front of the camera)."""
    from PIL import Image, ImageDraw

    cam = (np.c_[corners, np.ones(len(corners))] @ np.linalg.inv(T_world_camera).T)[:, :3]
    uv = cam[:, :2] / cam[:, 2:3] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    image = Image.new("1", size)
    ImageDraw.Draw(image).polygon([tuple(p) for p in uv], fill=1)
    return np.array(image, dtype=bool)


def measure(twin_dir: Path) -> tuple[dict, list[np.ndarray]]:
    """The ghost level of each solid of one twin, as built and after clearing; and the two renders."""
    from twin.build import object_boxes
    from twin.fidelity import ghost_level
    from twin.footprints import clear_footprints
    from twin.package import read_twin
    from twin.scene.holes import fill_unseen
    from twin.scene.render import splat_layer
    from twin.splats.camera import Cameras
    from twin.splats.ply import read_ply

    twin = read_twin(twin_dir)
    name, cam = next(iter(twin.calibration["cameras"].items()))
    K, pose = np.asarray(cam["K"]), np.asarray(cam["T_world_camera"])
    size = (int(cam["width"]), int(cam["height"]))
    cameras = Cameras.from_poses(K, pose[None], *size)
    background = read_ply(twin.path("background"))
    solids = [o for o in twin.objects if o.kind == "solid"]
    versions = {"as_built": background, "cleared": clear_footprints(background, object_boxes(solids))}
    renders = {k: fill_unseen(*splat_layer([(v, np.eye(4))], cameras))[0] for k, v in versions.items()}
    rows = []
    for obj in solids:
        inside = polygon_mask(footprint_corners(obj, 0.0), K, pose, size)
        ring = polygon_mask(footprint_corners(obj, RING[1]), K, pose, size)
        ring &= ~polygon_mask(footprint_corners(obj, RING[0]), K, pose, size)
        for other in twin.objects:
            if other.name != obj.name:
                ring &= ~polygon_mask(footprint_corners(other, RING[0]), K, pose, size)
        rows.append(
            {
                "object": obj.name,
                "pixels": int(inside.sum()),
                **{k: round(ghost_level(r, inside, ring), 2) for k, r in renders.items()},
            }
        )
    return {"twin": str(twin_dir), "camera": name, "splats": len(background), "solids": rows}, [
        renders["as_built"],
        renders["cleared"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--twins", nargs="*", type=Path, default=sorted(CACHE.glob("*/twin")))
    parser.add_argument("--pictures", type=Path, help="write as built | cleared, one row per twin (JPEG)")
    args = parser.parse_args()
    results, pictures = [], []
    for twin in args.twins:
        row, renders = measure(twin)
        results.append(row)
        pictures.append(np.hstack(renders))
    levels = {k: [s[k] for r in results for s in r["solids"]] for k in ("as_built", "cleared")}
    summary = {
        "twins": results,
        "worst": {k: max(v, default=None) for k, v in levels.items()},
        "mean": {k: round(float(np.mean(v)), 2) if v else None for k, v in levels.items()},
        "target": "<= 6 levels",
    }
    if args.pictures and pictures:
        from PIL import Image

        width = max(p.shape[1] for p in pictures)
        rows = [np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0))) for p in pictures]
        Image.fromarray((np.vstack(rows) * 255).astype(np.uint8)).save(args.pictures, quality=90)
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
