"""Write colour + depth frames to a RealSense recording through a librealsense software device.

The recording is a file :class:`~handpose.capture.realsense.RealSenseSource` (and the RealSense
Viewer) plays back: what a camera would have recorded, made from any RGB-D frames (an RGB-D
folder, renders with known depth). SDK 2.59 records ROS 2 bags, so the file must end in
``.db3``. Frames are pushed at ``fps`` in wall-clock time, because the recorder stamps each one
with the time it arrives and real-time playback replays those gaps. Meant for short clips: the
pixel buffers are kept until the recording is closed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from handpose.geometry.camera import CameraIntrinsics
from handpose.capture.realsense import import_pyrealsense2
from handpose.errors import InputError
from handpose.types import Frame


def _rs_intrinsics(rs: object, intrinsics: CameraIntrinsics) -> object:
    intr = rs.intrinsics()  # type: ignore[attr-defined]
    intr.width, intr.height = intrinsics.width, intrinsics.height
    intr.fx, intr.fy, intr.ppx, intr.ppy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    intr.model = rs.distortion.brown_conrady  # type: ignore[attr-defined]
    intr.coeffs = [float(c) for c in (list(intrinsics.dist) + [0.0] * 5)[:5]]
    return intr


def record_realsense(path: str | Path, frames: Iterable[Frame], intrinsics: CameraIntrinsics, fps: int = 30) -> int:
    """Record ``frames`` (RGB + ``depth_mm``, all of ``intrinsics``' size) to ``path`` (.db3).

    Depth is stored in millimetres (depth units 0.001 m), registered to the colour camera
    (identity extrinsics). Returns the number of frames written.
    """
    rs = import_pyrealsense2()
    path = Path(path)
    if path.suffix != ".db3":
        raise InputError(f"pyrealsense2 {rs.__version__} records ROS 2 bags: a path ending in .db3 expected, got {path.name}")
    width, height = intrinsics.size
    device = rs.software_device()
    depth_sensor = device.add_sensor("Depth")
    color_sensor = device.add_sensor("Color")
    depth_sensor.add_read_only_option(rs.option.depth_units, 0.001)
    profiles = []
    for sensor, stream_type, fmt, bpp, uid in (
        (depth_sensor, rs.stream.depth, rs.format.z16, 2, 0),
        (color_sensor, rs.stream.color, rs.format.rgb8, 3, 1),
    ):
        stream = rs.video_stream()
        stream.type, stream.index, stream.uid = stream_type, 0, uid
        stream.width, stream.height, stream.fps, stream.bpp, stream.fmt = width, height, fps, bpp, fmt
        stream.intrinsics = _rs_intrinsics(rs, intrinsics)
        profiles.append(sensor.add_video_stream(stream).as_video_stream_profile())
    identity = rs.extrinsics()
    identity.rotation, identity.translation = [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0], [0.0, 0.0, 0.0]
    profiles[0].register_extrinsics_to(profiles[1], identity)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    recorder = rs.recorder(str(path), device)
    sensors = (depth_sensor, color_sensor)
    for sensor, profile in zip(sensors, profiles, strict=True):
        sensor.open(profile)
        sensor.start(lambda frame: None)
    buffers: list[np.ndarray] = []
    count = 0
    try:
        for frame in frames:
            if frame.depth_mm is None or frame.rgb.shape[:2] != (height, width):
                raise InputError(
                    f"frame {frame.index}: RGB {width}x{height} with depth_mm expected, got "
                    f"{frame.rgb.shape[1]}x{frame.rgb.shape[0]}, depth {'missing' if frame.depth_mm is None else 'present'}"
                )
            for sensor, profile, pixels, bpp in (
                (depth_sensor, profiles[0], np.ascontiguousarray(frame.depth_mm, dtype=np.uint16), 2),
                (color_sensor, profiles[1], np.ascontiguousarray(frame.rgb), 3),
            ):
                buffers.append(pixels)
                soft = rs.software_video_frame()
                soft.pixels, soft.bpp, soft.stride = pixels, bpp, width * bpp
                soft.timestamp = 1000.0 * count / fps
                soft.domain = rs.timestamp_domain.hardware_clock
                soft.frame_number = count
                soft.profile = profile
                sensor.on_video_frame(soft)
            count += 1
            time.sleep(1.0 / fps)
    finally:
        for sensor in sensors:
            sensor.stop()
            sensor.close()
        recorder.pause()
        del recorder
    return count
