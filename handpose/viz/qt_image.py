"""Camera images in Qt widgets, shared by the live window and the recording preview.

:class:`ImageLabel` shows (H, W, 3) uint8 **RGB** frames 1:1, or scaled down to fit
:data:`MAX_VIEW_SIZE` (its :attr:`~ImageLabel.view_scale`); :func:`grab_rgb` turns any widget's
``grab()`` into an RGB array (screenshots, tests). Needs PyQt5 (extra ``viewer``).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose.errors import MissingDependencyError
from handpose.types import check_rgb_frame

try:
    from PyQt5 import QtCore, QtGui, QtWidgets
except ImportError as _exc:  # pragma: no cover - exercised only where the extra is missing
    raise MissingDependencyError(getattr(_exc, "name", None) or "PyQt5", "viewer", "The Qt views") from None

#: largest camera image shown 1:1 (width, height); bigger frames are scaled down to fit
MAX_VIEW_SIZE: Final = (800, 600)


class ImageLabel(QtWidgets.QLabel):
    """A label that shows RGB frames, sized to the frame (scaled down to fit :data:`MAX_VIEW_SIZE`).

    Attributes:
        view_scale: displayed px per frame px (1, or less for frames bigger than MAX_VIEW_SIZE).
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.view_scale = 1.0
        self._buffer: np.ndarray | None = None

    def show_rgb(self, image_rgb: np.ndarray) -> None:
        """Display an (H, W, 3) uint8 RGB frame (copied: the caller may reuse its buffer at once)."""
        check_rgb_frame(image_rgb, "image_rgb")
        height, width = image_rgb.shape[:2]
        if self._buffer is None or self._buffer.shape != image_rgb.shape:
            self.view_scale = min(1.0, MAX_VIEW_SIZE[0] / width, MAX_VIEW_SIZE[1] / height)
            self.setFixedSize(round(width * self.view_scale), round(height * self.view_scale))
            self._buffer = np.empty((height, width, 3), np.uint8)
        np.copyto(self._buffer, image_rgb)  # QImage borrows the memory: contiguous and kept alive
        qimage = QtGui.QImage(self._buffer.data, width, height, 3 * width, QtGui.QImage.Format_RGB888)
        pixmap = QtGui.QPixmap.fromImage(qimage)
        if self.view_scale != 1.0:
            pixmap = pixmap.scaled(self.size(), QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation)
        self.setPixmap(pixmap)

    def frame_to(self, widget: QtWidgets.QWidget, points_px: np.ndarray) -> np.ndarray:
        """Map frame px (N, 2) to ``widget``'s px (an ancestor of this label, as in its ``grab()``)."""
        origin = self.mapTo(widget, QtCore.QPoint(0, 0))
        return np.asarray(points_px, dtype=np.float64) * self.view_scale + [origin.x(), origin.y()]


def grab_rgb(widget: QtWidgets.QWidget) -> np.ndarray:
    """``widget.grab()`` as (H, W, 3) uint8 RGB (OpenGL children included where the platform renders them)."""
    image = widget.grab().toImage().convertToFormat(QtGui.QImage.Format_RGB888)
    ptr = image.constBits()
    ptr.setsize(image.byteCount())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()
