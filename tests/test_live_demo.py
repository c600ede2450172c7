"""apps/live_demo run headless for a number of frames on a real video (a pan over a real hand photo):
the Open3D viewer offscreen (EGL) in this process, the Qt window under Xvfb in a subprocess. The
screenshots must show the skeleton's colours at the joints the sidecar reports and a non-empty 3D view."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from apps import live_demo
from handpose.viz.draw import JOINT_COLORS_RGB
from tests.media_fixtures import model_checkpoint, pan_frames, write_video

REPO = Path(__file__).resolve().parents[1]
#: the latency text box in the top-left corner of the overlay (frame px) hides what is under it
TEXT_BOX = (130, 150)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return model_checkpoint(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "pan.mp4", pan_frames(12, (320, 240)), fps=15.0)


def skeleton_colour(pixel: np.ndarray) -> int:
    """Index of the nearest joint colour (0 wrist, 1 thumb, 5 index, 9 middle, 13 ring, 17 pinky) or -1."""
    candidates = (0, 1, 5, 9, 13, 17)
    dist = [np.linalg.norm(pixel.astype(float) - JOINT_COLORS_RGB[j]) for j in candidates]
    return candidates[int(np.argmin(dist))] if min(dist) < 70 else -1


def check_screenshot(png: Path) -> dict:
    """Skeleton colours at the sidecar's joints; returns the sidecar."""
    shot = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    info = json.loads(png.with_suffix(".json").read_text())
    frame_origin, scale = info["camera_rect"][:2], info["camera_scale"]
    assert info["hands"], "no hand in the last frame"
    any_colour = total = 0
    for hand in info["hands"]:
        for x, y in np.asarray(hand["keypoints_px"]):
            fx, fy = (x - frame_origin[0]) / scale, (y - frame_origin[1]) / scale  # back in frame px
            if not (0 <= fx < 320 and 0 <= fy < 240) or (fx < TEXT_BOX[0] and fy < TEXT_BOX[1]):
                continue
            # a 5x5 window: where joints crowd together (a small hand), a neighbour's black outline
            # may cover a joint's own centre pixel; a misplaced overlay would show the background
            r, c = int(round(y)), int(round(x))
            window = shot[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3].reshape(-1, 3)
            total += 1
            any_colour += any(skeleton_colour(p) >= 0 for p in window)
    # (which finger's colour is on top where joints crowd together depends on the model's pose)
    assert total >= 10 and any_colour >= 0.9 * total, (any_colour, total)
    return info


def test_open3d_viewer_headless(checkpoint, clip, tmp_path):
    pytest.importorskip("open3d")
    png = tmp_path / "o3d.png"
    code = live_demo.main(["--viewer", "open3d", "--headless", "--source", str(clip), "--checkpoint", str(checkpoint),
                           "--max-frames", "6", "--screenshot", str(png), "--no-pace", "--detect-every-frame"])  # fmt: skip
    assert code == 0
    info = check_screenshot(png)
    assert info["camera_rect"] == [0, 0, 320, 240]  # the Open3D view starts at the camera: frame px = picture px
    assert info["settings"] == {"backend": "onnxruntime", "smoothing": "on", "mirror": "off"}


def test_qt_window_under_xvfb(checkpoint, clip, tmp_path):
    pytest.importorskip("PyQt5")
    pytest.importorskip("pyqtgraph")
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (Debian package xvfb)")
    png = tmp_path / "qt.png"
    run = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-m", "apps.live_demo", "--source", str(clip), "--checkpoint",
         str(checkpoint), "--max-frames", "6", "--screenshot", str(png), "--no-pace", "--detect-every-frame"],
        cwd=REPO, env={**os.environ, "QT_QPA_PLATFORM": "xcb"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "6 frames shown" in run.stdout
    info = check_screenshot(png)
    assert info["camera_rect"][2:] == [320, 240] and info["camera_scale"] == 1.0
    shot = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    x, y, w, h = info["view3d_rect"]
    view = shot[y : y + h, x : x + w].reshape(-1, 3)[::3]
    coloured = np.mean([skeleton_colour(p) > 0 for p in view])
    assert coloured > 0.001, "the 3D view shows no skeleton"


def test_qt_window_stops_with_a_message_when_its_loop_raises(checkpoint, tmp_path):
    """A 1x1 video makes the pipeline raise inside the Qt timer: the demo must exit non-zero with
    one line, not hang with a traceback (a real process under Xvfb, with a timeout)."""
    pytest.importorskip("PyQt5")
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (Debian package xvfb)")
    tiny = write_video(tmp_path / "tiny.avi", [np.zeros((1, 1, 3), np.uint8)] * 5, fourcc="MJPG")
    run = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-m", "apps.live_demo", "--source", str(tiny), "--checkpoint",
         str(checkpoint), "--max-frames", "3", "--no-pace"],
        cwd=REPO, env={**os.environ, "QT_QPA_PLATFORM": "xcb"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    assert "error: frame: at least 8x8 pixels expected, got (1, 1)" in run.stderr and "Traceback" not in run.stderr


def test_an_unwritable_screenshot_path_is_refused_before_anything_opens(clip, tmp_path, monkeypatch, capsys):
    from apps.live_demo import main

    monkeypatch.setenv("DISPLAY", os.environ.get("DISPLAY", ":0"))  # past the display check, which comes first
    (tmp_path / "a_file").write_text("not a folder")
    assert main(["--source", str(clip), "--screenshot", str(tmp_path / "a_file" / "shot.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a_file is a file, where a folder is expected" in err


def test_missing_camera_and_display_errors(capsys, monkeypatch):
    if not Path("/dev/video5").exists():
        assert live_demo.main(["--viewer", "open3d", "--headless", "--source", "webcam:5"]) == 2
        assert "no camera at index 5" in capsys.readouterr().err
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert live_demo.main(["--viewer", "qt", "--source", "webcam:5"]) == 2
    assert "xvfb-run" in capsys.readouterr().err


def test_realsense_recording_drives_the_session_with_depth(checkpoint, tmp_path):
    """A .db3 recorded through a librealsense software device: colour + a flat depth 600 mm away; the
    session passes the depth to the pipeline, which puts each hand's palm at that depth."""
    pytest.importorskip("pyrealsense2")
    from handpose.geometry.camera import CameraIntrinsics
    from handpose.capture import open_source
    from handpose.capture.realsense_recorder import record_realsense
    from handpose.infer.pipeline import PipelineConfig
    from handpose.geometry.lift import PALM_SURFACE_OFFSET_MM
    from handpose.live.session import LiveSession
    from handpose.skeleton import palm_root
    from handpose.types import Frame

    intrinsics = CameraIntrinsics.default_for(320, 240)
    depth = np.full((240, 320), 600, np.uint16)
    frames = [Frame(rgb=rgb, index=i, depth_mm=depth) for i, rgb in enumerate(pan_frames(4, (320, 240)))]
    record_realsense(tmp_path / "hand.db3", frames, intrinsics, fps=30)
    calibration = tmp_path / "intrinsics.json"
    source = open_source(tmp_path / "hand.db3")
    source.intrinsics.save(calibration)
    config = PipelineConfig(checkpoint=checkpoint, calibration=calibration, smoothing=False, detector_mode="image")
    session = LiveSession(source, config, pace=False)
    try:
        # playback on a heavily loaded machine can lose a frame in librealsense's syncer; the
        # property under test is the depth, so take every frame that arrives until the end
        results = list(iter(session.next, None))
    finally:
        session.close()
    assert 3 <= len(results) <= 4
    hands = [h for r in results for h in r.hands]
    assert len(hands) >= 3 and all(r.frame.depth_mm is not None for r in results)
    inside = [h for h in hands if np.all((palm_root(h.keypoints_px) >= 0) & (palm_root(h.keypoints_px) < [320, 240]))]
    assert inside
    for hand in inside:  # the depth reading at the palm, not the hand-size guess, sets the distance
        assert palm_root(hand.joints_cam_mm)[2] == pytest.approx(600 + PALM_SURFACE_OFFSET_MM, abs=1.0)
