"""``MANIFEST.json``: one entry per weights file with its sha256, how it was trained and its
evaluation numbers, so anyone can check that a file is the one described. A file's entry lives in
the ``MANIFEST.json`` of its own folder: ``models/MANIFEST.json`` for the committed weights, and a
trial or personal checkpoint written elsewhere never touches that one."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from handpose.io.atomic import write_text_atomic
from handpose.errors import CheckpointError
from handpose.paths import MODELS_DIR

MANIFEST = MODELS_DIR / "MANIFEST.json"


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    """The manifest as {file name: entry}; empty when there is none."""
    return json.loads(path.read_text()) if path.is_file() else {}


def manifest_of(weights: Path) -> Path:
    """The manifest that describes ``weights``: the ``MANIFEST.json`` next to it."""
    return weights.parent / "MANIFEST.json"


def record(weights: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Add or replace the entry of ``weights`` (keyed by file name) in :func:`manifest_of` it, with
    its sha256 and size; atomic write."""
    path = manifest_of(weights)
    manifest = read_manifest(path)
    manifest[weights.name] = {"sha256": sha256_of(weights), "bytes": weights.stat().st_size, **entry}
    write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")
    return manifest[weights.name]


def verify(weights: Path) -> None:
    """Raise CheckpointError unless ``weights`` has an entry in :func:`manifest_of` it whose sha256
    matches the file."""
    path = manifest_of(weights)
    entry = read_manifest(path).get(weights.name)
    if entry is None:
        raise CheckpointError(f"{weights.name} has no entry in {path}")
    actual = sha256_of(weights)
    if actual != entry["sha256"]:
        raise CheckpointError(f"{weights} sha256 {actual} differs from the manifest's {entry['sha256']}")
