"""Atomic file writes: write to a temporary file next to the target, then ``os.replace`` it.

A reader never sees a half-written file, and an interrupted write leaves the old file (if any)
untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from handpose.errors import InputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it is renamed onto ``path``.

    ``suffix`` ends the temporary name: a writer that picks its format by the file's ending
    (OpenCV's VideoWriter) needs the target's own, e.g. ``".mp4"``.

    The folder is created if needed. On an exception the temporary file is removed and the
    exception propagates; ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o644)  # mkstemp makes it 0600; a written file should be readable like any other
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def check_writable_folder(folder: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` unless files can be created in ``folder`` (made if missing): what an
    app checks before it loads a model or starts work whose results it could not keep."""
    folder = Path(folder)
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise InputError(f"cannot write in {folder}: {blocking} is a file, where a folder is expected")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test.", delete=True):
            pass
    except OSError as exc:
        raise InputError(f"cannot write in {folder}: {exc.strerror or exc}") from None


def check_writable_file(path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` unless ``path`` can be written (atomically): not a folder, in a
    folder that takes files."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target} is a folder; a file path expected")
    check_writable_folder(target.parent)
