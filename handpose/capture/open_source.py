"""``open_source(spec)``: one string names any frame source.

=========================  ==============================================================
spec                       source
=========================  ==============================================================
``webcam`` / ``webcam:0``  camera 0 (``/dev/video0``), :class:`WebcamSource`
``rtsp://...`` (any URL)   a network stream (rtsp, rtmp, http, udp) that ``cv2.VideoCapture``
                           opens, read like a live camera (also ``webcam:rtsp://...``)
``realsense[:SERIAL]``     a live RealSense camera (colour + aligned depth)
``rec.bag`` / ``rec.db3``  a RealSense recording, played back frame by frame
``clip.mp4`` (any video)   :class:`VideoFileSource`
``folder/``                :class:`RgbdFolderSource` when it has ``color/`` + ``depth/``,
                           else :class:`ImageFolderSource`
=========================  ==============================================================
"""

from __future__ import annotations

import re
from pathlib import Path

from handpose.capture.base import FrameSource
from handpose.capture.image_folder import ImageFolderSource
from handpose.capture.realsense import RECORDING_SUFFIXES, RealSenseSource
from handpose.capture.rgbd_folder import RgbdFolderSource, is_rgbd_folder
from handpose.capture.video_file import VideoFileSource
from handpose.capture.webcam import WebcamSource
from handpose.errors import InputError

SPEC_HELP = ("'webcam[:N]', a stream URL (rtsp://...), 'realsense[:SERIAL]', a .bag/.db3 recording, a video file, "
             "or a folder of images")
#: a stream URL: scheme://... (or scheme:/..., what pathlib makes of one)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def is_stream_url(spec: str | Path) -> bool:
    """Whether ``spec`` names a network stream (``rtsp://``, ``http://`` ...) rather than a file."""
    return _URL.match(str(spec)) is not None


def open_source(spec: str | Path, *, start: int = 0, max_frames: int | None = None, fps: float = 30.0) -> FrameSource:
    """Open the source named by ``spec`` (table above).

    Args:
        spec: the source's name.
        start: first frame to read (files and folders; resume).
        max_frames: read at most this many frames from ``start`` on (files and folders).
        fps: frame rate assigned to image and RGB-D folders, which have none of their own.
    """
    text = str(spec)
    if text == "webcam" or text.startswith("webcam:"):
        device = text.partition(":")[2] or "0"
        return WebcamSource(int(device) if device.isdigit() else device)
    if is_stream_url(text):
        return WebcamSource(text)
    if text == "realsense" or text.startswith("realsense:"):
        return RealSenseSource(serial=text.partition(":")[2] or None)
    path = Path(text)
    if path.is_dir():
        if is_rgbd_folder(path):
            return RgbdFolderSource(path, fps=fps, start=start, max_frames=max_frames)
        return ImageFolderSource(path, fps=fps, start=start, max_frames=max_frames)
    if not path.exists():
        raise InputError(f"source {text!r} does not exist; expected {SPEC_HELP}")
    if path.suffix.lower() in RECORDING_SUFFIXES:
        if start or max_frames is not None:
            raise InputError("start/max_frames apply to video files and folders, not to RealSense recordings")
        return RealSenseSource(path)
    return VideoFileSource(path, start=start, max_frames=max_frames)
