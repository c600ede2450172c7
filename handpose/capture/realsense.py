"""Intel RealSense colour + depth, live from a camera or played back from a recording.

Recordings are librealsense's own files: ROS bags (``.bag``, written by the RealSense Viewer and
older SDKs) and ROS 2 bags (``.db3``, what SDK 2.59's recorder writes; see
:mod:`handpose.capture.realsense_recorder`). Playback is not real time: every recorded frame is
delivered, however slow the consumer. Depth is aligned to the colour image and converted to
millimetres, so ``Frame.depth_mm[y, x]`` is the depth of ``Frame.rgb[y, x]`` (0 = no reading).
:attr:`RealSenseSource.intrinsics` are the colour stream's. Needs ``pyrealsense2`` (extra ``depth``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handpose.geometry.camera import CameraIntrinsics
from handpose.capture.base import FrameSource
from handpose.errors import InputError, MissingDependencyError
from handpose.types import Frame

RECORDING_SUFFIXES = frozenset({".bag", ".db3"})
PLAYBACK_POLL_MS = 100
#: how long to wait for frames still in flight once a recording has been read to its end
PLAYBACK_DRAIN_MS = 300


def import_pyrealsense2() -> Any:
    """The ``pyrealsense2`` module, or :class:`MissingDependencyError` saying how to install it."""
    try:
        import pyrealsense2  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("pyrealsense2", "depth", "The RealSense source") from None
    return pyrealsense2


def intrinsics_from_rs(rs: Any, intr: Any) -> CameraIntrinsics:
    """:class:`CameraIntrinsics` from a ``pyrealsense2.intrinsics`` (Brown-Conrady coefficients kept)."""
    k = np.array([[intr.fx, 0.0, intr.ppx], [0.0, intr.fy, intr.ppy], [0.0, 0.0, 1.0]])
    keeps_coeffs = intr.model in (rs.distortion.brown_conrady, rs.distortion.none)
    dist = np.array(intr.coeffs if keeps_coeffs else [0.0] * 5, dtype=np.float64)
    return CameraIntrinsics(K=k, dist=dist, width=intr.width, height=intr.height)


def _registered(depth: Any, color: Any) -> bool:
    """True when depth pixels already are colour pixels: equal intrinsics, identity extrinsics."""
    a, b = depth.get_intrinsics(), color.get_intrinsics()
    same = (a.width, a.height, a.fx, a.fy, a.ppx, a.ppy) == (b.width, b.height, b.fx, b.fy, b.ppx, b.ppy)
    ext = depth.get_extrinsics_to(color)
    return same and np.allclose(ext.rotation, np.eye(3).ravel()) and np.allclose(ext.translation, 0.0)


class RealSenseSource(FrameSource):
    """Colour (RGB) + aligned depth (mm) frames from a RealSense camera or recording.

    Args:
        recording: a ``.bag``/``.db3`` file to play back; None for the live camera.
        width, height, fps: the live camera's colour and depth mode (ignored for recordings).
        serial: the live camera's serial number when several are connected.
        timeout_s: how long to wait for a frame before a live camera counts as lost.
        align: reproject depth into the colour camera (``rs.align``); None = only when the depth
            stream is not already registered to colour (same intrinsics, identity extrinsics).
    """

    def __init__(
        self,
        recording: str | Path | None = None,
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        serial: str | None = None,
        timeout_s: float = 5.0,
        align: bool | None = None,
    ) -> None:
        super().__init__()
        rs = import_pyrealsense2()
        self._rs = rs
        self.recording = None if recording is None else Path(recording)
        self._timeout_ms = int(timeout_s * 1000)
        config = rs.config()
        if self.recording is not None:
            if not self.recording.is_file():
                raise InputError(f"RealSense recording {self.recording} does not exist (expected a .bag or .db3 file)")
            if self.recording.suffix.lower() not in RECORDING_SUFFIXES:
                raise InputError(f"RealSense recording must end in .bag or .db3, got {self.recording.name}")
            config.enable_device_from_file(str(self.recording), repeat_playback=False)
        else:
            devices = rs.context().query_devices()
            if len(devices) == 0:
                raise InputError("no RealSense camera connected (expected one on USB 3; `rs-enumerate-devices` lists them)")
            if serial is not None:
                config.enable_device(serial)
            config.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
            config.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
        self._pipeline = rs.pipeline()
        try:
            if self.recording is not None:
                # Deliver every frame: playback must wait for the consumer. The device resolved here
                # is the one start() uses, so it never plays a frame in real time.
                config.resolve(rs.pipeline_wrapper(self._pipeline)).get_device().as_playback().set_real_time(False)
            profile = self._pipeline.start(config)
        except RuntimeError as exc:
            what = self.recording if self.recording is not None else "the RealSense camera"
            raise InputError(f"cannot start {what}: {exc}") from None
        self._started = True
        device = profile.get_device()
        self._playback = device.as_playback() if self.recording is not None else None
        streams = {s.stream_type(): s for s in profile.get_streams()}
        if rs.stream.color not in streams:
            self.close()
            raise InputError(f"{self.recording or 'camera'}: a colour stream expected, got streams {list(streams)}")
        color = streams[rs.stream.color].as_video_stream_profile()
        self._color_format = color.format()
        if self._color_format not in (rs.format.rgb8, rs.format.bgr8):
            self.close()
            raise InputError(f"colour stream in rgb8 or bgr8 expected, got {self._color_format}")
        self._intrinsics = intrinsics_from_rs(rs, color.get_intrinsics())
        self._fps = float(color.fps())
        self._has_depth = rs.stream.depth in streams
        if align is None and self._has_depth:
            align = not _registered(streams[rs.stream.depth].as_video_stream_profile(), color)
        self._align = rs.align(rs.stream.color) if self._has_depth and align else None
        self._mm_per_unit = device.first_depth_sensor().get_depth_scale() * 1000.0 if self._has_depth else 0.0

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._intrinsics.size

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return self._intrinsics

    @property
    def has_depth(self) -> bool:
        return self._has_depth

    def _depth_mm(self, depth_frame: Any) -> np.ndarray:
        raw = np.asanyarray(depth_frame.get_data())
        if abs(self._mm_per_unit - 1.0) < 1e-6:
            return raw.copy()
        return np.clip(np.rint(raw * self._mm_per_unit), 0, 65535).astype(np.uint16)

    def __iter__(self) -> Iterator[Frame]:
        rs = self._rs
        index = 0
        t0: float | None = None
        # a recording is polled briefly so its end is noticed at once; a live camera gets the full timeout
        wait_ms = self._timeout_ms if self._playback is None else min(self._timeout_ms, PLAYBACK_POLL_MS)
        while self._started:
            ok, frames = self._pipeline.try_wait_for_frames(wait_ms)
            if not ok:
                if self._playback is None:
                    raise InputError(f"the RealSense camera delivered no frame for {self._timeout_ms / 1000:.1f} s")
                if self._playback.current_status() != rs.playback_status.stopped:
                    continue
                # the file is read to its end; the last frames may still be on their way through
                # the pipeline's syncer (slow on a loaded machine): wait for them once, longer
                ok, frames = self._pipeline.try_wait_for_frames(PLAYBACK_DRAIN_MS)
                if not ok:
                    return  # end of the recording
            if self._align is not None:
                frames = self._align.process(frames)
            color = frames.get_color_frame()
            if not color:
                self._skipped += 1
                continue
            rgb = np.asanyarray(color.get_data())
            rgb = cv2.cvtColor(rgb, cv2.COLOR_BGR2RGB) if self._color_format == rs.format.bgr8 else rgb.copy()
            depth = frames.get_depth_frame() if self._has_depth else None
            depth_mm = self._depth_mm(depth) if depth else None
            stamp_ms = color.get_timestamp()
            t0 = stamp_ms if t0 is None else t0
            yield Frame(rgb=rgb, index=index, timestamp_s=(stamp_ms - t0) / 1000.0, depth_mm=depth_mm)
            index += 1

    def close(self) -> None:
        if getattr(self, "_started", False):
            self._started = False
            self._pipeline.stop()
