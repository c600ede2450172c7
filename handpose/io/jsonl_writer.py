"""Append-only JSON Lines of :class:`~handpose.io.frame_record.FrameRecord`, resumable at a byte offset.

The writer appends one line per frame and reports how many bytes are safely on disk after
:meth:`JsonlWriter.flush` (fsync'ed), so a checkpoint can record that offset; reopening with
``resume_at`` truncates whatever a killed run wrote after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from handpose.errors import InputError
from handpose.io.frame_record import FrameRecord


class JsonlWriter:
    """Append records to ``path``.

    Args:
        path: the .jsonl file.
        resume_at: None to start a new file; else a byte offset returned by an earlier
            :meth:`flush` of the same file: the file is cut there and appended to.
    """

    def __init__(self, path: str | Path, resume_at: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO
        if resume_at is None:
            self._file = open(self.path, "wb")
        else:
            size = self.path.stat().st_size if self.path.exists() else -1
            if size < resume_at:
                raise InputError(f"{self.path}: at least {resume_at} bytes expected to resume from, found {size}")
            self._file = open(self.path, "r+b")
            self._file.truncate(resume_at)
            self._file.seek(resume_at)

    def write(self, record: FrameRecord) -> None:
        self._file.write(record.to_json().encode("utf-8") + b"\n")

    def flush(self) -> int:
        """Force the lines written so far to disk; return the file's length in bytes."""
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_jsonl(path: str | Path) -> Iterator[FrameRecord]:
    """The records of a .jsonl file in order; :class:`InputError` names the first bad line."""
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            try:
                yield FrameRecord.from_json(line)
            except InputError as exc:
                raise InputError(f"{path}, line {number}: {exc}") from None


class JsonlRecords(Iterable[FrameRecord]):
    """The records of a .jsonl file, read afresh from disk on every iteration, so that a long video's
    records need never be in memory all at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __iter__(self) -> Iterator[FrameRecord]:
        return read_jsonl(self.path)
