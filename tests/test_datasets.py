"""RHD, STB and FreiHAND loaders on small fixture files written in each published format.

The fixtures are built from a known hand given by joint NAME, and each foreign order is spelt
out here by name from the datasets' documentation (not through ``skeleton``'s maps), so a wrong
map, unit, frame or hand side in a loader shows up as a wrong joint.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from handpose.data.public import stb as stb_module
from handpose.data.public.freihand import FreiHANDDataset
from handpose.data.public.rhd import RHDDataset
from handpose.data.sample import HandSample
from handpose.data.public.stb import STBDataset
from handpose.errors import InputError
from handpose.skeleton import JOINT_NAMES, palm_root

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
PARTS = {"thumb": ("cmc", "mcp", "ip", "tip"), **{f: ("mcp", "pip", "dip", "tip") for f in FINGERS[1:]}}
# RHD: wrist, then thumb, index, middle, ring, pinky, each tip -> base
RHD_NAMES = ["wrist"] + [f"{f}_{p}" for f in FINGERS for p in reversed(PARTS[f])]
# STB: palm centre, then pinky, ring, middle, index, thumb, each base -> tip
STB_NAMES = ["palm"] + [f"{f}_{p}" for f in reversed(FINGERS) for p in PARTS[f]]


def known_hand(centre_mm: tuple[float, float, float], seed: int) -> dict[str, np.ndarray]:
    """A hand-like set of 21 distinct named joints (mm, camera frame) around ``centre_mm``."""
    rng = np.random.default_rng(seed)
    joints = {"wrist": np.array([0.0, 45.0, 0.0])}
    for k, finger in enumerate(FINGERS):
        for s, part in enumerate(PARTS[finger]):
            if finger == "thumb":
                xy = (-30.0 - 12.0 * s, 25.0 - 16.0 * s)
            else:
                xy = ((k - 2.5) * 16.0, -(5.0 + 20.0 * s))
            joints[f"{finger}_{part}"] = np.array([*xy, 4.0 * s - 2.0 * k]) + rng.normal(0, 1.5, 3)
    return {name: p + np.array(centre_mm) for name, p in joints.items()}


def ours(hand: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([hand[name] for name in JOINT_NAMES])


def project(points: np.ndarray, k: np.ndarray) -> np.ndarray:
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([k[0, 0] * x / z + k[0, 2], k[1, 1] * y / z + k[1, 2]], -1)


def expected_norm(joints: np.ndarray, is_left: bool) -> np.ndarray:
    rel = (joints - joints[0]) / np.linalg.norm(joints[10] - joints[9])
    if is_left:
        rel[:, 0] = -rel[:, 0]
    return rel


def draw_markers(image: np.ndarray, keypoints: np.ndarray) -> None:
    """Red disc at the wrist, green disc at the middle tip (RGB image, drawn in place)."""
    for joint, colour in ((0, (255, 0, 0)), (12, (0, 255, 0))):
        cv2.circle(image, tuple(int(round(c)) for c in keypoints[joint]), 5, colour, -1)


def write_rgb(path: Path, image_rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 98])


def check_sample(sample: HandSample, joints_mm: np.ndarray, k: np.ndarray, is_left: bool,
                 keypoints_px: np.ndarray | None = None, background: int | None = None) -> None:
    """Labels, crop geometry and crop pixels of one loaded sample."""
    assert sample.is_left is is_left
    np.testing.assert_allclose(sample.joints_cam_mm, joints_mm, atol=1e-3)
    np.testing.assert_allclose(sample.joints_norm, expected_norm(joints_mm, is_left), atol=1e-4)
    expected_px = project(joints_mm, k) if keypoints_px is None else keypoints_px
    np.testing.assert_allclose(sample.keypoints_px, expected_px, atol=1e-3)
    np.testing.assert_allclose(sample.intrinsics, k)
    assert sample.crop is not None and sample.crop.mirrored is is_left and sample.crop.size == 64
    assert sample.crop_rgb is not None and sample.crop_rgb.shape == (64, 64, 3)
    np.testing.assert_allclose(sample.keypoints_crop_px, sample.crop.to_crop(sample.keypoints_px), atol=1e-4)
    # all keypoints inside the crop with the 25% margin on each side
    assert np.all(sample.keypoints_crop_px > 64 * 0.1) and np.all(sample.keypoints_crop_px < 64 * 0.9)
    # the crop shows the image's markers where the crop keypoints say (mirrored for left hands)
    wrist = np.round(sample.keypoints_crop_px[0]).astype(int)
    tip = np.round(sample.keypoints_crop_px[12]).astype(int)
    assert np.all(np.abs(sample.crop_rgb[wrist[1], wrist[0]].astype(int) - (255, 0, 0)) < 40)
    assert np.all(np.abs(sample.crop_rgb[tip[1], tip[0]].astype(int) - (0, 255, 0)) < 40)
    if background is not None:
        assert np.all(np.abs(sample.crop_rgb[1, 1].astype(int) - background) <= 4)


# --------------------------------------------------------------------------- RHD

RHD_K = np.array([[300.0, 0.0, 160.0], [0.0, 300.0, 160.0], [0.0, 0.0, 1.0]])


def rhd_sample(left: dict[str, np.ndarray], right: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    xyz_mm = np.stack([left[n] for n in RHD_NAMES] + [right[n] for n in RHD_NAMES])
    uv = project(xyz_mm, RHD_K)
    visible = ((uv >= 0) & (uv < 320)).all(axis=1).astype(np.float64)
    return {"xyz": xyz_mm / 1000.0, "uv_vis": np.column_stack([uv, visible]), "K": RHD_K.copy()}


@pytest.fixture
def rhd_root(tmp_path: Path) -> tuple[Path, list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]]:
    """Three training frames: 0 left hand bigger in the mask, 1 right bigger, 2 left hand out of view."""
    hands = [
        (known_hand((-55, 0, 450), 0), known_hand((60, 10, 600), 1)),
        (known_hand((-70, -10, 650), 2), known_hand((50, 0, 420), 3)),
        (known_hand((-2000, 0, 500), 4), known_hand((0, 0, 480), 5)),
    ]
    folder = tmp_path / "RHD_published_v2" / "training"
    anno = {i: rhd_sample(left, right) for i, (left, right) in enumerate(hands)}
    anno[0]["uv_vis"][1, 2] = 0.0  # left thumb tip hidden (RHD index 1)
    (folder / "color").mkdir(parents=True)
    (folder / "mask").mkdir()
    with (folder / "anno_training.pickle").open("wb") as f:
        pickle.dump(anno, f, protocol=2)
    for i, (left, right) in enumerate(hands):
        image = np.full((320, 320, 3), 90, np.uint8)
        mask = np.zeros((320, 320), np.uint8)
        for side, hand in ((0, left), (1, right)):
            px = project(ours(hand), RHD_K)
            if np.all((px > 0) & (px < 320)):
                draw_markers(image, px)
            lo, hi = np.clip(px.min(0), 0, 319).astype(int), np.clip(px.max(0), 0, 319).astype(int)
            mask[lo[1] : hi[1], lo[0] : hi[0]] = 5 if side == 0 else 20  # left thumb / right thumb labels
        write_rgb(folder / "color" / f"{i:05d}.png", image)
        cv2.imwrite(str(folder / "mask" / f"{i:05d}.png"), mask)
    return tmp_path / "RHD_published_v2", hands


def test_rhd_dominant_hand_in_our_order_in_mm(rhd_root: tuple[Path, list]) -> None:  # type: ignore[type-arg]
    root, hands = rhd_root
    data = RHDDataset(root, split="train", size=64)
    assert len(data) == 3
    # frame 0: the left hand is nearer, so bigger in the mask; frames 1, 2: the right hand
    for i, is_left in ((0, True), (1, False), (2, False)):
        hand = hands[i][0 if is_left else 1]
        check_sample(data[i], ours(hand), RHD_K, is_left)
    assert not data[0].visibility[4] and data[0].visibility.sum() == 20  # RHD's left thumb tip = our joint 4
    assert data[1].visibility.all()
    with pytest.raises(IndexError):
        data[3]


def test_rhd_both_hands_keeps_hands_with_visible_keypoints(rhd_root: tuple[Path, list]) -> None:  # type: ignore[type-arg]
    root, hands = rhd_root
    data = RHDDataset(root, split="train", size=64, hands="both")
    assert len(data) == 5  # frame 2's left hand is out of view
    sides = [(s.is_left, tuple(np.round(s.joints_cam_mm[0]).astype(int))) for s in data]
    expected = [(True, 0), (False, 0), (True, 1), (False, 1), (False, 2)]
    for (is_left, wrist), (want_left, frame) in zip(sides, expected):
        want = ours(hands[frame][0 if want_left else 1])[0]
        assert is_left is want_left and np.allclose(wrist, np.round(want), atol=1)
    # the same hands as pose-only data, whichever ``hands`` mode
    poses = RHDDataset(root, split="train", hands="dominant").pose_only()
    assert len(poses) == 5 and all(p.crop_rgb is None for p in poses)
    for pose, (want_left, frame) in zip(poses, expected):
        assert pose.is_left is want_left
        np.testing.assert_allclose(pose.joints_cam_mm, ours(hands[frame][0 if want_left else 1]), atol=1e-3)


def test_rhd_missing_files_are_named(rhd_root: tuple[Path, list], tmp_path: Path) -> None:  # type: ignore[type-arg]
    root, _ = rhd_root
    with pytest.raises(InputError, match=r"'evaluation' set .* which does not exist"):
        RHDDataset(root, split="test")
    with pytest.raises(InputError, match="anno_training.pickle"):
        RHDDataset(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="split must be one of"):
        RHDDataset(root, split="validation")
    (root / "training" / "mask" / "00001.png").unlink()
    with pytest.raises(InputError, match=r"mask.*00001\.png"):
        RHDDataset(root, size=64)[1]


class _RunsCode:
    """A pickle payload that would create a file when unpickled by a plain ``pickle.load``."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.target,))


def test_rhd_pickle_that_would_run_code_is_refused(rhd_root: tuple[Path, list], tmp_path: Path) -> None:  # type: ignore[type-arg]
    root, _ = rhd_root
    marker = tmp_path / "ran"
    with (root / "training" / "anno_training.pickle").open("wb") as f:
        pickle.dump({0: {"xyz": _RunsCode(marker)}}, f, protocol=2)
    with pytest.raises(InputError, match=r"refused to load .*only dicts, numbers and numpy arrays"):
        RHDDataset(root)
    assert not marker.exists()


# --------------------------------------------------------------------------- STB


@pytest.fixture
def stb_root(tmp_path: Path) -> tuple[Path, list[dict[str, np.ndarray]]]:
    """B1Counting and B1Random with 2 frames each, labels in the depth camera's frame."""
    rot = cv2.Rodrigues(np.array([0.00531, -0.01196, 0.00301]))[0]
    t = np.array([-24.0381, -0.4563, -1.2326])
    hands = [known_hand((x, y, z), seed) for seed, (x, y, z) in
             enumerate([(-40, 0, 500), (30, 20, 450), (0, -30, 550), (60, 40, 480)])]
    k = stb_module.COLOR_INTRINSICS
    for s, seq in enumerate(("B1Counting", "B1Random")):
        frames = hands[2 * s : 2 * s + 2]
        para = []
        for f, hand in enumerate(frames):
            named = dict(hand, palm=(hand["wrist"] + hand["middle_mcp"]) / 2.0)  # STB's palm centre
            colour = np.stack([named[n] for n in STB_NAMES])
            para.append(colour @ rot.T + t)  # colour camera -> depth camera: x_d = R x_c + t
            image = np.full((480, 640, 3), 40 + 30 * (2 * s + f), np.uint8)
            draw_markers(image, project(ours(hand), k))
            write_rgb(tmp_path / "images" / seq / f"SK_color_{f}.png", image)
        (tmp_path / "labels").mkdir(exist_ok=True)
        savemat(str(tmp_path / "labels" / f"{seq}_SK.mat"), {"handPara": np.stack(para).transpose(2, 1, 0)})
    return tmp_path, hands


def test_stb_converts_depth_frame_palm_root_left_hands(stb_root: tuple[Path, list]) -> None:  # type: ignore[type-arg]
    root, hands = stb_root
    data = STBDataset(root, split="test", size=64)
    assert len(data) == 4
    for i, hand in enumerate(hands):
        sample = data[i]
        check_sample(sample, ours(hand), stb_module.COLOR_INTRINSICS, True, background=40 + 30 * i)
        # the evaluation root of our joints is STB's labelled palm centre
        np.testing.assert_allclose(palm_root(sample.joints_cam_mm), (hand["wrist"] + hand["middle_mcp"]) / 2, atol=1e-3)
    assert data[-1].joints_cam_mm[0] == pytest.approx(data[3].joints_cam_mm[0])
    poses = data.pose_only()
    assert len(poses) == 4 and all(p.is_left for p in poses)
    np.testing.assert_allclose(poses[2].joints_cam_mm, ours(hands[2]), atol=1e-3)


def test_stb_train_split_needs_the_other_sequences(stb_root: tuple[Path, list], tmp_path: Path) -> None:  # type: ignore[type-arg]
    root, _ = stb_root
    with pytest.raises(InputError, match=r"B2Counting_SK\.mat"):
        STBDataset(root, split="train")
    savemat(str(root / "labels" / "B1Random_SK.mat"), {"other": np.zeros(3)})
    with pytest.raises(InputError, match="'handPara' expected"):
        STBDataset(root, split="test")
    savemat(str(root / "labels" / "B1Random_SK.mat"), {"handPara": np.zeros((3, 20, 5))})
    with pytest.raises(InputError, match=r"\(3, 21, N\) expected, got \(3, 20, 5\)"):
        STBDataset(root, split="test")


# --------------------------------------------------------------------------- FreiHAND

FREI_K = np.array([[480.0, 0.0, 112.0], [0.0, 478.0, 111.0], [0.0, 0.0, 1.0]])


@pytest.fixture
def freihand_root(tmp_path: Path) -> tuple[Path, list[dict[str, np.ndarray]]]:
    """2 training frames x 4 versions (distinct backgrounds) and 1 evaluation frame."""
    hands = [known_hand((10, 0, 700), 10), known_hand((-20, 15, 650), 11), known_hand((0, 0, 720), 12)]
    for prefix, frames, versions in (("training", hands[:2], 4), ("evaluation", hands[2:], 1)):
        (tmp_path / f"{prefix}_xyz.json").write_text(json.dumps([(ours(h) / 1000.0).tolist() for h in frames]))
        (tmp_path / f"{prefix}_K.json").write_text(json.dumps([FREI_K.tolist()] * len(frames)))
        for v in range(versions):
            for f, hand in enumerate(frames):
                image = np.full((224, 224, 3), 50 + 20 * (v * len(frames) + f), np.uint8)
                draw_markers(image, project(ours(hand), FREI_K))
                write_rgb(tmp_path / prefix / "rgb" / f"{v * len(frames) + f:08d}.jpg", image)
    return tmp_path, hands


def test_freihand_versions_share_labels(freihand_root: tuple[Path, list]) -> None:  # type: ignore[type-arg]
    root, hands = freihand_root
    data = FreiHANDDataset(root, split="train", size=64)
    assert len(data) == 8
    for i in range(8):
        check_sample(data[i], ours(hands[i % 2]), FREI_K, False, background=50 + 20 * i)
    only_hom = FreiHANDDataset(root, size=64, versions=(1,))
    assert len(only_hom) == 2
    check_sample(only_hom[1], ours(hands[1]), FREI_K, False, background=50 + 20 * 3)
    test = FreiHANDDataset(root, split="test", size=64)
    assert len(test) == 1
    check_sample(test[0], ours(hands[2]), FREI_K, False, background=50)
    poses = data.pose_only()  # each labelled frame once, not once per version
    assert len(poses) == 2 and not poses[1].is_left
    np.testing.assert_allclose(poses[1].joints_cam_mm, ours(hands[1]), atol=1e-3)


def test_freihand_bad_files_are_named(freihand_root: tuple[Path, list], tmp_path: Path) -> None:  # type: ignore[type-arg]
    root, _ = freihand_root
    (root / "training" / "rgb" / f"{3 * 2:08d}.jpg").unlink()
    with pytest.raises(InputError, match=r"first image of version 3 expected at .*00000006\.jpg"):
        FreiHANDDataset(root)
    with pytest.raises(InputError, match="versions from 0..3"):
        FreiHANDDataset(root, versions=(4,))
    (root / "evaluation_K.json").write_text(json.dumps([np.eye(3).tolist()] * 2))
    with pytest.raises(InputError, match="has 1 entries but evaluation_K.json 2"):
        FreiHANDDataset(root, split="test")
    (root / "training_xyz.json").write_text(json.dumps([[0.0, 1.0]]))
    with pytest.raises(InputError, match=r"training_xyz\.json: a JSON list of \(21, 3\) arrays"):
        FreiHANDDataset(root)
    with pytest.raises(InputError, match=r"training_xyz\.json"):
        FreiHANDDataset(tmp_path / "nothing")
