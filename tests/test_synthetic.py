"""Synthetic data: crop samples, full frames, sequences, pose-only source, and hand-likeness."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from handpose import skeleton
from handpose.data.synth import hand_poses
from handpose.data.synth.backgrounds import BackgroundBank
from handpose.data.synth.pose_source import PoseSource
from handpose.data.synth.scene import VISIBILITY_TOLERANCE_MM, hand_joints, project, random_hand_spec

synthetic = pytest.importorskip("handpose.data.synth.synthetic")
frames = pytest.importorskip("handpose.data.synth.frames")

MODEL = Path(__file__).resolve().parents[1] / "models" / "hand_landmarker.task"


@pytest.fixture(scope="module")
def bank() -> BackgroundBank:
    return BackgroundBank.default()


@pytest.fixture(scope="module")
def source(bank):
    try:
        src = synthetic.SyntheticHandSource(synthetic.SyntheticConfig(negative_fraction=0.2), seed=7,
                                            num_samples=1000, backgrounds=bank)
        src[0]
    except Exception as exc:  # no EGL on this machine
        pytest.skip(f"no headless OpenGL: {exc}")
    return src


@pytest.fixture(scope="module")
def samples(source):
    return [source[i] for i in range(40)]


def test_samples_are_deterministic_per_seed(source, bank, samples):
    again = synthetic.SyntheticHandSource(source.config, seed=7, num_samples=1000, backgrounds=bank)
    for i in (3, 0, 17):  # any order
        a, b = samples[i], again[i]
        np.testing.assert_array_equal(a.crop_rgb, b.crop_rgb)
        np.testing.assert_array_equal(a.joints_cam_mm, b.joints_cam_mm)
        np.testing.assert_array_equal(a.visible, b.visible)
    other = synthetic.SyntheticHandSource(source.config, seed=8, num_samples=1000, backgrounds=bank)
    assert not np.array_equal(other[3].joints_cam_mm, samples[3].joints_cam_mm)
    assert not np.array_equal(samples[3].crop_rgb, samples[4].crop_rgb)


def test_labels_are_consistent(samples):
    for s in samples:
        assert s.crop_rgb.shape == (128, 128, 3) and s.crop_rgb.dtype == np.uint8
        assert s.joints_cam_mm.shape == (21, 3) and np.all(s.joints_cam_mm[:, 2] > 100.0)
        np.testing.assert_allclose(project(s.joints_cam_mm.astype(np.float64), s.intrinsics), s.keypoints_px,
                                   atol=1e-3)
        np.testing.assert_allclose(s.crop.to_crop(s.keypoints_px), s.keypoints_crop_px, atol=1e-3)
        assert s.crop.mirrored == s.is_left
        if s.present:
            # the crop is the box around the keypoints with +-10% shift, +-15% scale: all inside
            assert np.all(s.keypoints_crop_px > -2) and np.all(s.keypoints_crop_px < 130)
            # adult-ish hand sizes (rig 46.9 mm x 0.85..1.12)
            assert 38.0 < skeleton.bone_length(s.joints_cam_mm) < 54.0
    presence = [s.present for s in samples]
    assert 0 < presence.count(False) < len(samples)
    assert {s.is_left for s in samples} == {True, False}
    negatives = [s for s in samples if not s.present]
    assert all(not s.visible.any() for s in negatives)
    visible = np.concatenate([s.visible for s in samples if s.present])
    assert 0.5 < visible.mean() < 1.0  # self-occlusion and occluders hide some joints, not most


def test_left_hand_is_the_mirrored_right_hand():
    rng = np.random.default_rng(3)
    for _ in range(5):
        spec = random_hand_spec(rng, left_fraction=0.0)
        mirrored = np.diag([-1.0, 1.0, 1.0])
        left = replace(spec, side="left", rotation=mirrored @ spec.rotation @ mirrored)
        right_norm = skeleton.normalize(hand_joints(spec), False)[0]
        left_norm = skeleton.normalize(hand_joints(left), True)[0]
        # the two meshes are rigged separately: a few mm apart (see test_rig); unit = 46.9 mm
        assert np.abs(left_norm - right_norm).max() < 0.15
        assert np.abs(left_norm - right_norm).mean() < 0.04


def test_other_sizes_and_negatives(bank):
    cfg = synthetic.SyntheticConfig(crop_size=64, negative_fraction=1.0)
    s = synthetic.SyntheticHandSource(cfg, seed=1, backgrounds=bank)[5]
    assert s.crop_rgb.shape == (64, 64, 3) and not s.present
    with pytest.raises(IndexError):
        synthetic.SyntheticHandSource(cfg, num_samples=3, backgrounds=bank)[3]
    with pytest.raises(ValueError, match="render_scale"):
        synthetic.SyntheticConfig(render_scale=1.0)


@pytest.fixture(scope="module")
def frame_renderer(bank):
    try:
        return frames.FrameRenderer(320, 240, backgrounds=bank)
    except Exception as exc:
        pytest.skip(f"no headless OpenGL: {exc}")


def test_frame_pixels_are_where_the_labels_say(frame_renderer):
    """On a black background the hand's colour is found at every visible projected joint and the
    depth buffer there lies just in front of the joint (the joints are inside the fingers)."""
    K = frames.default_intrinsics(320, 240)
    spec = frames.hand_spec("right", hand_poses.GESTURES["open_palm"], [0.0, 60.0, 450.0])
    frame = frame_renderer.render([spec], K, np.zeros((240, 320, 3), np.uint8))
    hand = frame.hands[0]
    assert hand.visible.all()  # open palm facing the camera
    for j, (u, v) in enumerate(hand.keypoints_px):
        x, y = int(round(u)), int(round(v))
        assert frame.rgb[y, x].sum() > 60, j
        assert 0.0 < hand.joints_cam_mm[j, 2] - frame.depth_mm[y, x] < VISIBILITY_TOLERANCE_MM[j], j
    # back of a fist: the finger tips are hidden
    fist = frames.hand_spec("right", hand_poses.GESTURES["fist"], [0.0, 60.0, 450.0], yaw_deg=180.0)
    hidden = frame_renderer.render([fist], K, np.zeros((240, 320, 3), np.uint8)).hands[0]
    assert not hidden.visible[[8, 12, 16, 20]].any()


def test_sequence_is_smooth_and_deterministic(frame_renderer):
    clip = list(frames.hand_sequence(12, fps=30.0, seed=4, renderer=frame_renderer, two_hands=True))
    joints = np.stack([f.hands[0].joints_cam_mm for f in clip])
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).max()
    assert 0.01 < speed < 25.0  # mm per frame at 30 fps: moving, never jumping
    assert [h.side for h in clip[0].hands] == ["right", "left"]
    again = next(frames.hand_sequence(1, fps=30.0, seed=4, renderer=frame_renderer, two_hands=True))
    np.testing.assert_array_equal(again.rgb, clip[0].rgb)
    assert [f.timestamp_s for f in clip[:2]] == [0.0, 1 / 30]


def test_pose_source():
    src = PoseSource(seed=2, num_samples=100)
    a, b = src[10], PoseSource(seed=2, num_samples=100)[10]
    np.testing.assert_array_equal(a.joints_cam_mm, b.joints_cam_mm)
    batch, is_left = src.joints_cam_mm(5, 10)
    np.testing.assert_array_equal(batch[5], a.joints_cam_mm)  # alone or in a batch: the same sample
    assert is_left[5] == a.is_left and 0 < is_left.sum() < 10
    with pytest.raises(IndexError):
        src[100]
    norm = src.joints_norm(0, 50)
    assert norm.shape == (50, 21, 3)
    np.testing.assert_allclose(skeleton.bone_length(norm), 1.0, atol=1e-5)
    assert np.std(norm[:, 12], axis=0).min() > 0.3  # varied poses and orientations


def test_mediapipe_finds_easy_renders(bank):
    """Hand-likeness: a real detector finds open palms facing the camera in most renders."""
    vision = pytest.importorskip("mediapipe.tasks.python.vision")
    mp = pytest.importorskip("mediapipe")
    from mediapipe.tasks.python import BaseOptions

    if not MODEL.exists():
        pytest.skip(f"{MODEL} not built (scripts/build_mediapipe_model.py)")
    renderer = frames.FrameRenderer(640, 480, backgrounds=bank)
    K = frames.default_intrinsics(640, 480)
    options = vision.HandLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(MODEL)),
                                           running_mode=vision.RunningMode.IMAGE, num_hands=1)
    landmarker = vision.HandLandmarker.create_from_options(options)
    found, errors = 0, []
    rng = np.random.default_rng(0)
    for i in range(6):
        spec = frames.hand_spec("right" if i % 2 else "left", hand_poses.GESTURES["open_palm"],
                                [rng.uniform(-60, 60), rng.uniform(40, 90), rng.uniform(400, 550)],
                                yaw_deg=rng.uniform(-25, 25), roll_deg=rng.uniform(-20, 20))
        frame = renderer.render([spec], K, renderer.background(rng))
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb))
        if result.hand_landmarks:
            found += 1
            points = np.array([[p.x * 640, p.y * 480] for p in result.hand_landmarks[0]])
            errors.append(np.median(np.linalg.norm(points - frame.hands[0].keypoints_px, axis=1)))
    landmarker.close()
    assert found >= 5
    assert np.median(errors) < 15.0  # MediaPipe's landmarks agree with our labels (same wrist definition)


def test_backgrounds_keep_away_from_hands(tmp_path):
    """Photo patches never show a (marked) hand; photos without known hand boxes are not used."""
    import cv2

    from handpose.data.synth.backgrounds import file_key

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 120, (300, 400, 3), dtype=np.uint8)  # dark clutter (no pure red)
    photo[100:160, 250:300] = (0, 0, 255)  # BGR red square: the "hand"
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), photo)
    unknown = tmp_path / "other.png"
    cv2.imwrite(str(unknown), photo[::-1].copy())
    boxes = {file_key(path): np.array([[250.0, 100.0, 299.0, 159.0]])}
    bank = BackgroundBank([path, unknown], boxes, n_procedural=1, photo_fraction=1.0)
    assert bank.num_photos == 1
    patches = [bank.sample(rng, 32, 48) for _ in range(200)]
    assert all(p.shape == (32, 48, 3) and p.dtype == np.uint8 for p in patches)
    assert not any(np.all(p == (255, 0, 0), axis=-1).any() for p in patches)
    assert sum(p.mean() < 70 for p in patches) > 100  # mostly photo patches (dark clutter), not textures


def test_shipped_photos_have_stored_hand_boxes():
    from handpose.data.synth.backgrounds import find_photos

    assert len(find_photos()) == 45
    assert BackgroundBank.default().num_photos >= 40  # of 45; the detector found no hand in 3


def test_contact_sheet_draws_each_sample_in_its_tile(samples):
    from handpose.data.contact_sheet import contact_sheet
    from handpose.viz.draw import JOINT_COLORS_RGB

    chosen = [s for s in samples if s.present][:3]
    sheet = contact_sheet(chosen, columns=2, scale=2)
    assert sheet.shape == (2 * 256, 2 * 256, 3) and sheet.dtype == np.uint8
    for k, sample in enumerate(chosen):
        r, c = divmod(k, 2)
        tile = sheet[r * 256 : (r + 1) * 256, c * 256 : (c + 1) * 256]
        points = np.rint((sample.keypoints_crop_px + 0.5) * 2 - 0.5).astype(int)
        inside = np.all((points >= 0) & (points < 256), axis=1)
        hits = [np.array_equal(tile[y, x], JOINT_COLORS_RGB[j]) for j, (x, y) in enumerate(points)
                if inside[j] and sample.visible[j]]
        assert np.mean(hits) > 0.6  # visible joints show their colour (a few are overdrawn by neighbours)
    assert not np.any(sheet[2 * 256 - 256 :, 256:])  # the empty fourth tile stays black
    with pytest.raises(ValueError, match="pose-only"):
        contact_sheet([PoseSource(num_samples=1)[0]])


def test_forked_child_gets_a_clear_error_instead_of_a_hang(source):
    """Mesa deadlocks in a child forked after rendering; the source must say so, not hang."""
    import os
    import signal
    import time

    from handpose.errors import HandposeError

    source[0]  # this process has rendered
    pid = os.fork()
    if pid == 0:  # child: only exit codes leave here
        try:
            source[1]
            code = 1
        except HandposeError:
            code = 0
        except BaseException:
            code = 2
        os._exit(code)
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung")
