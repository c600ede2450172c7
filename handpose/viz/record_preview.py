"""The live preview of an adaptation recording: a Qt window showing each frame as it is written.

:class:`RecordPreview` is an ``on_frame`` callback of :func:`handpose.adapt.record.record_clip`.
Each written frame is shown (mirrored for display when ``mirror`` is set - the clip keeps the raw
frames) with an overlay drawn by :func:`draw_recording_overlay`: a red REC dot and label in the
top-left corner, the seconds left under it, MediaPipe's landmarks of the frame (video mode, through
:class:`handpose.adapt.record.HandCounter`; the skeleton colours of :mod:`handpose.viz.draw`) and,
at the bottom, "hand found in N of M frames" (orange while fewer than half of the frames had one),
plus "no hand in view" while the current frame has none. Q, Esc or closing the window cancels the
recording (the callback returns ``False``; ``record_clip`` then removes its temporary file and
raises :class:`~handpose.adapt.record.RecordingCancelled`).

The window is updated from the recording loop itself (``QApplication.processEvents`` once per
frame), so no Qt event loop needs to run. Needs PyQt5 (extra ``viewer``) and a display (Xvfb works).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Final

import cv2
import numpy as np

from handpose.adapt.record import LOW_HAND_SHARE, HandCounter, RecordingFrame
from handpose.errors import MissingDependencyError
from handpose.types import check_rgb_frame
from handpose.viz.draw import OUTLINE_COLOR_RGB, TEXT_COLOR_RGB, draw_label, draw_skeleton, size_factor
from handpose.viz.qt_image import ImageLabel

try:
    from PyQt5 import QtCore, QtWidgets
except ImportError as _exc:  # pragma: no cover - exercised only where the extra is missing
    raise MissingDependencyError(getattr(_exc, "name", None) or "PyQt5", "viewer", "The recording preview") from None

#: the REC dot and label
REC_COLOR_RGB: Final = (235, 30, 30)
#: the coverage line while fewer than LOW_HAND_SHARE of the frames had a hand, and "no hand in view"
LOW_COLOR_RGB: Final = (255, 170, 40)
#: centre and radius of the REC dot, in px of a 480 p frame (scaled with :func:`size_factor`)
REC_DOT_CENTRE: Final = (18, 20)
REC_DOT_RADIUS: Final = 8


def rec_dot_centre_px(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """(x, y) frame px of the REC dot's centre in an image of ``image_shape`` (H, W, ...)."""
    factor = size_factor(image_shape)
    return round(REC_DOT_CENTRE[0] * factor), round(REC_DOT_CENTRE[1] * factor)


def draw_recording_overlay(
    image_rgb: np.ndarray,
    hands_px: Sequence[np.ndarray],
    seconds_left: float,
    with_hand: int,
    frames: int,
    *,
    in_place: bool = False,
) -> np.ndarray:
    """Draw the recording overlay on an (H, W, 3) uint8 **RGB** image (a copy unless ``in_place``).

    Args:
        image_rgb: the frame as displayed (already mirrored when the display is).
        hands_px: each found hand's (21, 2) keypoints in ``image_rgb``'s px (x right, y down),
            MediaPipe's joint order; drawn with :func:`handpose.viz.draw.draw_skeleton`.
        seconds_left: recording time still to come (s).
        with_hand: frames so far in which a hand was found.
        frames: frames so far (this one included).

    Returns:
        The image with the REC dot (filled :data:`REC_COLOR_RGB` around :func:`rec_dot_centre_px`),
        "REC" and "12.3 s left" top-left, the skeletons, and "hand found in N of M frames" bottom-left.
    """
    check_rgb_frame(image_rgb, "image_rgb")
    out = image_rgb if in_place else image_rgb.copy()  # draw_label / draw_skeleton check in-place use
    for keypoints in hands_px:
        draw_skeleton(out, keypoints, in_place=True)
    factor = size_factor(out.shape)
    centre, radius = rec_dot_centre_px(out.shape), round(REC_DOT_RADIUS * factor)
    text_x, line = centre[0] + radius + round(8 * factor), round(24 * factor)
    draw_label(out, "REC", (text_x, centre[1] + round(7 * factor)), REC_COLOR_RGB, scale=0.6, in_place=True)
    cv2.circle(out, centre, radius + 2, OUTLINE_COLOR_RGB, -1, cv2.LINE_AA)  # after a draw_label: in_place checked
    cv2.circle(out, centre, radius, REC_COLOR_RGB, -1, cv2.LINE_AA)
    draw_label(out, f"{max(0.0, seconds_left):4.1f} s left", (round(8 * factor), centre[1] + radius + line),
               TEXT_COLOR_RGB, in_place=True)  # fmt: skip
    bottom = out.shape[0] - round(10 * factor)
    low = frames > 0 and with_hand / frames < LOW_HAND_SHARE
    draw_label(out, f"hand found in {with_hand} of {frames} frames", (round(8 * factor), bottom),
               LOW_COLOR_RGB if low else TEXT_COLOR_RGB, in_place=True)  # fmt: skip
    if not hands_px:
        draw_label(out, "no hand in view", (round(8 * factor), bottom - line), LOW_COLOR_RGB, in_place=True)
    return out


class RecordPreviewWindow(QtWidgets.QWidget):
    """The preview window: the overlaid frame (an :class:`~handpose.viz.qt_image.ImageLabel`, scaled
    down to fit its MAX_VIEW_SIZE) over a line of help. Q, Esc or closing it sets :attr:`cancelled`."""

    def __init__(self, title: str = "handpose - recording for the adaptation") -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.setAttribute(QtCore.Qt.WA_QuitOnClose, False)  # closing it must not end a later Qt event loop
        self.cancelled = False
        layout = QtWidgets.QVBoxLayout(self)
        self.image_label = ImageLabel("waiting for the first frame ...")
        self.image_label.setAlignment(QtCore.Qt.AlignCenter)
        self.image_label.setStyleSheet("background: #202020; color: #c0c0c0")
        self.image_label.setMinimumSize(320, 240)
        layout.addWidget(self.image_label)
        help_label = QtWidgets.QLabel("Show your hand, turn it, open and close it.   Q / Esc: cancel the recording")
        layout.addWidget(help_label)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.key() in (QtCore.Qt.Key_Q, QtCore.Qt.Key_Escape):
            self.close()
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.cancelled = True
        super().closeEvent(event)

    def frame_to_window(self, points_px: np.ndarray) -> np.ndarray:
        """Map displayed-frame px (N, 2) to this window's px (as in :meth:`QWidget.grab`)."""
        return self.image_label.frame_to(self, points_px)


class RecordPreview:
    """``on_frame`` callback of :func:`~handpose.adapt.record.record_clip` that shows the recording.

    Opens a :class:`RecordPreviewWindow` (creating the ``QApplication`` if there is none); per frame
    it finds the hands with ``counter`` (raw frame), mirrors the image and the keypoints for display
    when ``mirror`` is set, draws :func:`draw_recording_overlay` into one reused buffer, shows it and
    lets Qt handle its events. Returns ``False`` (cancel) once the window has been closed (Q, Esc,
    the window's close button). Use as a context manager or call :meth:`close`.

    Args:
        counter: the :class:`HandCounter` that finds and counts the hands (not closed here).
        mirror: show the frames mirrored (selfie view), as the demo shows a webcam.

    Attributes:
        last_hands_px: the last frame's hands, each (21, 2) in displayed-frame px (mirrored when
            the display is), as drawn.
    """

    def __init__(self, counter: HandCounter, mirror: bool = False) -> None:
        self.counter, self.mirror = counter, bool(mirror)
        self._app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
        self.window = RecordPreviewWindow()
        self.window.show()
        self._app.processEvents()
        self._buffer: np.ndarray | None = None
        self.last_hands_px: tuple[np.ndarray, ...] = ()

    def __call__(self, shot: RecordingFrame) -> bool:
        if self.window.cancelled:
            return False
        rgb = shot.frame.rgb
        boxes = self.counter.detect(shot)
        if self._buffer is None or self._buffer.shape != rgb.shape:
            self._buffer = np.empty_like(rgb)
        np.copyto(self._buffer, rgb[:, ::-1] if self.mirror else rgb)
        hands = []
        for box in boxes:
            points = box.keypoints_px.copy()
            if self.mirror:
                points[:, 0] = rgb.shape[1] - 1 - points[:, 0]
            hands.append(points)
        self.last_hands_px = tuple(hands)
        draw_recording_overlay(self._buffer, hands, shot.seconds_left, self.counter.with_hand, self.counter.frames,
                               in_place=True)  # fmt: skip
        self.window.image_label.show_rgb(self._buffer)
        self._app.processEvents()
        return not self.window.cancelled

    def close(self) -> None:
        """Close the window without counting it as a cancel (idempotent)."""
        if self.window.isVisible():
            cancelled = self.window.cancelled
            self.window.close()
            self.window.cancelled = cancelled
            self._app.processEvents()

    def __enter__(self) -> RecordPreview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
