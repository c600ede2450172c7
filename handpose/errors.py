"""Errors raised by handpose. Each message says what was expected and what came."""

from __future__ import annotations


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
