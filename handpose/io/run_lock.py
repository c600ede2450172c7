"""One run per output folder: an exclusive lock on ``<folder>/.lock`` held for the whole run.

Two runs writing the same folder would mix their outputs (one's ``.partial/`` read by the other),
so the second one is refused at once with the first one's process id. The lock is an OS file lock
(``fcntl.flock``): it goes away with the process that holds it, even when that process is killed,
so a crashed run never blocks the next one. A finished run removes the ``.lock`` file while still
holding it; a run that locked a file just removed (its inode no longer the path's) opens the path
again, so two runs can never hold locks on different files of the same name. A killed run leaves
the file behind, unlocked, and the next run takes it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from handpose.errors import InputError

LOCK_NAME = ".lock"


class RunLock:
    """Context manager: ``with RunLock(folder): ...`` - raises InputError if another process holds it."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise InputError(f"{self.path.parent} is being written by another run (pid {holder}); wait for it "
                                 "to finish or choose another output folder") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # locked a file a finishing run had just removed: take the new one
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"cannot create the output folder {self.path.parent}: {exc.strerror or exc}") from None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # while still holding it (see the module docstring)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
