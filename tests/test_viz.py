"""Drawing and the 3D views, rendered for real: cv2 overlay, Open3D offscreen (EGL), the Qt window
(pyqtgraph GL view) under Xvfb. Checks look for the finger colours at the joints' pixels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from handpose import skeleton
from handpose.geometry.camera import CameraIntrinsics
from handpose.errors import InputError
from handpose.types import HandPose, StageTimings
from handpose.viz.draw import (
    FADED_JOINT_COLORS_RGB,
    JOINT_COLORS_RGB,
    annotate,
    draw_hands,
    draw_skeleton,
    hand_label,
    line_widths,
    timing_lines,
)
from tests.hand_fixtures import open_hand_mm

W, H = 320, 240
INTRINSICS = CameraIntrinsics.default_for(W, H)
FINGER_TIPS = (4, 8, 12, 16, 20)


def projected_hand(offset_mm=(0.0, 60.0, 0.0), handedness="right") -> HandPose:
    """A hand whose 2D keypoints are the exact projection of its 3D joints through INTRINSICS."""
    joints = open_hand_mm(400.0) + np.asarray(offset_mm)
    uv = joints[:, :2] / joints[:, 2:] * [INTRINSICS.fx, INTRINSICS.fy] + [INTRINSICS.cx, INTRINSICS.cy]
    return HandPose(handedness, 0.93, uv, joints, np.zeros((21, 3)))


#: the stage times drawn with the test hands (total 3.9 ms)
TIMINGS = StageTimings(1.0, 0.5, 2.0, 0.3, 0.1)


def nearest_joint_colour(pixel: np.ndarray) -> int:
    """Index of the joint colour (distinct finger colours: 1, 5, 9, 13, 17; wrist 0) closest to ``pixel``."""
    candidates = (0, 1, 5, 9, 13, 17)
    dist = [np.linalg.norm(pixel.astype(float) - JOINT_COLORS_RGB[j]) for j in candidates]
    return candidates[int(np.argmin(dist))] if min(dist) < 90 else -1


def finger_of(joint: int) -> int:
    return 0 if joint == 0 else 1 + 4 * ((joint - 1) // 4)


def test_skeleton_pixels_have_the_finger_colours():
    image = np.full((H, W, 3), 40, np.uint8)
    hand = projected_hand()
    out = draw_skeleton(image, hand.keypoints_px)
    assert np.all(image == 40)  # a copy unless in_place
    for j, (x, y) in enumerate(np.round(hand.keypoints_px).astype(int)):
        assert tuple(out[y, x]) == JOINT_COLORS_RGB[j]
    with pytest.raises(InputError, match=r"\(21, 2\)"):
        draw_skeleton(image, np.zeros((20, 2)))
    with pytest.raises(InputError, match="uint8"):
        draw_skeleton(image.astype(np.float32), hand.keypoints_px)


def _saturation(pixel: np.ndarray) -> float:
    """HSV saturation in [0, 1] of an RGB pixel."""
    rgb = pixel.astype(float)
    return 0.0 if rgb.max() == 0 else float((rgb.max() - rgb.min()) / rgb.max())


def _distance_to_segments(points: np.ndarray, segments: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(M,) distance in px of each point (M, 2) to the nearest of the segments (a, b)."""
    best = np.full(len(points), np.inf)
    for a, b in segments:
        t = np.clip(((points - a) @ (b - a)) / max(float((b - a) @ (b - a)), 1e-9), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(points - (a + t[:, None] * (b - a)), axis=1))
    return best


def test_occluded_joints_are_drawn_faded_and_only_there():
    image = np.full((H, W, 3), 40, np.uint8)
    hand = projected_hand()
    hidden = {8, 16}  # the index and ring tips
    visibility = np.ones(21, np.float32)
    visibility[sorted(hidden)] = 0.0
    full = draw_skeleton(image, hand.keypoints_px)
    np.testing.assert_array_equal(draw_skeleton(image, hand.keypoints_px, visibility=np.ones(21)), full)
    np.testing.assert_array_equal(draw_skeleton(image, hand.keypoints_px, visibility=np.full(21, 0.5)), full)
    faded = draw_skeleton(image, hand.keypoints_px, visibility=visibility)
    changed = np.any(full != faded, axis=-1)
    # only the hidden joints and the bones that touch them change
    ys, xs = np.nonzero(changed)
    segments = [(hand.keypoints_px[p], hand.keypoints_px[c]) for p, c in skeleton.BONES if {p, c} & hidden]
    thickness, radius = line_widths(image.shape)
    reach = max(radius + 1, (thickness + 2) / 2) + 2  # the outline's reach, plus antialiasing and rounding to px
    assert _distance_to_segments(np.stack([xs, ys], 1).astype(float), segments).max() <= reach
    for j, (x, y) in enumerate(np.round(hand.keypoints_px).astype(int)):
        if j in hidden:  # still drawn, in the faded colour, much less saturated than in full
            assert changed[y, x] and tuple(faded[y, x]) == FADED_JOINT_COLORS_RGB[j] != tuple(image[y, x])
            assert _saturation(faded[y, x]) < 0.6 * _saturation(full[y, x])
        else:
            assert tuple(faded[y, x]) == JOINT_COLORS_RGB[j]
    # the faded bone is there too: halfway along index DIP -> tip, lighter than the background, less saturated
    mid = np.round((hand.keypoints_px[7] + hand.keypoints_px[8]) / 2).astype(int)
    assert faded[mid[1], mid[0]].astype(int).sum() > image[mid[1], mid[0]].astype(int).sum()
    assert _saturation(faded[mid[1], mid[0]]) < _saturation(full[mid[1], mid[0]])
    # draw_hands reads HandPose.visibility
    np.testing.assert_array_equal(draw_hands(image, [replace(hand, visibility=visibility)])[changed],
                                  faded[changed])
    with pytest.raises(InputError, match=r"visibility: shape \(21,\)"):
        draw_skeleton(image, hand.keypoints_px, visibility=np.ones(20))


def test_annotate_writes_label_and_latency_text():
    image = np.full((H, W, 3), 40, np.uint8)
    hand = projected_hand()
    out = annotate(image, [hand], TIMINGS, fps=29.5)
    assert timing_lines(TIMINGS, 29.5)[0] == "FPS  29.5" and "total     3.9 ms" in timing_lines(TIMINGS)
    text_box = out[:110, :120]
    assert np.mean(np.all(text_box == 255, axis=-1)) > 0.01  # white text drawn in the corner
    top = int(hand.keypoints_px[:, 1].min())
    assert np.any(out[max(0, top - 25) : top - 2] != 40)  # the "Right 0.93" label above the hand


def test_hand_label_names_the_gesture_and_finger_count():
    hand = projected_hand()
    assert hand_label(hand) == "Right 0.93"  # not classified: no gesture
    assert hand_label(replace(hand, gesture="thumb_up", gesture_score=0.8, finger_count=1)) == "Right 0.93  thumb up 1f"
    assert hand_label(replace(hand, gesture="none", finger_count=4)) == "Right 0.93  4f"
    wide = annotate(np.full((H, W, 3), 40, np.uint8), [replace(hand, gesture="i_love_you", finger_count=3)])
    plain = annotate(np.full((H, W, 3), 40, np.uint8), [hand])
    top = int(hand.keypoints_px[:, 1].min())
    assert (wide[max(0, top - 25) : top - 2] != 40).sum() > (plain[max(0, top - 25) : top - 2] != 40).sum()


def test_open3d_view_from_the_camera_puts_the_joints_on_their_pixels():
    pytest.importorskip("open3d")
    from handpose.viz.open3d_viewer import Open3DViewer

    hands = [projected_hand(), projected_hand((-120.0, 40.0, 80.0), "left")]
    viewer = Open3DViewer(INTRINSICS, visible=False)
    try:
        background = np.full((H, W, 3), 90, np.uint8)
        viewer.update(background, hands)
        viewer.poll()
        picture = viewer.capture()
        viewer.update(background, [])
        viewer.poll()
        empty = viewer.capture()
    finally:
        viewer.close()
    assert picture.shape == (H, W, 3)
    hits = 0
    for hand in hands:
        for j in FINGER_TIPS + (2, 6, 10, 14, 18):
            x, y = np.round(hand.keypoints_px[j]).astype(int)
            hits += nearest_joint_colour(picture[y, x]) == finger_of(j)
    assert hits >= 18  # of 20 joints (a near hand may hide a far one's joint)
    # the image plane is there (grey), and without hands no finger colour remains
    assert np.median(empty.reshape(-1, 3), axis=0).tolist() == [90, 90, 90]
    assert all(nearest_joint_colour(empty[int(y), int(x)]) in (-1, 0) for x, y in hands[0].keypoints_px[[4, 8]])


QT_SCRIPT = r"""
import dataclasses, sys, json, numpy as np
from PyQt5 import QtWidgets
sys.path.insert(0, sys.argv[1])
from handpose.viz.qt_window import LiveWindow
from handpose.viz.draw import annotate
from tests.test_viz import projected_hand, H, W, TIMINGS
app = QtWidgets.QApplication([])
pressed = []
window = LiveWindow({"Smoothing": ("S", lambda: pressed.append("S"))})
window.resize(900, 420)
window.show()
hands = [dataclasses.replace(projected_hand(), gesture="victory", gesture_score=0.9, finger_count=2)]
image = annotate(np.full((H, W, 3), 60, np.uint8), hands, TIMINGS, 30.0)
window.show_frame(image, hands, TIMINGS, 30.0, {"backend": "onnxruntime", "smoothing": "on"})
for _ in range(5):
    app.processEvents()
shot = window.screenshot_rgb()
np.save(sys.argv[2], shot)
texts = {"latency": window.latency_label.text(), "settings": window.settings_label.text(),
         "gesture": window.gesture_label.text()}
window.show_frame(image, [], TIMINGS, 30.0, {})
for _ in range(5):
    app.processEvents()
np.save(sys.argv[3], window.screenshot_rgb())
json.dump({"joints": window.frame_to_window(hands[0].keypoints_px).tolist(), "view3d": window.view3d_rect(), **texts},
          open(sys.argv[4], "w"))
"""


def test_qt_window_shows_overlay_3d_skeleton_and_latency(tmp_path):
    pytest.importorskip("PyQt5")
    pytest.importorskip("pyqtgraph")
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (Debian package xvfb)")
    script = tmp_path / "qt_window_check.py"
    script.write_text(QT_SCRIPT)
    shot, empty, meta = tmp_path / "shot.npy", tmp_path / "empty.npy", tmp_path / "meta.json"
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    run = subprocess.run(["xvfb-run", "-a", sys.executable, str(script), str(repo), str(shot), str(empty), str(meta)],
                         env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    import json

    info = json.loads(meta.read_text())
    picture, blank = np.load(shot), np.load(empty)
    for j, (x, y) in enumerate(np.round(info["joints"]).astype(int)):
        assert nearest_joint_colour(picture[y, x]) == finger_of(j), j  # the overlay at the joints
    x0, y0, w, h = info["view3d"]
    view, view_blank = picture[y0 : y0 + h, x0 : x0 + w], blank[y0 : y0 + h, x0 : x0 + w]
    coloured = [np.mean([nearest_joint_colour(p) == c for p in view.reshape(-1, 3)[::7]]) for c in (1, 5, 9)]
    assert min(coloured) > 0.0005  # thumb, index and middle bones visible in 3D
    assert max(np.mean([nearest_joint_colour(p) == c for p in view_blank.reshape(-1, 3)[::7]]) for c in (1, 5, 9)) == 0
    assert "FPS" in info["latency"] and "model" in info["latency"] and "backend: onnxruntime" in info["settings"]
    assert info["gesture"] == "Right 0.93  victory 2f"  # each hand's gesture and finger count beside the 3D view
