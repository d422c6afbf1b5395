"""Filling what no camera saw (twin/scene/holes.py): no black holes under camera perturbations,
and nothing changed where the splats were seen."""

from __future__ import annotations

import numpy as np
import pytest

from twin.scene.holes import fill_unseen, push_pull


def test_push_pull_keeps_what_was_seen_and_continues_it_smoothly():
    rng = np.random.default_rng(0)
    h, w = 37, 53  # odd sizes: the pyramid pads
    values = np.zeros((h, w, 3))
    values[:, : w // 2] = (0.8, 0.2, 0.1)  # left half red, right half blue
    values[:, w // 2 :] = (0.1, 0.2, 0.9)
    weight = np.ones((h, w))
    weight[10:25, 20:35] = 0.0  # a hole across the boundary
    weight[0, 0] = 0.5
    filled = push_pull(values + rng.normal(0, 1e-3, values.shape) * (weight[..., None] == 0), weight)
    seen = weight == 1
    assert np.allclose(filled[seen], values[seen])
    assert np.allclose(filled[0, 0], values[0, 0], atol=0.05)
    hole = filled[10:25, 20:35]
    assert hole.min() >= 0.09 and hole.max() <= 0.91  # between the colours around it, never black
    assert hole[:, 0, 0].mean() > hole[:, -1, 0].mean()  # redder on the red side


def test_fill_unseen_makes_an_opaque_layer_with_continued_depth():
    colour = np.full((20, 30, 3), 0.6)
    depth = np.tile(np.linspace(1.0, 2.0, 30), (20, 1))
    alpha = np.ones((20, 30))
    alpha[:, 20:] = 0.0  # the right third never seen
    out_colour, out_depth, out_alpha = fill_unseen(colour, depth, alpha)
    assert (out_alpha == 1).all()
    assert np.allclose(out_colour, 0.6)
    assert np.allclose(out_depth[:, :20], depth[:, :20])
    assert (out_depth[:, 20:] > 1.5).all()  # continued from the far side it borders
    same = fill_unseen(colour, depth, np.ones((20, 30)))
    assert same[0] is colour  # nothing missing, nothing touched


@pytest.mark.parametrize("axis", ["camera_pose=1", "camera_fov=1"])
def test_a_perturbed_camera_sees_no_empty_pixels_in_a_splat_twin(tray_pick_twin, axis):
    from benchmark.episodes.env import EnvConfig, TwinEnv

    env = TwinEnv(tray_pick_twin["twin"], EnvConfig(image_size=(160, 120), perturbations=(axis,)))
    fractions = []
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        image = next(iter(obs["images"].values())).astype(int)
        fractions.append(float((image.sum(axis=-1) < 15).mean()))
    env.close()
    assert max(fractions) <= 0.005, fractions
