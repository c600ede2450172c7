"""Ctrl-C and SIGTERM during a video's frame loop take effect between two frames.

A signal that lands while MediaPipe is inside a call leaves its landmarker half-way, and closing it
afterwards crashes the process (a segmentation fault, seen here on SIGINT). So for the frame loop
the two signals only set a flag, and :meth:`FrameBoundaryInterrupts.check`, called between frames,
raises: :class:`KeyboardInterrupt` for SIGINT, :class:`Terminated` (a KeyboardInterrupt too) for
SIGTERM. The checkpoint on disk is then as consistent as after any other interruption, and
``--resume`` continues from it. Outside the main thread (where Python cannot install handlers)
this does nothing.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop like Ctrl-C (a service manager or ``kill`` ending the run)."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler that stops the program the way Ctrl-C does."""
    raise Terminated


class FrameBoundaryInterrupts:
    """Context manager: SIGINT and SIGTERM are held until :meth:`check` (see the module docstring)."""

    def __init__(self) -> None:
        self._received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> FrameBoundaryInterrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._hold)
        return self

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self._received = signum

    def check(self) -> None:
        """Raise the exception a held signal stands for; nothing when none arrived."""
        if self._received == signal.SIGINT:
            raise KeyboardInterrupt
        if self._received == signal.SIGTERM:
            raise Terminated

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        if exc_type is None:
            self.check()  # a signal during the loop's last frame still stops the run
