"""Task-role inference and the fidelity metrics: pure functions on made-up inputs."""

from __future__ import annotations

import numpy as np
import pytest

from twin import fidelity, roles


def _candidate(name, kind, xy, half, color, yaw=0.0):
    return roles.Candidate(name, kind, np.array([*xy, half[2]]), yaw, np.array(half), np.array(color))


SCENE = [
    _candidate("red_object", "solid", (0.0, 0.12), (0.02, 0.02, 0.02), (0.8, 0.1, 0.1)),
    _candidate("blue_object", "solid", (0.05, -0.16), (0.08, 0.1, 0.025), (0.1, 0.3, 0.8)),
    _candidate("grey_object", "solid", (0.22, 0.02), (0.03, 0.03, 0.05), (0.6, 0.6, 0.6)),
    _candidate("yellow_zone", "zone", (0.2, -0.2), (0.06, 0.06, 0.0008), (0.9, 0.8, 0.1)),
]


def test_pick_place_roles_follow_the_gripper():
    # approach the red cube, close, carry to the blue tray, open
    tcp = np.array([[0, 0.12, 0.3], [0, 0.12, 0.02], [0, 0.12, 0.02], [0.05, -0.16, 0.1], [0.05, -0.16, 0.1]])
    opening = np.array([0.04, 0.04, 0.01, 0.01, 0.04])
    assert roles.roles_from_track("pick_place", SCENE, tcp, opening, 0.0) == ("red_object", "blue_object")


def test_push_roles_follow_the_sweep():
    path = np.linspace([0.2, 0.1, 0.02], [0.2, -0.15, 0.02], 20)  # pushes along y past the grey can
    tcp = np.vstack([[[0.0, 0.0, 0.4]], path])
    assert roles.roles_from_track("push", SCENE, tcp, np.zeros(len(tcp)), 0.0) == (
        "grey_object",
        "yellow_zone",
    )


def test_roles_survive_wide_grasps_and_tall_objects():
    """A mug held with the fingers 6.3 cm apart is still grasped (the fingers stopped on it, well
    inside their widest), and a push of a tall box with the tool 9 cm above the table still reads
    as a push of that box."""
    tcp = np.array(
        [[0, 0.12, 0.3], [0, 0.12, 0.05], [0, 0.12, 0.05], [0.05, -0.16, 0.15], [0.05, -0.16, 0.15]]
    )
    wide = np.array([0.04, 0.04, 0.0315, 0.0315, 0.04])
    assert roles.roles_from_track("pick_place", SCENE, tcp, wide, 0.0) == ("red_object", "blue_object")
    assert roles.grasp_and_release(np.full(5, 0.04) + np.random.default_rng(0).normal(0, 3e-4, 5)) is None
    tall = [
        *SCENE[:2],
        _candidate("grey_object", "solid", (0.22, 0.02), (0.03, 0.03, 0.12), (0.6, 0.6, 0.6)),
        SCENE[3],
    ]
    path = np.linspace([0.2, 0.1, 0.09], [0.2, -0.15, 0.09], 20)
    tcp = np.vstack([[[0.0, 0.0, 0.45]], path, [[0.2, -0.1, 0.4]]])
    assert roles.roles_from_track("push", tall, tcp, np.zeros(len(tcp)), 0.0) == (
        "grey_object",
        "yellow_zone",
    )
    with pytest.raises(roles.RoleError, match="never comes near the table"):
        roles.roles_from_track("push", SCENE, tcp + [0, 0, 0.5], np.zeros(len(tcp)), 0.0)


def test_roles_from_instruction_colours():
    assert roles.roles_from_instruction("put the red cube in the blue tray", SCENE) == (
        "red_object",
        "blue_object",
    )
    with pytest.raises(roles.RoleError, match="fewer than two colours"):
        roles.roles_from_instruction("tidy up", SCENE)


def test_family_from_instruction():
    assert roles.family_from_instruction("push the can to the square") == "push"
    assert roles.family_from_instruction("stack the red cube on the blue one") == "stack"
    assert roles.family_from_instruction("put the cube in the tray") == "pick_place"


def test_masked_psnr_ignores_masked_pixels():
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[:5] = 255
    valid = np.zeros((10, 10), bool)
    valid[5:] = True
    assert fidelity.masked_psnr(a, b, valid) == np.inf
    assert fidelity.masked_psnr(a, b) == pytest.approx(-10 * np.log10(0.5))
    assert fidelity.masked_ssim(a, b, valid) > fidelity.masked_ssim(a, b)


@pytest.mark.parametrize(
    ("shape", "size", "extents"),
    [
        ("box", (0.02, 0.03, 0.01), (0.04, 0.06, 0.02)),
        ("cylinder", (0.03, 0.05), (0.06, 0.06, 0.1)),
        ("tray", (0.08, 0.1, 0.025, 0.008), (0.16, 0.2, 0.05)),
        ("prism", (0.022, 0.022, 6), (0.022 * np.sqrt(3), 0.044, 0.044)),
    ],
)
def test_shape_extents_and_surface(shape, size, extents):
    np.testing.assert_allclose(fidelity.shape_extents(shape, size), extents, atol=2e-4)
    pts = fidelity.shape_surface(shape, size, 2000, np.random.default_rng(0))
    span = np.ptp(pts, axis=0)
    assert np.all(span <= np.array([extents[1], extents[1], extents[2]]) + 1e-9)
    assert span[2] == pytest.approx(extents[2], rel=0.05)


def test_chamfer_of_shifted_copy():
    pts = fidelity.shape_surface("box", (0.02, 0.02, 0.02), 3000, np.random.default_rng(1))
    assert fidelity.chamfer(pts, pts) == 0
    assert 0.004 < fidelity.chamfer(pts, pts + [0.01, 0, 0]) < 0.011


def test_object_errors_match_and_measure():
    truth = [
        {
            "name": "cube",
            "shape": "box",
            "size": (0.02, 0.02, 0.02),
            "pos": np.array([0, 0, 0.02]),
            "quat": [1, 0, 0, 0],
        },
        {
            "name": "can",
            "shape": "cylinder",
            "size": (0.03, 0.05),
            "pos": np.array([0.2, 0, 0.05]),
            "quat": [1, 0, 0, 0],
        },
    ]
    twin = [
        {
            "name": "b",
            "kind": "solid",
            "pos": np.array([0.203, 0, 0.05]),
            "quat": [1, 0, 0, 0],
            "half_extents": [0.03, 0.03, 0.05],
        },
        {
            "name": "a",
            "kind": "solid",
            "pos": np.array([0.0, 0.004, 0.02]),
            "quat": [1, 0, 0, 0],
            "half_extents": [0.021, 0.02, 0.02],
        },
    ]
    report = fidelity.object_errors(twin, truth, np.random.default_rng(0))
    rows = {r["truth"]: r for r in report["objects"]}
    assert rows["cube"]["twin"] == "a" and rows["can"]["twin"] == "b"
    assert rows["cube"]["position_error_m"] == pytest.approx(0.004)
    assert rows["cube"]["size_error"] == pytest.approx(0.05)
    assert report["matched"] == 2


def test_matching_never_gives_up_a_near_pair_to_lower_the_total():
    # cube_stack's robot-log twin: two false zones at the table's far edge, the ball missed. Matched
    # by least total distance alone, the blue cube paired with the ball and a zone with the blue cube
    # (0.93 m against 0.94 m), and the blue cube 7 mm from its truth counted as missed.
    truth = np.array([[0.507, 0.095], [0.508, -0.080], [0.732, 0.219]])
    twin = np.array([[0.113, -0.533], [0.207, -0.536], [0.501, -0.081], [0.503, 0.095]])
    assert sorted(fidelity.match_objects(twin, truth)) == [(2, 1), (3, 0)]
    assert fidelity.match_objects(twin[:2], truth) == []
