"""``twin show``: a real frame beside the twin's render of the same view, and their difference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from twin.fidelity import difference_image


def render_reference_view(twin_dir: str | Path, joint_positions=None, joint_names=None) -> np.ndarray:
    """The twin's primary camera at its reference frame (robot posed as recorded, if given)."""
    from twin.package import read_twin
    from twin.scene.render import TwinRenderer, set_robot_joints
    from twin.scene.twin_world import load_twin_world

    twin = read_twin(twin_dir)
    name, cam = next(iter(twin.calibration["cameras"].items()))
    with load_twin_world(twin) as world:
        world.reset(0)
        if joint_positions is not None:
            set_robot_joints(world, joint_positions, joint_names)
        rgb, _ = TwinRenderer(world, twin).render(name, int(cam["width"]), int(cam["height"]))
    return rgb


def side_by_side(
    twin_dir: str | Path, real: np.ndarray, joint_positions=None, joint_names=None
) -> Image.Image:
    """real | twin render | difference, as one picture."""
    render = render_reference_view(twin_dir, joint_positions, joint_names)
    real = np.asarray(real)[: render.shape[0], : render.shape[1]]
    return Image.fromarray(np.concatenate([real, render, difference_image(render, real)], axis=1))


def show_twin(twin_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the side-by-side picture of a twin's reference frame (default: its ``preview.png``)."""
    from twin.package import TwinPackageError, read_twin

    twin = read_twin(twin_dir)
    reference = twin.calibration.get("reference", {})
    image = twin.root / "reference.png"
    if not image.is_file():
        raise TwinPackageError(f"{image}: missing (the real frame the twin is compared with)")
    real = np.asarray(Image.open(image).convert("RGB"))
    out = Path(out) if out is not None else twin.path("preview")
    side_by_side(twin.root, real, reference.get("joint_positions"), reference.get("joint_names")).save(out)
    return out
