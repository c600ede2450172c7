"""MediaPipe detector: handedness convention on real photos flipped both ways, pixel convention, errors."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.detect.detector import HandDetector, appears_left
from handpose.errors import InputError
from tests.real_photos import ONE_HAND_PHOTOS, load_rgb


@pytest.fixture(scope="module")
def detector():
    with HandDetector(mode="image", num_hands=2) as det:
        yield det


@pytest.mark.parametrize("photo", ONE_HAND_PHOTOS)
def test_flipping_the_photo_swaps_handedness_and_mirrors_keypoints(detector, photo):
    rgb = load_rgb(photo)
    flipped = np.ascontiguousarray(rgb[:, ::-1])
    (hand,) = detector.detect(rgb)
    (hand_flipped,) = detector.detect(flipped)
    assert {hand.handedness, hand_flipped.handedness} == {"left", "right"}
    # OpenCV pixel convention: a flip maps x -> (W - 1) - x
    width = rgb.shape[1]
    mirrored = hand_flipped.keypoints_px.copy()
    mirrored[:, 0] = (width - 1) - mirrored[:, 0]
    hand_size = np.ptp(hand.keypoints_px, axis=0).max()
    assert np.median(np.linalg.norm(mirrored - hand.keypoints_px, axis=1)) < 0.15 * hand_size  # MediaPipe is not exactly flip-equivariant
    assert hand.keypoints_px.shape == (21, 2) and hand.source == "detector" and 0.5 <= hand.score <= 1.0


def test_mirrored_input_flag_swaps_the_label(detector):
    rgb = load_rgb(ONE_HAND_PHOTOS[0])
    (plain,) = detector.detect(rgb)
    with HandDetector(mode="image", mirrored_input=True) as mirrored_detector:
        (mirrored,) = mirrored_detector.detect(rgb)
    assert plain.handedness != mirrored.handedness
    np.testing.assert_allclose(plain.keypoints_px, mirrored.keypoints_px)
    # a person's hand looks the same in the image either way: the crop flip must not change
    assert appears_left(plain.handedness, False) == appears_left(mirrored.handedness, True)


def test_blank_frame_has_no_hands(detector):
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []


def test_video_mode_accepts_repeated_timestamps_and_counts_calls():
    rgb = load_rgb(ONE_HAND_PHOTOS[2])
    with HandDetector(mode="video", num_hands=1) as det:
        for _ in range(3):
            (hand,) = det.detect(rgb, timestamp_s=0.0)
        assert det.calls == 3


def test_bad_input_and_missing_model(detector, tmp_path):
    with pytest.raises(InputError, match="uint8"):
        detector.detect(np.zeros((480, 640, 3), np.float32))
    with pytest.raises(InputError, match=r"\(H, W, 3\)"):
        detector.detect(np.zeros((480, 640), np.uint8))
    with pytest.raises(InputError, match="setup.sh"):
        HandDetector(model_path=tmp_path / "missing.task")
    with pytest.raises(InputError, match="mode"):
        HandDetector(mode="stream")  # type: ignore[arg-type]


def test_labels_name_the_actual_hand_on_rendered_frames(detector):
    """Ground truth: a rendered right hand and left hand side by side, non-mirrored camera."""
    frames_module = pytest.importorskip("handpose.data.synth.frames")
    try:
        frames = list(frames_module.hand_sequence(4, fps=2.0, seed=1, two_hands=True))
    except Exception as exc:  # no OpenGL context
        pytest.skip(f"no headless OpenGL: {exc}")
    checked = 0
    for frame in frames:
        for box in detector.detect(frame.rgb):
            nearest = min(frame.hands, key=lambda h: np.linalg.norm(h.keypoints_px - box.keypoints_px, axis=1).mean())
            assert box.handedness == nearest.side
            checked += 1
    assert checked >= 6


def test_native_logs_are_silenced_unless_verbose(tmp_path):
    """MediaPipe's C++ log lines do not reach the console of a process that uses the detector, but
    the process's own stderr does; HANDPOSE_VERBOSE=1 lets them through."""
    import os
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from handpose.detect.detector import HandDetector\n"
            "print('before', file=sys.stderr)\n"
            "with HandDetector(mode='image') as d:\n"
            "    d.detect(np.zeros((64, 64, 3), np.uint8)); d.detect(np.zeros((64, 64, 3), np.uint8))\n"
            "print('after', file=sys.stderr)\n")
    env = {k: v for k, v in os.environ.items() if k != "HANDPOSE_VERBOSE"}
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr.split() == ["before", "after"], quiet.stderr
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**env, "HANDPOSE_VERBOSE": "1"})
    assert loud.returncode == 0 and "LiteRT" in loud.stderr and len(loud.stderr.splitlines()) > 4


def test_the_apps_verbose_flag_lets_native_logs_through(monkeypatch):
    import os

    from apps.process_video import parse_args
    from handpose.detect.detector import VERBOSE_ENV

    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    assert parse_args([]).verbose is False and VERBOSE_ENV not in os.environ
    assert parse_args(["--verbose"]).verbose is True and os.environ[VERBOSE_ENV] == "1"
