"""Frame sources behind one interface (:class:`FrameSource`) and the ``open_source(spec)`` factory.

The RealSense modules import ``pyrealsense2`` only when a RealSense source is opened.
"""

from handpose.capture.base import FrameSource
from handpose.capture.open_source import open_source

__all__ = ["FrameSource", "open_source"]
