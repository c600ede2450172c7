"""The user's footage -> teacher-labelled frames.

Each input is anything :func:`handpose.capture.open_source` opens as a finite source: a video file,
a folder of images (time order = file-name order) or an RGB-D folder (colour + aligned depth).
Every frame is labelled by the MediaPipe teacher in image mode with its mirrored-copy check
(:class:`handpose.data.real.pseudo_label.Teacher`: confident, self-consistent labels only), so the
labels are the same kind as the real training photos', and each kept hand becomes a training
sample (:func:`handpose.data.real.pseudo_label.teacher_sample`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from handpose.adapt.hand_size import depth_hand_size_mm
from handpose.data.real.pseudo_label import Teacher, TeacherLabel, teacher_sample
from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.geometry.camera import CameraIntrinsics
from handpose.io.images import list_images
from handpose.model.manifest import sha256_of
from handpose.types import Handedness


@dataclass(frozen=True)
class LabelledFrame:
    """One hand of one footage frame, labelled by the teacher.

    Attributes:
        source: index of the input it comes from (order of the inputs).
        frame: the frame's index in its input.
        time_s: the frame's timestamp in its input, seconds.
        handedness: the side the hand looks like in the image.
        label: the teacher's label (frame px, world landmarks in mm).
        sample: the training sample (128 px crop cut around the label, as the pipeline cuts one).
        hand_size_mm: the middle MCP->PIP length this frame's depth reading implies, or None
            (no depth, no reading, or implausible).
    """

    source: int
    frame: int
    time_s: float
    handedness: Handedness
    label: TeacherLabel
    sample: HandSample
    hand_size_mm: float | None = None


@dataclass(frozen=True)
class Footage:
    """What the labelling found in the inputs.

    Attributes:
        inputs: the inputs as given.
        hashes: sha256 of each input (a folder: of its files' names and hashes, in order).
        frames: frames read per input.
        hands: the kept hands, in input then frame order.
        outcomes: how many hands each teacher outcome ("ok" or a refusal reason) had.
    """

    inputs: tuple[str, ...]
    hashes: tuple[str, ...]
    frames: tuple[int, ...]
    hands: list[LabelledFrame]
    outcomes: dict[str, int] = field(default_factory=dict)


def footage_hash(path: str | Path) -> str:
    """sha256 of a video file, or of a folder's files (their relative names and sha256s, in order)."""
    path = Path(path)
    if path.is_file():
        return sha256_of(path)
    if not path.is_dir():
        raise InputError(f"footage {path} does not exist: a video file or a folder of images expected")
    digest = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{f.relative_to(path).as_posix()}\0{sha256_of(f)}\n".encode())
    return digest.hexdigest()


def check_footage(inputs: Sequence[str | Path]) -> None:
    """InputError unless every input is a video file or a folder with images (a one-line reason)."""
    if not inputs:
        raise InputError("at least one video file or image folder expected, got none")
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            if not list_images(path) and not (path / "color").is_dir():
                raise InputError(f"footage folder {path} holds no images (expected .jpg/.png frames or color/ + depth/)")
        elif not path.is_file():
            raise InputError(f"footage {path} does not exist: a video file or a folder of images expected")


def label_footage(inputs: Sequence[str | Path], teacher: Teacher, crop_size: int,
                  calibration: CameraIntrinsics | None = None,
                  between_frames: Callable[[], None] = lambda: None,
                  progress: bool = True) -> Footage:
    """Label every frame of ``inputs`` (see the module docstring).

    ``calibration``: the camera's intrinsics, for the depth-based hand size when the source does not
    know its own (RGB-D folders and RealSense recordings do); ``between_frames`` is called after
    each frame (an interrupt check).
    """
    from tqdm import tqdm

    from handpose.capture.open_source import open_source

    check_footage(inputs)
    hands: list[LabelledFrame] = []
    outcomes: Counter[str] = Counter()
    counts: list[int] = []
    for k, spec in enumerate(inputs):
        with open_source(spec) as source:
            camera = source.intrinsics or calibration
            n = 0
            for frame in tqdm(source, total=source.num_frames, desc=f"labelling {Path(spec).name}", unit="frame",
                              disable=not progress, dynamic_ncols=True):
                n += 1
                for label, why in teacher.label(frame.rgb):
                    outcomes[why if label is None else "ok"] += 1
                    if label is None:
                        continue
                    size = None
                    if frame.depth_mm is not None and camera is not None:
                        size = depth_hand_size_mm(label, camera.scaled_to(*frame.rgb.shape[1::-1]), frame.depth_mm)
                    hands.append(LabelledFrame(k, frame.index, frame.timestamp_s, label.handedness, label,
                                               teacher_sample(frame.rgb, label, crop_size), size))
                between_frames()
            counts.append(n)
        if counts[-1] == 0:
            raise InputError(f"footage {spec}: no frame could be read")
    return Footage(tuple(str(s) for s in inputs), tuple(footage_hash(s) for s in inputs), tuple(counts), hands,
                   dict(outcomes.most_common()))

