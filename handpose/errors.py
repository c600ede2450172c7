"""Errors raised by handpose. Each message says what was expected and what came."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


class HandposeError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(HandposeError, ValueError):
    """An input (image, pose, file, argument) does not have the expected shape, type or content."""


class CheckpointError(HandposeError):
    """A checkpoint is missing, truncated, or was saved for another configuration."""


class MissingDependencyError(HandposeError, ImportError):
    """An optional package is not installed; the message says which and how to install it."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the package '{package}', which is not installed. "
            f"Install it with: pip install -e '.[{extra}]'"
        )


class LoopError(HandposeError):
    """Something raised inside a viewer's frame loop; the loop stopped (the message names what)."""


def one_line_errors(main: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate a command's ``main``: a :class:`HandposeError`, or an ``OSError`` (a file missing,
    unreadable or not writable), ends it with ``error: <message>`` on stderr and exit status 2,
    instead of a traceback."""

    @functools.wraps(main)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return main(*args, **kwargs)
        except (HandposeError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    return run
