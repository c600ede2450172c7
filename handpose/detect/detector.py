"""MediaPipe HandLandmarker (Tasks API) as the hand detector: frame RGB -> list of HandBox.

Handedness convention (one, everywhere in handpose): ``"left"`` / ``"right"`` is the person's
actual hand **as seen in a non-mirrored camera image** (a camera looking at the person, the image
not flipped). MediaPipe's Tasks API labels hands that way (a rendered right hand is labelled
"Right"; flipping the image swaps the label, checked in ``tests/test_detector.py``). Webcam
previews are often selfie-mirrored; for such frames pass ``mirrored_input=True`` and the labels
are swapped back, so they still name the person's actual hand. What a hand *looks like* in the
image (which decides whether its crop is flipped for the model) is :func:`appears_left`.

Modes: ``"video"`` for streams (MediaPipe tracks between calls and needs strictly increasing
timestamps, which :meth:`HandDetector.detect` enforces), ``"image"`` for unrelated stills.

Keypoints are in frame pixels, OpenCV convention (the centre of pixel (i, j) at (i, j));
MediaPipe's normalised landmark x maps to ``x * width - 0.5``.

MediaPipe's native libraries write log lines straight to the process's stderr (``INFO: [...]
LiteRT ...`` when a landmarker is made or closed, ``W0000 ...`` on its first frame). Those moments
run with file descriptor 2 pointed at ``/dev/null`` (:func:`native_logs_silenced`), so the apps'
consoles show only their own output; set ``HANDPOSE_VERBOSE=1`` to see them. Anything another
thread writes to stderr in those few milliseconds is lost too.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Literal

import numpy as np

from handpose.errors import InputError, MissingDependencyError
from handpose.paths import MODELS_DIR
from handpose.skeleton import NUM_JOINTS
from handpose.types import HandBox, Handedness, check_rgb_frame

DetectorMode = Literal["video", "image"]

#: MediaPipe's hand model, built by ``scripts/setup.sh`` (the folder: :mod:`handpose.paths`)
DEFAULT_MODEL_PATH: Final = MODELS_DIR / "hand_landmarker.task"

_SWAP: Final[dict[Handedness, Handedness]] = {"left": "right", "right": "left"}


#: set (to anything) to let MediaPipe's native log lines through; the apps' --verbose sets it
VERBOSE_ENV: Final = "HANDPOSE_VERBOSE"


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    """Give an app ``--verbose``: parsing it lets MediaPipe's native log lines through (:data:`VERBOSE_ENV`)."""

    class _Verbose(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                     option_string: str | None = None) -> None:
            os.environ[VERBOSE_ENV] = "1"
            setattr(namespace, self.dest, True)

    parser.add_argument("--verbose", action=_Verbose, nargs=0, default=False,
                        help="show MediaPipe's and TensorFlow Lite's own log lines (hidden by default)")


@contextmanager
def native_logs_silenced() -> Iterator[None]:
    """Point file descriptor 2 (stderr) at /dev/null for the block, unless ``HANDPOSE_VERBOSE`` is set;
    Python's own ``sys.stderr`` buffer is flushed first, so nothing already written is lost."""
    if os.environ.get(VERBOSE_ENV):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def appears_left(handedness: Handedness, mirrored_input: bool) -> bool:
    """Whether a hand of the person's side ``handedness`` looks like a left hand in the image.

    In a non-mirrored image a left hand looks left; in a selfie-mirrored one it looks right.
    The crop of a hand that looks left is flipped so the model sees a right hand.
    """
    return (handedness == "left") != bool(mirrored_input)


class HandDetector:
    """MediaPipe HandLandmarker wrapper. Use as a context manager or call :meth:`close`.

    Args:
        model_path: a ``hand_landmarker.task`` file (default: the one ``scripts/setup.sh`` builds).
        num_hands: most hands returned per frame.
        mode: ``"video"`` (streams) or ``"image"`` (stills).
        mirrored_input: frames are selfie-mirrored (see the module docstring).
        min_confidence: MediaPipe's detection, presence and tracking confidence thresholds.
    """

    def __init__(
        self,
        model_path: str | Path = DEFAULT_MODEL_PATH,
        num_hands: int = 2,
        mode: DetectorMode = "video",
        mirrored_input: bool = False,
        min_confidence: float = 0.5,
    ) -> None:
        if mode not in ("video", "image"):
            raise InputError(f"detector mode must be 'video' or 'image', got {mode!r}")
        if num_hands < 1:
            raise InputError(f"num_hands >= 1 expected, got {num_hands}")
        if not 0.0 <= min_confidence <= 1.0:
            raise InputError(f"min_confidence in [0, 1] expected, got {min_confidence}")
        path = Path(model_path)
        if not path.is_file():
            raise InputError(
                f"MediaPipe hand model not found at {path}; run scripts/setup.sh to build "
                "models/hand_landmarker.task, or pass the path of a hand_landmarker.task file"
            )
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions
        except ImportError as exc:
            raise MissingDependencyError("mediapipe", "all", "Hand detection") from exc

        self.mode: DetectorMode = mode
        self.num_hands = num_hands
        self.mirrored_input = bool(mirrored_input)
        self._mp_image = mp.Image
        self._srgb = mp.ImageFormat.SRGB
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE,
            num_hands=num_hands,
            min_hand_detection_confidence=min_confidence,
            min_hand_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._create = lambda: vision.HandLandmarker.create_from_options(options)
        with native_logs_silenced():
            self._landmarker = self._create()
        self._last_ms = -1
        self.calls = 0  #: number of frames given to MediaPipe so far

    def detect(self, rgb: np.ndarray, timestamp_s: float | None = None) -> list[HandBox]:
        """Find up to ``num_hands`` hands in an (H, W, 3) uint8 RGB frame.

        ``timestamp_s`` is used in video mode; timestamps that do not increase (or None) are
        moved to 1 ms after the previous call, as MediaPipe requires. Returns one
        :class:`HandBox` per hand, ``source="detector"``, keypoints (21, 2) float64 frame px and
        MediaPipe's world landmarks (21, 3) in mm.
        """
        check_rgb_frame(rgb)
        if self._landmarker is None:
            raise InputError("HandDetector is closed")
        if not rgb.flags.c_contiguous:
            rgb = np.ascontiguousarray(rgb)
        image = self._mp_image(image_format=self._srgb, data=rgb)
        self.calls += 1
        if self.mode == "video":
            ms = -1 if timestamp_s is None else int(round(timestamp_s * 1000.0))
            self._last_ms = max(ms, self._last_ms + 1)
            run = lambda: self._landmarker.detect_for_video(image, self._last_ms)  # noqa: E731
        else:
            run = lambda: self._landmarker.detect(image)  # noqa: E731
        with native_logs_silenced():  # every call: LiteRT warns on any frame whose buffer is not aligned
            result = run()
        height, width = rgb.shape[:2]
        boxes = []
        worlds = result.hand_world_landmarks or [None] * len(result.hand_landmarks)
        for landmarks, categories, world in zip(result.hand_landmarks, result.handedness, worlds):
            keypoints = np.array([[p.x * width - 0.5, p.y * height - 0.5] for p in landmarks], dtype=np.float64)
            if keypoints.shape != (NUM_JOINTS, 2):
                continue
            world_mm = None if world is None else np.array([[p.x, p.y, p.z] for p in world], np.float64) * 1000.0
            label: Handedness = "left" if categories[0].category_name.lower() == "left" else "right"
            if self.mirrored_input:
                label = _SWAP[label]
            boxes.append(HandBox(keypoints_px=keypoints, handedness=label, score=float(categories[0].score),
                                 world_mm=world_mm))
        return boxes

    def reset(self) -> None:
        """Start a new stream: a fresh MediaPipe landmarker, so nothing it tracked before (video mode
        keeps the last landmarks to place its next search) affects the next frame."""
        if self._landmarker is None:
            raise InputError("HandDetector is closed")
        with native_logs_silenced():
            self._landmarker.close()
            self._landmarker = self._create()
        self._last_ms = -1

    def close(self) -> None:
        """Release MediaPipe's graph (idempotent)."""
        if self._landmarker is not None:
            with native_logs_silenced():
                self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> HandDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
