import numpy as np
import pytest

from handpose import skeleton
from handpose.errors import InputError
from tests.hand_fixtures import open_hand_mm, random_poses


@pytest.mark.parametrize("order", ["rhd", "stb", "freihand", "interhand"])
def test_foreign_order_round_trip(order):
    ours = np.arange(21 * 3, dtype=float).reshape(21, 3)
    theirs = skeleton.from_ours(ours, order)
    assert np.array_equal(skeleton.to_ours(theirs, order), ours)
    # the maps are permutations: every joint appears once
    assert sorted(skeleton.FOREIGN_ORDERS[order]) == list(range(21))


def test_rhd_known_answer():
    # RHD lists each finger tip -> base: its joint 4 is the thumb MCP... our thumb tip is RHD joint 1
    rhd = np.zeros((21, 3))
    rhd[1] = (1, 2, 3)  # RHD thumb tip
    rhd[12] = (4, 5, 6)  # RHD middle MCP (base of middle finger: 9..12 tip->base)
    ours = skeleton.to_ours(rhd, "rhd")
    assert np.array_equal(ours[4], (1, 2, 3))
    assert np.array_equal(ours[9], (4, 5, 6))


def test_stb_known_answer():
    stb = np.zeros((21, 3))
    stb[17] = (7, 7, 7)  # STB's joint 17 is the thumb MCP side of its list: ours[1] = theirs[17]
    assert np.array_equal(skeleton.to_ours(stb, "stb")[1], (7, 7, 7))


def test_webxr_drops_finger_metacarpals():
    webxr = np.arange(25 * 3, dtype=float).reshape(25, 3)
    ours = skeleton.to_ours(webxr, "webxr")
    assert np.array_equal(ours[5], webxr[6])  # index MCP = index-finger-phalanx-proximal
    back = skeleton.from_ours(ours, "webxr")
    kept = skeleton.WEBXR_TO_OURS
    assert np.array_equal(back[kept], webxr[kept])
    assert np.isnan(back[[5, 10, 15, 20]]).all()
    assert skeleton.WEBXR_JOINT_NAMES[6] == "index-finger-phalanx-proximal"


def test_mirror_twice_is_identity():
    poses = random_poses(4)
    assert np.array_equal(skeleton.mirror(skeleton.mirror(poses)), poses)
    assert np.allclose(skeleton.mirror(poses)[..., 0], -poses[..., 0])


def test_normalize_unit_bone_and_inverse():
    poses = random_poses(6)
    left = np.array([0, 1, 0, 1, 1, 0], bool)
    norm, scale = skeleton.normalize(poses, left)
    assert np.allclose(skeleton.bone_length(norm), 1.0, atol=1e-6)
    assert np.allclose(norm[:, 0], 0.0)
    back = skeleton.denormalize(norm, scale, poses[:, 0], left)
    assert np.allclose(back, poses, atol=1e-3)


def test_left_hand_normalises_like_mirrored_right():
    right = open_hand_mm()
    left = skeleton.mirror(right)
    assert np.allclose(skeleton.normalize(left, True)[0], skeleton.normalize(right, False)[0], atol=1e-6)


def test_palm_root_is_midpoint():
    hand = open_hand_mm()
    assert np.allclose(skeleton.palm_root(hand), (hand[0] + hand[9]) / 2)


def test_bones_form_a_tree():
    assert len(skeleton.BONES) == 20
    assert all(p < c for p, c in skeleton.BONES)


def test_bad_inputs_raise():
    with pytest.raises(InputError, match=r"\(\.\.\., 21, 2\|3\)"):
        skeleton.to_ours(np.zeros((20, 3)), "rhd")
    with pytest.raises(InputError, match="one of"):
        skeleton.to_ours(np.zeros((21, 3)), "coco")
    nan_pose = open_hand_mm()
    nan_pose[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        skeleton.normalize(nan_pose)
