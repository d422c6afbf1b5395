"""One scenario's perturbations, applied in one fixed order.

:func:`realise` turns a twin, its sampled :class:`~benchmark.perturbations.axes.Edits` and the
policy's image size into a world and a renderer, in this order:

1. the scene spec: placement, yaw, size, physics (:func:`~benchmark.perturbations.scene.perturbed_scene`);
2. the cameras: pose and field of view, then aimed at the policy's image size;
3. the ``MjSpec``: colours and textures of table, background and objects (``edit_spec``);
4. the compiled world's lights (``edit_lights``);
5. the splats: the same edits on the splat layers (``edit_splats``), lit with the new light;
6. every rendered image: blur, then noise, then JPEG (:func:`sensed`, called by the env).

The env reads the rest of the edits itself: the arm's initial offset at reset, the action latency
at every step, and the paraphrased instruction through the scene's task.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from benchmark.errors import ScenarioError
from benchmark.perturbations.axes import Edits
from benchmark.perturbations.scene import (
    edit_lights,
    edit_spec,
    edit_splats,
    perturbed_calibration,
    perturbed_scene,
)
from twin.package import Twin
from twin.scene.render import SplatLighting, TwinRenderer
from twin.scene.spec import SceneSpec
from twin.scene.twin_world import twin_spec
from twin.scene.world import World

__all__ = ["Realised", "cover_intrinsics", "realise", "sensed", "sized_calibration"]


def cover_intrinsics(K: np.ndarray, size: tuple[int, int], new_size: tuple[int, int]) -> np.ndarray:  # noqa: N803
    """K of a camera image scaled to cover ``new_size`` and centre-cropped to it (no distortion)."""
    (w, h), (W, H) = size, new_size  # noqa: N806
    s = max(W / w, H / h)
    out = np.asarray(K, dtype=float).copy()
    out[:2] *= s
    out[0, 2] -= (w * s - W) / 2
    out[1, 2] -= (h * s - H) / 2
    return out


def sized_calibration(calibration: dict, size: tuple[int, int]) -> dict:
    """Every camera of ``calibration`` re-aimed at images of ``size`` (width, height)."""
    cameras = {}
    for name, cam in calibration["cameras"].items():
        K = cover_intrinsics(np.asarray(cam["K"]), (int(cam["width"]), int(cam["height"])), size)  # noqa: N806
        cameras[name] = {**cam, "K": K.tolist(), "width": size[0], "height": size[1]}
    return {**calibration, "cameras": cameras}


def sensed(image: np.ndarray, edits: Edits, rng: np.random.Generator) -> np.ndarray:
    """A rendered image through the perturbed camera: blur, then noise, then JPEG."""
    if edits.blur_sigma == 0 and edits.noise_sigma == 0 and edits.jpeg_quality is None:
        return image
    from benchmark.perturbations.sensing import add_noise, gaussian_blur, jpeg_roundtrip

    if edits.blur_sigma > 0:
        image = gaussian_blur(image, edits.blur_sigma)
    if edits.noise_sigma > 0:
        image = add_noise(image, edits.noise_sigma, rng)
    if edits.jpeg_quality is not None:
        image = jpeg_roundtrip(image, edits.jpeg_quality)
    return image


@dataclass
class Realised:
    """A perturbed scenario ready to run: its scene spec, compiled world and renderer."""

    scene: SceneSpec
    world: object
    renderer: TwinRenderer


def realise(
    twin: Twin,
    base: SceneSpec,
    edits: Edits,
    splats,
    *,
    image_size: tuple[int, int],
    backend: str = "mujoco",
    render: str = "auto",
) -> Realised:
    """Apply ``edits`` to ``twin`` (its scene ``base``, its ``splats`` = (background, objects)) in
    the order of the module docstring; ``render`` "mesh" leaves the splats out."""
    scene = perturbed_scene(base, edits)
    table_z = base.table.top_z
    calibration = perturbed_calibration(twin.calibration, edits, table_z)
    calibration = sized_calibration(calibration, image_size)
    spec = twin_spec(dataclasses.replace(twin, calibration=calibration))
    edit_spec(spec, base, edits)
    main_light = np.asarray(spec.lights[0].dir, dtype=float) if len(spec.lights) else np.array([0, 0, -1.0])
    if backend == "mujoco":
        world = World(scene, spec=spec)
    else:
        from benchmark.sim.bullet_world import make_world

        world = make_world(scene, spec=spec, backend=backend)
    centre = np.array([*np.mean([o.xy for o in base.objects], axis=0), table_z])
    edit_lights(world.model, edits, centre)
    background, objects = splats
    mesh_only = render == "mesh"
    if render == "splat" and background is None and not objects:
        raise ScenarioError(f"twin {twin.root}: render 'splat' asked for, but the twin has no splats")
    if not mesh_only and (background is not None or objects):
        background, objects = edit_splats(background, objects, base, edits, twin.manifest["table"])
    new_light = edits.light_rotation @ main_light
    renderer = TwinRenderer(
        world,
        background=background,
        objects=objects,
        lighting=SplatLighting(
            tuple(float(g) for g in edits.light_gain),
            tuple(float(v) for v in main_light),
            tuple(float(v) for v in new_light),
        ),
        mesh_only=mesh_only,
    )
    return Realised(scene, world, renderer)
