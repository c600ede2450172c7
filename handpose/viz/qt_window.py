"""The live demo's PyQt5 window: camera view with the 2D overlay, an interactive 3D view, latency, toggles.

Layout: the annotated camera image (RGB, drawn 1:1 or scaled down by :attr:`LiveWindow.view_scale`
to fit 800 x 600) on the left; on the right a pyqtgraph ``GLViewWidget`` with the hands' 3D skeletons
(drag to orbit, wheel to zoom) over a 10 cm grid, then labels with each hand's side, gesture and
extended fingers (:func:`handpose.viz.draw.hand_label`), FPS, per-stage latency and the current settings, and buttons for the toggles. Keys: S smoothing, M mirroring, B backend,
Space pause, Q or Esc quit. The window only displays: what a toggle does is the callback's
business (see :class:`handpose.live.session.LiveSession`).

3D view coordinates: camera-frame mm (x right, y down, z forward) are shown as GL
``(x, z, -y)`` - depth runs into the screen and up is up - centred on the hands.
Needs PyQt5, pyqtgraph and PyOpenGL (extra ``viewer``); OpenGL needs a display (Xvfb works).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from handpose.errors import HandposeError, LoopError, MissingDependencyError
from handpose.types import HandPose, StageTimings
from handpose.viz.draw import hand_label, timing_lines
from handpose.viz.qt_image import ImageLabel, grab_rgb
from handpose.viz.screenshot import save_screenshot
from handpose.viz.skeleton3d import BONE_COLORS, BONE_PAIRS, JOINT_COLORS

if TYPE_CHECKING:
    from handpose.live.session import LiveResult, LiveSession

try:
    import pyqtgraph.opengl as gl
    from PyQt5 import QtCore, QtGui, QtWidgets
except ImportError as _exc:  # pragma: no cover - exercised only where the extra is missing
    raise MissingDependencyError(getattr(_exc, "name", None) or "PyQt5", "viewer", "The Qt window") from None

#: how fast the 3D view's centre follows the hands (fraction per frame)
CENTRE_FOLLOW = 0.2


def camera_to_gl(joints_cam_mm: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., 3) mm -> GL view coordinates (x, z, -y)."""
    joints = np.asarray(joints_cam_mm, dtype=np.float64)
    return np.stack([joints[..., 0], joints[..., 2], -joints[..., 1]], axis=-1)


class LiveWindow(QtWidgets.QMainWindow):
    """The demo window.

    Args:
        actions: button label -> (key, callback) for the toggles, e.g.
            ``{"Smoothing": ("S", session.toggle_smoothing)}``.
        max_hands: hands drawn at most in the 3D view.
        title: window title.
    """

    def __init__(
        self,
        actions: Mapping[str, tuple[str, Callable[[], None]]],
        max_hands: int = 2,
        title: str = "handpose - live",
    ) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.paused = False
        self.quit_requested = False

        central = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(central)
        self.camera_label = ImageLabel()
        self.camera_label.setAlignment(QtCore.Qt.AlignLeft | QtCore.Qt.AlignTop)
        self.camera_label.setStyleSheet("background: #202020")
        layout.addWidget(self.camera_label, 0, QtCore.Qt.AlignTop)

        side = QtWidgets.QVBoxLayout()
        self.view3d = gl.GLViewWidget()
        self.view3d.setMinimumSize(360, 300)
        self.view3d.setBackgroundColor((30, 30, 34))
        grid = gl.GLGridItem()
        grid.setSize(600, 600)
        grid.setSpacing(100, 100)
        self.view3d.addItem(grid)
        self._grid = grid
        self.view3d.setCameraPosition(distance=700, elevation=20, azimuth=-90)
        self._centre: np.ndarray | None = None
        self._bones = []
        self._joints = []
        bone_colors = np.concatenate([np.repeat(BONE_COLORS, 2, axis=0), np.ones((2 * len(BONE_PAIRS), 1))], axis=1)
        joint_colors = np.concatenate([JOINT_COLORS, np.ones((21, 1))], axis=1)
        for _ in range(max_hands):
            bones = gl.GLLinePlotItem(pos=np.zeros((2 * len(BONE_PAIRS), 3)), color=bone_colors, width=4.0,
                                      mode="lines", antialias=True)  # fmt: skip
            joints = gl.GLScatterPlotItem(pos=np.zeros((21, 3)), color=joint_colors, size=12.0, pxMode=True)
            bones.setVisible(False)
            joints.setVisible(False)
            self.view3d.addItem(bones)
            self.view3d.addItem(joints)
            self._bones.append(bones)
            self._joints.append(joints)
        side.addWidget(self.view3d, 1)

        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
        self.gesture_label = QtWidgets.QLabel()
        self.gesture_label.setFont(font)
        side.addWidget(self.gesture_label)
        self.latency_label = QtWidgets.QLabel()
        self.latency_label.setFont(font)
        self.settings_label = QtWidgets.QLabel()
        self.settings_label.setFont(font)
        side.addWidget(self.latency_label)
        side.addWidget(self.settings_label)
        buttons = QtWidgets.QHBoxLayout()
        for text, (key, callback) in actions.items():
            button = QtWidgets.QPushButton(f"{text} [{key}]")
            button.setFocusPolicy(QtCore.Qt.NoFocus)
            button.clicked.connect(callback)
            buttons.addWidget(button)
            QtWidgets.QShortcut(QtGui.QKeySequence(key), self, activated=callback)
        pause = QtWidgets.QPushButton("Pause [Space]")
        pause.setFocusPolicy(QtCore.Qt.NoFocus)
        pause.clicked.connect(self.toggle_pause)
        buttons.addWidget(pause)
        QtWidgets.QShortcut(QtGui.QKeySequence("Space"), self, activated=self.toggle_pause)
        for key in ("Q", "Esc"):
            QtWidgets.QShortcut(QtGui.QKeySequence(key), self, activated=self.close)
        side.addLayout(buttons)
        layout.addLayout(side, 1)
        self.setCentralWidget(central)

    def toggle_pause(self) -> None:
        self.paused = not self.paused

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.quit_requested = True
        super().closeEvent(event)

    def show_frame(
        self,
        image_rgb: np.ndarray,
        hands: Sequence[HandPose],
        timings: StageTimings,
        fps: float,
        settings: Mapping[str, str],
    ) -> None:
        """Display one frame: ``image_rgb`` (H, W, 3) uint8 RGB (already annotated), the hands in 3D,
        latency and the current ``settings`` (name -> value)."""
        self.camera_label.show_rgb(image_rgb)
        self._show_3d(hands)
        self.gesture_label.setText("\n".join(hand_label(h) for h in hands) or "no hand")
        self.latency_label.setText("\n".join(timing_lines(timings, fps)))
        self.settings_label.setText("   ".join(f"{k}: {v}" for k, v in settings.items()) + ("   PAUSED" if self.paused else ""))

    def _show_3d(self, hands: Sequence[HandPose]) -> None:
        for slot, (bones, joints) in enumerate(zip(self._bones, self._joints, strict=True)):
            visible = slot < len(hands)
            bones.setVisible(visible)
            joints.setVisible(visible)
            if visible:
                points = camera_to_gl(hands[slot].joints_cam_mm)
                bones.setData(pos=points[BONE_PAIRS.ravel()])
                joints.setData(pos=points)
        if hands:
            centre = np.mean([camera_to_gl(h.joints_cam_mm).mean(axis=0) for h in hands], axis=0)
            self._centre = centre if self._centre is None else self._centre + CENTRE_FOLLOW * (centre - self._centre)
            self.view3d.opts["center"] = QtGui.QVector3D(*self._centre)
            self._grid.resetTransform()
            self._grid.translate(self._centre[0], self._centre[1], self._centre[2] - 150.0)
        self.view3d.update()

    def frame_to_window(self, points_px: np.ndarray) -> np.ndarray:
        """Map frame px (N, 2) to this window's px (as in :meth:`QWidget.grab`)."""
        return self.camera_label.frame_to(self, points_px)

    @property
    def view_scale(self) -> float:
        """Displayed px per frame px of the camera view (1, or less for frames bigger than MAX_VIEW_SIZE)."""
        return self.camera_label.view_scale

    def camera_rect(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the camera view in this window's px."""
        origin = self.camera_label.mapTo(self, QtCore.QPoint(0, 0))
        return origin.x(), origin.y(), self.camera_label.width(), self.camera_label.height()

    def view3d_rect(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the 3D view in this window's px."""
        origin = self.view3d.mapTo(self, QtCore.QPoint(0, 0))
        return origin.x(), origin.y(), self.view3d.width(), self.view3d.height()

    def screenshot_rgb(self) -> np.ndarray:
        """The whole window as (H, W, 3) uint8 RGB (3D view included)."""
        return grab_rgb(self)


def run_qt(session: LiveSession, max_frames: int | None = None, screenshot: str | Path | None = None) -> int:
    """Run ``session`` in a :class:`LiveWindow` until the window is closed; return the frames shown.

    With ``max_frames`` the window closes after that many frames; at the end of a finite source it
    stays open on the last frame unless ``max_frames`` or ``screenshot`` is given. ``screenshot``:
    save the window (PNG + JSON sidecar, :mod:`handpose.viz.screenshot`) before closing.
    Anything raised in the frame loop closes the window and is raised here (a :class:`LoopError`
    naming it, unless it is already a :class:`HandposeError`).
    """
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = LiveWindow(
        {"Smoothing": ("S", session.toggle_smoothing), "Mirror": ("M", session.toggle_mirror),
         "Backend": ("B", session.cycle_backend)},
        max_hands=session.config.num_hands,
    )  # fmt: skip
    window.show()
    shown = 0
    last: LiveResult | None = None

    def finish() -> None:
        if screenshot is not None and last is not None:
            for _ in range(3):
                app.processEvents()
            info = {
                "frame": last.frame.index,
                "hands": [{"handedness": h.handedness, "keypoints_px": window.frame_to_window(h.keypoints_px).tolist()}
                          for h in last.hands],
                "camera_rect": list(window.camera_rect()),
                "camera_scale": window.view_scale,
                "view3d_rect": list(window.view3d_rect()),
                "fps": last.fps,
                "settings": session.settings,
            }  # fmt: skip
            save_screenshot(screenshot, window.screenshot_rgb(), info)
        if screenshot is not None or max_frames is not None:
            window.close()

    failure: list[BaseException] = []

    def tick() -> None:
        """One frame; anything it raises stops the loop (a raise inside a Qt timer would only print
        a traceback and leave the window running forever)."""
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - reported after the event loop, with the window closed
            failure.append(exc)
            window.close()
            app.quit()

    def step() -> None:
        nonlocal shown, last
        if window.quit_requested:
            return
        if window.paused:
            QtCore.QTimer.singleShot(30, tick)
            return
        result = session.next()
        if result is None:
            finish()
            return
        window.show_frame(result.image_rgb, result.hands, result.timings, result.fps, session.settings)
        shown += 1
        last = result
        if max_frames is not None and shown >= max_frames:
            finish()
            return
        QtCore.QTimer.singleShot(0, tick)

    QtCore.QTimer.singleShot(0, tick)
    app.exec_()
    if failure:
        exc = failure[0]
        if isinstance(exc, HandposeError):
            raise exc
        raise LoopError(f"the live demo stopped at frame {shown}: {type(exc).__name__}: {exc}") from exc
    return shown
