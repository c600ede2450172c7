"""A live camera through OpenCV, read by a grabber thread that keeps only the newest frame.

A camera delivers frames at its own rate whether or not the consumer keeps up; queueing them
would add latency that grows without bound. The grabber thread reads continuously and
overwrites a single slot (a queue of one), and the iterator hands out the newest frame it has
not handed out yet, so a slow consumer drops old frames instead of lagging behind
(:attr:`WebcamSource.dropped` counts them). ``Frame.index`` is the grab sequence number, so
gaps show the drops; ``timestamp_s`` is the grab time on the monotonic clock since opening.

When reads fail (camera unplugged, driver hiccup) the grabber releases the device and reopens
it every ``reconnect_delay_s`` until it comes back (:attr:`WebcamSource.reconnects` counts
recoveries); the iterator raises :class:`~handpose.errors.InputError` if no frame arrives for
``give_up_s`` seconds. ``device`` is a camera index (``/dev/video<N>`` on Linux) or anything
``cv2.VideoCapture`` opens as a stream (a URL such as ``rtsp://...``, a GStreamer pipeline, a
file played as if it were a camera).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from handpose.capture.base import FrameSource
from handpose.errors import InputError
from handpose.types import Frame

#: consecutive failed reads after which the device is considered lost and reopened.
FAILED_READS_BEFORE_RECONNECT = 3


class WebcamSource(FrameSource):
    """Newest-frame-only live source.

    Args:
        device: camera index or a stream/file name ``cv2.VideoCapture`` accepts.
        width, height, fps: requested capture mode (the camera may choose another; read
            :attr:`size` and :attr:`fps` for what it gives).
        reconnect_delay_s: pause between attempts to reopen a lost camera.
        give_up_s: the iterator raises when no new frame has come for this long.
    """

    def __init__(
        self,
        device: int | str = 0,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        reconnect_delay_s: float = 0.5,
        give_up_s: float = 10.0,
    ) -> None:
        super().__init__()
        self.device = device
        self._requested = (width, height, fps)
        self._reconnect_delay_s = reconnect_delay_s
        self._give_up_s = give_up_s
        if isinstance(device, int) and sys.platform.startswith("linux") and not Path(f"/dev/video{device}").exists():
            raise InputError(
                f"no camera at index {device}: /dev/video{device} does not exist "
                "(expected a connected webcam; `ls /dev/video*` lists the cameras there are)"
            )
        cap = self._open()
        if cap is None:
            if isinstance(device, str) and "://" in device:
                raise InputError(f"cannot open the stream {device}: it could not be reached, or it is not a stream "
                                 "OpenCV can decode (expected a reachable rtsp/http/udp URL)")
            raise InputError(f"cannot open camera {device!r}: the device exists but OpenCV could not open it")
        self._cap: cv2.VideoCapture | None = cap
        self._size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        cam_fps = float(cap.get(cv2.CAP_PROP_FPS))
        self._fps = cam_fps if 0 < cam_fps < 1000 else 30.0
        self._cond = threading.Condition()
        self._latest: np.ndarray | None = None  # BGR, owned by the slot
        self._latest_seq = -1
        self._latest_time = 0.0
        self._error: BaseException | None = None
        self._reconnects = 0
        self._dropped = 0
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._grab_loop, name=f"webcam-{device}", daemon=True)
        self._thread.start()

    def _open(self) -> cv2.VideoCapture | None:
        cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            return None
        width, height, fps = self._requested
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def _grab_loop(self) -> None:
        seq = 0
        failures = 0
        try:
            while not self._stop.is_set():
                if self._cap is None:
                    self._cap = self._open()
                    if self._cap is None:
                        self._stop.wait(self._reconnect_delay_s)
                        continue
                    self._reconnects += 1
                ok, bgr = self._cap.read()
                if not ok or bgr is None:
                    failures += 1
                    self._skipped += 1
                    if failures >= FAILED_READS_BEFORE_RECONNECT:
                        self._cap.release()
                        self._cap = None
                        failures = 0
                        self._stop.wait(self._reconnect_delay_s)
                    continue
                failures = 0
                with self._cond:
                    if self._latest is not None:
                        self._dropped += 1  # overwritten before the consumer took it
                    self._latest = bgr
                    self._latest_seq = seq
                    self._latest_time = time.monotonic() - self._t0
                    self._cond.notify_all()
                seq += 1
        except BaseException as exc:  # surfaced to the consumer in __iter__
            with self._cond:
                self._error = exc
                self._cond.notify_all()
        finally:
            if self._cap is not None:
                self._cap.release()
                self._cap = None

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def reconnects(self) -> int:
        """Times the camera was lost and reopened."""
        return self._reconnects

    @property
    def dropped(self) -> int:
        """Frames grabbed but replaced by a newer one before the consumer took them."""
        return self._dropped

    def __iter__(self) -> Iterator[Frame]:
        while not self._stop.is_set():
            with self._cond:
                got = self._cond.wait_for(
                    lambda: self._latest is not None or self._error is not None or self._stop.is_set(),
                    timeout=self._give_up_s,
                )
                if self._error is not None:
                    raise InputError(f"camera {self.device!r} failed: {self._error}") from self._error
                if self._stop.is_set():
                    return
                if not got:
                    raise InputError(
                        f"camera {self.device!r} delivered no frame for {self._give_up_s:.1f} s "
                        f"and could not be reopened (expected a frame every {1.0 / self._fps:.3f} s)"
                    )
                bgr, seq, stamp = self._latest, self._latest_seq, self._latest_time
                self._latest = None
            assert bgr is not None
            yield Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index=seq, timestamp_s=stamp)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
