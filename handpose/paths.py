"""Where handpose finds its default files: the trained weights (the pose model's and the gesture
classifier's ``gesture_classifier.npz``) and their manifest, MediaPipe's hand model and the
TensorRT engine cache.

The models folder is, in this order:

1. ``$HANDPOSE_MODELS``, when set (read once, at import);
2. ``models/`` next to the package: a source checkout or an editable install;
3. ``share/handpose/models`` under the installation prefix (``sys.prefix``), where a wheel puts
   them (``data_files`` in setup.py).

Engines are cached in the models folder's ``engines/`` when that folder is writable, otherwise in
``~/.cache/handpose/engines``. Nothing here points outside the repository or the installation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final

#: where setup.py's data_files put the models folder, relative to the installation prefix
INSTALLED_MODELS: Final = Path("share") / "handpose" / "models"


def models_dir() -> Path:
    """The folder holding ``handpose_default.pt``, ``gesture_classifier.npz``, ``MANIFEST.json`` and
    ``hand_landmarker.task``
    (the first of the places in the module docstring that exists; the checkout's when none does)."""
    override = os.environ.get("HANDPOSE_MODELS")
    if override:
        return Path(override).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1] / "models"
    installed = Path(sys.prefix) / INSTALLED_MODELS
    return installed if not checkout.is_dir() and installed.is_dir() else checkout


def engine_cache_dir() -> Path:
    """Where built TensorRT engines are kept (see the module docstring)."""
    models = models_dir()
    if os.access(models, os.W_OK):
        return models / "engines"
    return Path.home() / ".cache" / "handpose" / "engines"


MODELS_DIR: Final = models_dir()
