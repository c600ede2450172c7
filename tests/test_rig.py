"""The WebXR hand rig: GLB parsing, forward kinematics, skinning, anatomical pose model."""

from __future__ import annotations

import numpy as np
import pytest

from handpose import skeleton
from handpose.data.synth import hand_poses
from handpose.data.synth.rig import (
    NUM_RIG_JOINTS,
    RIG_PARENTS,
    WRIST_LABEL_FRACTION,
    forward_kinematics,
    joints21_mm,
    load_rig,
    parse_glb,
    skin,
)
from handpose.errors import InputError

IDENTITY = np.tile(np.eye(3), (NUM_RIG_JOINTS, 1, 1))


def _wrist_local(rig, globals_: np.ndarray) -> np.ndarray:
    """Rig joint positions (25, 3) in the posed wrist's own frame."""
    inv = np.linalg.inv(globals_[0])
    return globals_[:, :3, 3] @ inv[:3, :3].T + inv[:3, 3]


@pytest.mark.parametrize("side", ["right", "left"])
def test_rest_pose_matches_the_file(side):
    rig = load_rig(side)
    globals_ = forward_kinematics(rig, IDENTITY)
    # the chains rebuilt from the flat hierarchy give back the node transforms ...
    np.testing.assert_allclose(globals_, rig.rest_global, atol=1e-9)
    # ... and agree with the file's independent inverse bind matrices (bind pose = rest pose), in mm
    np.testing.assert_allclose(np.linalg.inv(rig.inverse_bind)[:, :3, 3], globals_[:, :3, 3], atol=1e-2)
    vertices, normals = skin(rig, globals_)
    np.testing.assert_allclose(vertices, rig.vertices_mm, atol=1e-3)
    np.testing.assert_allclose(normals, rig.normals, atol=1e-5)


def test_hand_size_in_mm():
    rig = load_rig("right")
    positions = rig.rest_global[:, :3, 3]
    assert abs(np.linalg.norm(positions[11] - positions[0]) - 91.7) < 0.1  # wrist -> middle MCP (DESIGN.md)
    joints = joints21_mm(forward_kinematics(rig, IDENTITY))
    assert abs(skeleton.bone_length(joints) - 46.89) < 0.01  # middle MCP -> PIP, the normalisation unit
    # joint 0 is MediaPipe's wrist: 20% of the way from the rig wrist to the middle MCP
    expected = positions[0] + WRIST_LABEL_FRACTION * (positions[11] - positions[0])
    np.testing.assert_allclose(joints[0], expected, atol=1e-9)
    np.testing.assert_allclose(joints[1:], positions[skeleton.WEBXR_TO_OURS[1:]], atol=1e-9)


def test_left_rig_is_the_mirror_of_the_right_one():
    """Same articulation on both meshes: mirror images in the wrist frame (checks the mirrored
    spread sign too: a wrong sign would put spread fingers centimetres apart)."""
    rng = np.random.default_rng(0)
    right, left = load_rig("right"), load_rig("left")
    for angles in [np.zeros(hand_poses.NUM_DOF)] + [hand_poses.random_articulation(rng) for _ in range(5)]:
        r = _wrist_local(right, forward_kinematics(right, hand_poses.local_rotations(right, angles)))
        lft = _wrist_local(left, forward_kinematics(left, hand_poses.local_rotations(left, angles)))
        # the two meshes were rigged separately: the index metacarpal sits 7 mm apart and the joint
        # frames differ by a few degrees, so posed joints agree to millimetres, not exactly
        distance = np.linalg.norm(lft * [-1, 1, 1] - r, axis=1)
        assert distance.max() < 8.0 and np.mean(distance) < 2.5, distance


def test_flexion_moves_fingers_towards_the_palm():
    rig = load_rig("right")
    rest = _wrist_local(rig, forward_kinematics(rig, IDENTITY))
    for dof, tip in [("index_mcp_flex", 9), ("middle_pip_flex", 14), ("ring_dip_flex", 19), ("thumb_mcp_flex", 4)]:
        angles = hand_poses.articulation(**{dof: 60.0})
        posed = _wrist_local(rig, forward_kinematics(rig, hand_poses.local_rotations(rig, angles)))
        # local +Y points out of the back of the hand: flexion lowers Y
        assert posed[tip, 1] < rest[tip, 1] - 5.0, dof
    # thumb opposition brings the thumb tip across the palm, towards the little finger
    posed = _wrist_local(rig, forward_kinematics(rig, hand_poses.local_rotations(
        rig, hand_poses.articulation(thumb_cmc_flex=50.0))))
    assert np.linalg.norm(posed[4] - rest[21]) < np.linalg.norm(rest[4] - rest[21]) - 20.0
    assert posed[4, 1] < rest[4, 1]


def test_spread_moves_fingers_apart():
    for side in ("right", "left"):
        rig = load_rig(side)
        angles = hand_poses.articulation(index_mcp_spread=20.0, pinky_mcp_spread=20.0)
        rest = _wrist_local(rig, forward_kinematics(rig, IDENTITY))
        posed = _wrist_local(rig, forward_kinematics(rig, hand_poses.local_rotations(rig, angles)))
        gap = lambda p, a, b: np.linalg.norm(p[a] - p[b])  # noqa: E731
        assert gap(posed, 9, 14) > gap(rest, 9, 14) + 10.0, side  # index tip away from middle tip
        assert gap(posed, 24, 19) > gap(rest, 24, 19) + 10.0, side  # pinky tip away from ring tip


def test_bone_lengths_are_preserved_under_any_pose():
    rig = load_rig("right")
    rng = np.random.default_rng(1)
    angles = np.stack([hand_poses.random_articulation(rng) for _ in range(20)])
    globals_ = forward_kinematics(rig, hand_poses.local_rotations(rig, angles))
    positions = globals_[..., :3, 3]
    rest = rig.rest_global[:, :3, 3]
    for child, parent in enumerate(RIG_PARENTS):
        if parent >= 0:
            lengths = np.linalg.norm(positions[:, child] - positions[:, parent], axis=-1)
            np.testing.assert_allclose(lengths, np.linalg.norm(rest[child] - rest[parent]), atol=1e-6)
    # the hand actually moved
    assert np.abs(positions - rest).max() > 30.0


def test_random_poses_respect_the_limits_and_couple_dip_to_pip():
    rng = np.random.default_rng(2)
    angles = np.stack([hand_poses.random_articulation(rng) for _ in range(300)])
    assert np.all(angles >= hand_poses.LIMITS_LO - 1e-12) and np.all(angles <= hand_poses.LIMITS_HI + 1e-12)
    pip = angles[:, hand_poses.DOF["index_pip_flex"]]
    dip = angles[:, hand_poses.DOF["index_dip_flex"]]
    assert np.corrcoef(pip, dip)[0, 1] > 0.8
    # varied: fists and open hands both occur
    curl = angles[:, hand_poses.DOF["middle_mcp_flex"]]
    assert curl.min() < np.radians(15) and curl.max() > np.radians(75)


def test_interpolation_ends_and_eases():
    a, b = hand_poses.GESTURES["open_palm"], hand_poses.GESTURES["fist"]
    np.testing.assert_allclose(hand_poses.interpolate(a, b, 0.0), a)
    np.testing.assert_allclose(hand_poses.interpolate(a, b, 1.0), b)
    np.testing.assert_allclose(hand_poses.interpolate(a, b, 0.5), (a + b) / 2)
    path = hand_poses.interpolate(a, b, np.linspace(0, 1, 101))
    step = np.abs(np.diff(path, axis=0)).max(axis=1)
    assert step[0] < step[50] / 10  # zero velocity at the ends


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="'right' or 'left'"):
        load_rig("middle")  # type: ignore[arg-type]
    bad = tmp_path / "x.glb"
    bad.write_bytes(b"not a glb file at all")
    with pytest.raises(InputError, match="glTF"):
        parse_glb(bad, "right")
    with pytest.raises(InputError, match=r"\(\.\.\., 25, 3, 3\)"):
        forward_kinematics(load_rig("right"), np.zeros((21, 3, 3)))
    with pytest.raises(InputError, match="angle name"):
        hand_poses.articulation(index_knuckle=3.0)


def test_pinch_and_ok_bring_thumb_and_index_tips_together():
    rig = load_rig("right")
    for name, apart in [("pinch", False), ("ok", False), ("open_palm", True)]:
        positions = forward_kinematics(rig, hand_poses.local_rotations(rig, hand_poses.GESTURES[name]))[:, :3, 3]
        gap = np.linalg.norm(positions[4] - positions[9])  # WebXR thumb tip, index tip
        assert (gap > 60.0) if apart else (gap < 20.0), (name, gap)
