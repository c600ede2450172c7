"""HandPosePipeline end to end on real photos with real MediaPipe and ONNX Runtime / torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handpose import skeleton
from handpose.geometry.camera import CameraIntrinsics
from handpose.detect.detector import HandDetector
from handpose.errors import InputError
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.geometry.lift import PALM_SURFACE_OFFSET_MM, pose_scale
from handpose.model import build_model
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, save_model
from handpose.types import Frame
from tests.real_photos import ONE_HAND_PHOTOS, load_rgb

FPS = 30.0


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The trained default model when it exists, else a seeded untrained one (deterministic)."""
    if DEFAULT_CHECKPOINT.is_file():
        return DEFAULT_CHECKPOINT
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "seeded.pt"
    save_model(build_model(), path)
    return path


@pytest.fixture(scope="module")
def photo():
    return load_rgb(ONE_HAND_PHOTOS[2])


def _video(rgb, n):
    return [Frame(rgb, k, k / FPS) for k in range(n)]


def test_hands_on_a_real_photo_have_consistent_outputs(checkpoint, photo):
    config = PipelineConfig(checkpoint=checkpoint, num_hands=2, smoothing=False, presence_threshold=0.0)
    with HandDetector(mode="image") as detector:
        (expected,) = detector.detect(photo)
    with HandPosePipeline(config) as pipeline:
        result = pipeline(Frame(photo))
        from_array = pipeline(photo)  # a bare RGB array: numbered and timed by the pipeline
        size_mm = pipeline.hand_size_mm
    (hand,) = result
    assert result.index == 0 and from_array.index == 0 and len(from_array) == 1
    assert from_array[0].handedness == hand.handedness
    assert hand.handedness == expected.handedness
    assert hand.keypoints_px.shape == (21, 2) and hand.joints_cam_mm.shape == (21, 3) and hand.joints_norm.shape == (21, 3)
    assert all(a.dtype == np.float32 for a in (hand.keypoints_px, hand.joints_cam_mm, hand.joints_norm))
    assert 0.0 <= hand.presence <= 1.0 and hand.track_id >= 0
    # 3D camera joints = normalised pose x hand size, mirrored back for left hands, + the solved root
    left = hand.handedness == "left"
    rel = skeleton.denormalize(hand.joints_norm, size_mm / pose_scale(hand.joints_norm), is_left=left)
    np.testing.assert_allclose(hand.joints_cam_mm - hand.joints_cam_mm[0], rel - rel[0], atol=1e-2)
    t = result.timings
    assert t.detect_ms > 0 and t.model_ms > 0 and t.total_ms >= t.detect_ms + t.model_ms


def test_calibration_file_sets_the_intrinsics(checkpoint, photo, tmp_path):
    """The default intrinsics written to a file give identical hands; a longer focal length moves them away."""
    height, width = photo.shape[:2]
    default = CameraIntrinsics.default_for(width, height)
    default.save(tmp_path / "same.json")
    CameraIntrinsics(K=default.K * np.array([[1.5], [1.5], [1.0]]), width=width, height=height).save(tmp_path / "tele.json")
    roots = {}
    for name in (None, "same.json", "tele.json"):
        config = PipelineConfig(checkpoint=checkpoint, num_hands=1, smoothing=False, presence_threshold=0.0,
                                calibration=None if name is None else tmp_path / name)
        with HandPosePipeline(config) as pipeline:
            (hand,) = pipeline(Frame(photo))
        roots[name] = hand.joints_cam_mm.astype(np.float64)
    np.testing.assert_allclose(roots["same.json"], roots[None], atol=1e-3)
    assert np.abs(roots["tele.json"] - roots[None]).max() > 1.0


def test_depth_image_sets_the_palm_depth(checkpoint, photo):
    """With an aligned depth image the palm (mid wrist-middle MCP) sits PALM_SURFACE_OFFSET_MM behind the skin."""
    depth = np.full(photo.shape[:2], 600, np.uint16)
    for use_depth in (True, False):
        config = PipelineConfig(checkpoint=checkpoint, num_hands=1, smoothing=False, presence_threshold=0.0,
                                use_depth=use_depth)
        with HandPosePipeline(config) as pipeline:
            (hand,) = pipeline(Frame(photo, depth_mm=depth))
        palm_z = float(skeleton.palm_root(hand.joints_cam_mm.astype(np.float64))[2])
        if use_depth:
            assert palm_z == pytest.approx(600.0 + PALM_SURFACE_OFFSET_MM, abs=1e-2)
        else:
            assert abs(palm_z - 600.0 - PALM_SURFACE_OFFSET_MM) > 1.0


def test_detector_runs_only_when_needed(checkpoint, photo):
    frames = _video(photo, 20)
    tracking = PipelineConfig(checkpoint=checkpoint, num_hands=1, redetect_every=10, presence_threshold=0.0)
    with HandPosePipeline(tracking) as pipeline:
        for frame in frames:
            pipeline(frame)
        assert pipeline.detector_calls < len(frames) // 2  # steady-state frames skip MediaPipe
        assert all(len(pipeline(frame)) == 1 for frame in frames[:3])
        steady = pipeline.detector_calls
    never_sure = PipelineConfig(checkpoint=checkpoint, num_hands=1, redetect_every=10, presence_threshold=1.0)
    with HandPosePipeline(never_sure) as pipeline:
        for frame in frames:
            pipeline(frame)
        assert pipeline.detector_calls == len(frames)  # presence always below 1: lost every frame
    stills = PipelineConfig(checkpoint=checkpoint, num_hands=1, detector_mode="image", presence_threshold=0.0)
    with HandPosePipeline(stills) as pipeline:
        for frame in frames[:3]:
            assert len(pipeline(frame)) == 1
        assert pipeline.detector_calls == 3  # unrelated stills: MediaPipe every frame
    assert steady >= 2  # frames 0 and 10 at least


def test_stills_are_not_smoothed_together(checkpoint):
    """Image mode: each still stands alone even with smoothing on (no state carried between photos)."""
    first, second = load_rgb(ONE_HAND_PHOTOS[0]), load_rgb(ONE_HAND_PHOTOS[2])  # both left hands: one track
    config = PipelineConfig(checkpoint=checkpoint, num_hands=1, detector_mode="image", smoothing=True,
                            presence_threshold=0.0)
    with HandPosePipeline(config) as pipeline:
        pipeline(Frame(first))
        (after_first,) = pipeline(Frame(second, 1, 1 / FPS))
    with HandPosePipeline(config) as pipeline:
        (alone,) = pipeline(Frame(second))
    np.testing.assert_allclose(after_first.keypoints_px, alone.keypoints_px, atol=1e-3)
    np.testing.assert_allclose(after_first.joints_cam_mm, alone.joints_cam_mm, atol=1e-2)


def test_backends_give_the_same_hands(checkpoint, photo):
    results = {}
    for backend in ("onnxruntime", "torch"):
        config = PipelineConfig(checkpoint=checkpoint, backend=backend, num_hands=1, smoothing=False,
                                presence_threshold=0.0)
        with HandPosePipeline(config) as pipeline:
            results[backend] = [pipeline(frame) for frame in _video(photo, 3)]
    for a, b in zip(results["onnxruntime"], results["torch"]):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            # the backends agree to 1e-4 crop px (test_backends); mapped to frame px (x box/crop scale)
            # and fed back through the tracker's next crop over 3 frames that becomes a few 1e-2 px,
            # and the pose moves by up to ~1e-3 bone lengths (0.05 mm)
            np.testing.assert_allclose(x.keypoints_px, y.keypoints_px, atol=0.05)
            np.testing.assert_allclose(x.joints_norm, y.joints_norm, atol=3e-3)


def test_blank_frames_bad_frames_reset(checkpoint, photo):
    with HandPosePipeline(PipelineConfig(checkpoint=checkpoint)) as pipeline:
        assert pipeline(Frame(np.zeros((480, 640, 3), np.uint8))).hands == ()
        assert pipeline(Frame(np.full((480, 640, 3), 255, np.uint8), 1, 1 / FPS)).hands == ()
        with pytest.raises(InputError, match="RGB uint8 .* or a handpose.Frame expected, got list"):
            pipeline([[0, 0, 0]])  # type: ignore[arg-type]
        with pytest.raises(InputError, match="uint8"):
            pipeline(np.zeros((480, 640, 3), np.float32))  # a bare array is checked like a Frame's
        with pytest.raises(InputError, match="uint8"):
            pipeline(Frame(np.zeros((480, 640, 3), np.float32)))
        with pytest.raises(InputError, match=r"\(H, W, 3\)"):
            pipeline(Frame(np.zeros((480, 640), np.uint8)))
        calls = pipeline.detector_calls
        pipeline(Frame(photo, 2, 2 / FPS))
        pipeline.reset()
        pipeline(Frame(photo, 0, 0.0))  # a new sequence may restart its clock
        assert pipeline.detector_calls == calls + 2


def test_bad_config():
    with pytest.raises(InputError, match="backend"):
        PipelineConfig(backend="openvino")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="hand_size_mm"):
        PipelineConfig(hand_size_mm=470.0)
    with pytest.raises(InputError, match="redetect_every"):
        PipelineConfig(redetect_every=0)
