"""Recording the adaptation clip (``handpose.adapt.record``) and its live preview
(``handpose.viz.record_preview``), for real: the sample clip read by the real video source, MediaPipe
in video mode, a Qt window under Xvfb (in this process; skipped without a display). The window's
screenshot must show the red REC dot and the skeleton's colours where an independent MediaPipe run
finds the joints (mirrored when the preview mirrors); a cancel must leave no clip."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from handpose.adapt.record import HandCounter, RecordingCancelled, RecordingFrame, record_clip
from handpose.capture.open_source import open_source
from handpose.capture.video_file import VideoFileSource
from handpose.detect.detector import DEFAULT_MODEL_PATH, HandDetector
from handpose.viz.draw import JOINT_COLORS_RGB
from tests.media_fixtures import write_video

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "apps" / "assets" / "sample_clip.mp4"  # 640 x 480, 24 fps, two rendered hands
SECONDS, FPS = 2.0, 24.0
FRAMES = 48  # timestamps i / 24 s below 2 s

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="needs MediaPipe's hand_landmarker.task")


@pytest.fixture(scope="module")
def qt_app():
    pytest.importorskip("PyQt5")
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        pytest.skip("the preview window needs a display (run under xvfb-run)")
    from PyQt5 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(["test"])


def _joint_drawn(picture: np.ndarray, x: float, y: float, joint: int) -> bool:
    """Whether joint ``joint``'s colour is within 40 of a pixel in the 5 x 5 window around (x, y)."""
    r, c = int(round(y)), int(round(x))
    window = picture[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3].reshape(-1, 3).astype(float)
    return bool(np.min(np.linalg.norm(window - JOINT_COLORS_RGB[joint], axis=1)) < 40)


def _reference_run(n: int) -> tuple[list[np.ndarray], int, list[np.ndarray]]:
    """The sample clip's first ``n`` frames (RGB), how many have a hand and the last frame's hands'
    keypoints (raw frame px): MediaPipe video mode on its own, as the preview should run it."""
    frames, with_hand, last = [], 0, []
    with HandDetector(mode="video", num_hands=2) as detector, VideoFileSource(SAMPLE, max_frames=n) as source:
        for frame in source:
            boxes = detector.detect(frame.rgb, frame.timestamp_s)
            frames.append(frame.rgb)
            with_hand += bool(boxes)
            last = [b.keypoints_px for b in boxes]
    return frames, with_hand, last


def test_a_callback_sees_each_written_frame_once_in_order_and_can_cancel(tmp_path):
    """The library contract without any window: calls, their fields, the cancel and the atomic write."""
    seen: list[RecordingFrame] = []
    with open_source(SAMPLE) as source:
        clip = record_clip(source, SECONDS, tmp_path / "all.mp4", on_frame=seen.append)  # returns None: go on
    assert clip.frames == FRAMES and [s.index for s in seen] == list(range(FRAMES))
    assert [s.frame.index for s in seen] == list(range(FRAMES))
    assert [s.seconds_left for s in seen] == pytest.approx([SECONDS - i / FPS for i in range(FRAMES)])
    assert all(s.seconds == SECONDS for s in seen)

    old = tmp_path / "mine.mp4"
    old.write_bytes(b"an earlier clip")
    calls = []
    with open_source(SAMPLE) as source, pytest.raises(RecordingCancelled) as cancelled:
        record_clip(source, SECONDS, old, on_frame=lambda shot: calls.append(shot.index) or shot.index < 2)
    assert calls == [0, 1, 2] and cancelled.value.frames == 3 and cancelled.value.path == old
    assert str(cancelled.value) == f"recording cancelled after 3 frames; no clip written to {old}"
    assert old.read_bytes() == b"an earlier clip"  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.mp4", "mine.mp4"]  # no temporary file left


def test_the_hand_counter_counts_frames_with_a_hand_and_warns_when_few_have_one(tmp_path):
    reference_frames, reference_with_hand, _ = _reference_run(FRAMES)
    with HandCounter() as counter, open_source(SAMPLE) as source:
        record_clip(source, SECONDS, tmp_path / "hands.mp4", on_frame=counter)
    assert (counter.frames, counter.with_hand) == (FRAMES, reference_with_hand) and reference_with_hand >= 40
    assert counter.summary() == f"a hand in {reference_with_hand} of {FRAMES} frames ({100 * counter.share:.0f}%)"
    assert counter.warning() is None

    blank = write_video(tmp_path / "wall.mp4", [np.full((240, 320, 3), 128, np.uint8)] * 10, fps=10.0)
    with HandCounter() as counter, VideoFileSource(blank) as source:
        record_clip(source, 1.0, tmp_path / "wall_rec.mp4", on_frame=counter)
    assert (counter.frames, counter.with_hand) == (10, 0)
    assert "only 0% of the frames show a hand" in counter.warning() and "\n" not in counter.warning()


@pytest.mark.parametrize("mirror", [False, True], ids=["raw", "mirrored"])
def test_the_preview_shows_each_frame_with_rec_mark_and_landmarks(qt_app, tmp_path, mirror):
    from handpose.viz.qt_image import grab_rgb
    from handpose.viz.record_preview import REC_COLOR_RGB, RecordPreview, rec_dot_centre_px

    reference_frames, reference_with_hand, reference_hands = _reference_run(FRAMES)
    assert len(reference_hands) >= 1
    seen = []
    with HandCounter() as counter, RecordPreview(counter, mirror=mirror) as preview, open_source(SAMPLE) as source:

        def on_frame(shot: RecordingFrame) -> bool:
            seen.append((shot.index, shot.frame.index))
            return preview(shot)

        clip = record_clip(source, SECONDS, tmp_path / "rec.mp4", on_frame=on_frame)
        picture = grab_rgb(preview.window)
        to_window = preview.window.frame_to_window
        drawn = preview.last_hands_px
    assert not preview.window.isVisible()  # closed at the end, without counting as a cancel
    assert seen == [(i, i) for i in range(FRAMES)]  # each frame once, in order
    assert clip.frames == FRAMES and (counter.frames, counter.with_hand) == (FRAMES, reference_with_hand)

    # the clip holds the raw frames, never mirrored, whatever the preview shows
    with VideoFileSource(clip.path) as written:
        frames = [f.rgb for f in written]
    assert len(frames) == FRAMES
    raw_error = np.mean(np.abs(frames[0].astype(float) - reference_frames[0]))
    assert raw_error < 6 and raw_error < 0.5 * np.mean(np.abs(frames[0].astype(float) - reference_frames[0][:, ::-1]))

    # the red REC dot
    x, y = np.round(to_window(np.array([rec_dot_centre_px(frames[0].shape)]))[0]).astype(int)
    dot = picture[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).astype(float)
    assert np.max(np.linalg.norm(dot - REC_COLOR_RGB, axis=1)) < 10

    # the displayed frame is the last one, mirrored when asked (compared away from the overlay's few pixels)
    x0, y0 = np.round(to_window(np.zeros((1, 2)))[0]).astype(int)
    shown = picture[y0 : y0 + frames[0].shape[0], x0 : x0 + frames[0].shape[1]].astype(float)
    errors = [np.median(np.abs(shown - image)) for image in (reference_frames[-1][:, ::-1], reference_frames[-1])]
    assert errors[1 - int(mirror)] <= 2 and errors[int(mirror)] > 5, errors

    # the skeletons where MediaPipe found the last frame's joints (mirrored like the display)
    width = frames[0].shape[1]
    expected = [np.column_stack([width - 1 - k[:, 0], k[:, 1]]) if mirror else k for k in reference_hands]
    assert len(drawn) == len(expected)
    for got, want in zip(sorted(drawn, key=lambda k: k[0, 0]), sorted(expected, key=lambda k: k[0, 0])):
        np.testing.assert_allclose(got, want, atol=0.5)
    hits = total = control = 0
    background = reference_frames[-1][:, ::-1] if mirror else reference_frames[-1]
    for keypoints in expected:
        for joint, ((wx, wy), (fx, fy)) in enumerate(zip(to_window(keypoints), keypoints)):
            if fy > 400 or (fx < 160 and fy < 80):  # under the text labels
                continue
            total += 1
            hits += _joint_drawn(picture, wx, wy, joint)
            control += _joint_drawn(background, fx, fy, joint)
    assert total >= 30 and hits >= 0.9 * total and control <= 0.3 * total, (hits, control, total)


@pytest.mark.parametrize("how", ["Q", "Escape", "close"])
def test_closing_the_preview_cancels_the_recording_and_leaves_no_clip(qt_app, tmp_path, how):
    from PyQt5 import QtCore, QtGui, QtWidgets

    from handpose.viz.record_preview import RecordPreview

    path = tmp_path / "rec.mp4"
    calls = []
    with HandCounter() as counter, RecordPreview(counter) as preview, open_source(SAMPLE) as source:

        def on_frame(shot: RecordingFrame) -> bool:
            calls.append(shot.index)
            if shot.index == 4:  # the user, while the fifth frame is shown: Qt delivers it in the preview's call
                if how == "close":
                    QtCore.QTimer.singleShot(0, preview.window.close)
                else:
                    key = getattr(QtCore.Qt, f"Key_{how}")
                    QtWidgets.QApplication.postEvent(preview.window, QtGui.QKeyEvent(QtCore.QEvent.KeyPress, key,
                                                                                     QtCore.Qt.NoModifier))
            return preview(shot)

        with pytest.raises(RecordingCancelled) as cancelled:
            record_clip(source, SECONDS, path, on_frame=on_frame)
    assert calls == [0, 1, 2, 3, 4] and cancelled.value.frames == 5 and counter.frames == 5
    assert not path.exists() and list(tmp_path.iterdir()) == []  # no clip, no temporary file


def test_the_demo_reports_a_cancelled_recording_in_one_line(qt_app, tmp_path, capsys):
    """``handpose-demo --record-adaptation`` with the Qt viewer: the preview window opens; closed (as
    a user would close it) the recording stops, one line says so, exit 1, no clip and no model."""
    from PyQt5 import QtCore, QtWidgets

    from apps import live_demo
    from handpose.viz.record_preview import RecordPreviewWindow

    def close_the_preview() -> None:
        windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, RecordPreviewWindow)]
        if any(w.isVisible() for w in windows):
            for window in windows:
                window.close()
        else:
            QtCore.QTimer.singleShot(10, close_the_preview)

    QtCore.QTimer.singleShot(0, close_the_preview)  # fires inside the preview's own processEvents
    out = tmp_path / "me.pt"
    code = live_demo.main(["--source", str(SAMPLE), "--record-adaptation", "20s", "--adapt-out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    clip = re.escape(str(out.with_suffix(".clip.mp4")))
    line = rf"recording cancelled after \d+ frames?; no clip written to {clip}; the model was not adapted\n"
    assert re.fullmatch(line, captured.err), captured.err
    assert "Traceback" not in captured.err and list(tmp_path.iterdir()) == []


def test_the_overlay_turns_orange_while_few_frames_have_a_hand(qt_app):
    """"no hand in view" and the coverage line in LOW_COLOR_RGB below half the frames, white above."""
    from handpose.viz.record_preview import LOW_COLOR_RGB, draw_recording_overlay

    grey = np.full((480, 640, 3), 90, np.uint8)
    hand = np.column_stack([np.linspace(300, 400, 21), np.linspace(200, 300, 21)])

    def orange_rows(image: np.ndarray) -> np.ndarray:
        return np.flatnonzero(np.all(image == LOW_COLOR_RGB, axis=2).any(axis=1))

    few = draw_recording_overlay(grey, [], 3.0, with_hand=1, frames=4)
    rows = orange_rows(few)
    assert len(rows) and rows.min() > 400  # the bottom two lines, both orange
    assert len(orange_rows(draw_recording_overlay(grey, [hand], 3.0, with_hand=2, frames=4))) == 0
    assert np.array_equal(grey, np.full((480, 640, 3), 90, np.uint8))  # drawn on a copy
