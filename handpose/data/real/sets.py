"""The real hand photo sets the model adapts to, read as one deterministic stream of images, each
with the split it belongs to.

The sets themselves are not in the repository (their sources and licences are in :data:`SOURCES`);
the caller passes the folder that holds them, laid out as::

    real_hands/sign_digits/<digit>/IMG_<n>.JPG       100x100 tight crops, many students
    real_hands/webcam_hands/images/*.jpg             cuts of webcam frames, sessions by file prefix
    real_hands/asl_video/asl_hand.25fps.mp4          one person signing, 325 frames
    real_hands/stretched/gestures_phone/*/images/    phone photos resized without keeping aspect
    real_hands/stretched/asl_letters/images/         same
    real_hand_photos/<set>/**/*.jpg                  45 photos (also the renderer's backgrounds)

The validation split is made by person, session or time, never by random image, so no person,
session or stretch of the video is on both sides:

* sign_digits: the photos numbered ``IMG_5554`` and up (the last students photographed; the
  numbering runs per student, and 5549 -> 5554 is a gap between two of them);
* webcam_hands: the whole recording session ``996_``;
* asl_video: the last quarter of the video (frames 244-324);
* everything else (the stretched sets, whose 3D shape is distorted, and the photos the renderer
  cuts backgrounds from) is training only.

The stretched sets' exporter resized portrait photos to squares without keeping the aspect ratio.
In this stream they keep that shape and train 2D labels only. :func:`iter_asl_letters_3d` gives the
ASL letter photos back at :data:`STRETCHED_ASPECT` (width / height), where hands have their own
proportions and the teacher's 3D labels hold (measured in docs/real_hands.md §13: the teacher passes
its checks on the most photos at 2:3-3:4, round objects in the photos come out round at 3:4).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np

from handpose.errors import InputError
from handpose.io.images import list_images, read_rgb

Split = Literal["train", "val"]

SIGN_DIGITS_VAL_FROM: Final = 5554
WEBCAM_VAL_SESSIONS: Final = frozenset({"996_"})
VIDEO_VAL_FRACTION: Final = 0.25
VIDEO_NAME: Final = "asl_hand.25fps.mp4"
#: width / height of the stretched sets' photos before their exporter squashed them to squares
STRETCHED_ASPECT: Final = 3.0 / 4.0
#: ASL letter photos numbered this and up (per letter) never train in 3D: they check what the 3D of
#: the others teaches (docs/real_hands.md §15-16)
ASL_3D_CHECK_FROM: Final = 20


#: where each set comes from and under which licence, for the manifest of a model trained on it
SOURCES: Final[dict[str, dict[str, str]]] = {
    "sign_digits": {"licence": "Apache-2.0", "source": "github.com/ardamavi/Sign-Language-Digits-Dataset "
                    "@4b09433ef9d5c60602e8805bb54b8aa2428527f8"},
    "webcam_hands": {"licence": "Apache-2.0", "source": "github.com/SubhiH/HandsDataset "
                     "@73228cb5ba6a8d454663aa9873157862b69a1c4c (hand boxes cut out, resized)"},
    "asl_video": {"licence": "Apache-2.0", "source": "github.com/tensorflow/tfjs-models "
                  "@18a73420e555a3c1948209ebfa807c7086c7ff0c, asl_hand.25fps.mp4"},
    "gestures_phone": {"licence": "CC BY 4.0", "source": "github.com/dwivedi1997/Hand-Gesture-YOLOv8 "
                       "@fd632313b9d74d869f57b11a8b0bb249cbc537ae",
                       "attribution": "Hand Gesture Recognition dataset, provided by a Roboflow user "
                       "(lebanese-university-grkoz), https://universe.roboflow.com/lebanese-university-grkoz/"
                       "hand-gesture-recognition-y5827, CC BY 4.0; images resized by the exporter, used here "
                       "for 2D labels only"},
    "asl_letters": {"licence": "Public Domain", "source": "github.com/tianyi0216/ASL_539_Project "
                    "@1337046d60268f53e0a6acaee6e397e4998bb9b3 (American Sign Language Letters, David Lee)"},
    "photos": {"licence": "Apache-2.0 (google/mediapipe gesture test data @9d88077) and MIT "
               "(geopavlakos/hamer example_data @3a01849)", "source": "real_hand_photos"},
}


@dataclass(frozen=True)
class RealImage:
    """One real image and where it belongs.

    Attributes:
        set_name: which set it comes from (``sign_digits``, ``webcam_hands``, ``asl_video``,
            ``gestures_phone``, ``asl_letters``, ``photos``).
        key: unique name: the path relative to the root, with ``#<frame>`` for video frames.
        split: ``"train"`` or ``"val"``.
        group: the person, session or time block the split was made by.
        stretched: resized without keeping the aspect ratio: its 2D labels hold, its 3D shape does not.
        tight: a tight hand crop that must be padded before a detector sees it.
    """

    set_name: str
    key: str
    split: Split
    group: str
    stretched: bool = False
    tight: bool = False


def _images(folder: Path) -> list[Path]:
    return list_images(folder, recursive=True)


def _sign_digits(root: Path) -> Iterator[tuple[RealImage, Path]]:
    for path in _images(root / "real_hands" / "sign_digits"):
        number = int(re.findall(r"\d+", path.stem)[0])
        split: Split = "val" if number >= SIGN_DIGITS_VAL_FROM else "train"
        yield RealImage("sign_digits", path.relative_to(root).as_posix(), split, f"img{number // 10}",
                        tight=True), path


def _webcam(root: Path) -> Iterator[tuple[RealImage, Path]]:
    for path in _images(root / "real_hands" / "webcam_hands" / "images"):
        session = re.sub(r"pic\d+.*", "", path.name)
        split: Split = "val" if session in WEBCAM_VAL_SESSIONS else "train"
        yield RealImage("webcam_hands", path.relative_to(root).as_posix(), split, session or "none"), path


def _simple(root: Path, folder: Path, name: str, stretched: bool) -> Iterator[tuple[RealImage, Path]]:
    for path in _images(folder):
        yield RealImage(name, path.relative_to(root).as_posix(), "train", name, stretched=stretched), path


def restore_aspect(rgb: np.ndarray, aspect: float) -> np.ndarray:
    """An (H, W, 3) uint8 image squashed from width / height ``aspect`` (< 1: portrait) back to it:
    (round(W / aspect), W, 3) for a portrait original, (H, round(H * aspect), 3) otherwise; the
    stored side is kept, the other one grows (bilinear), so no pixel is lost."""
    if not 0.1 <= aspect <= 10.0:
        raise InputError(f"an aspect ratio (width / height) between 0.1 and 10 expected, got {aspect}")
    height, width = rgb.shape[:2]
    if aspect < width / height:
        size = (width, int(round(width / aspect)))
    else:
        size = (int(round(height * aspect)), height)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)


def data_root(root: str | Path) -> Path:
    """``root`` as a Path; InputError unless it holds ``real_hands/``."""
    root = Path(root)
    if not (root / "real_hands").is_dir():
        raise InputError(f"{root}: a folder with real_hands/ (and real_hand_photos/) expected")
    return root


def asl_photo_name(name: str) -> tuple[str, int]:
    """The letter and its per-letter number of an ASL letter photo, from its file name or path
    (``B12_jpg.rf.<hash>.jpg`` -> ``("B", 12)``)."""
    found = re.match(r"([A-Za-z]+)(\d+)", Path(name).name)
    if found is None:
        raise InputError(f"an ASL letter photo named <letter><number>... expected, got {name!r}")
    return found.group(1), int(found.group(2))


def iter_asl_letters_3d(root: str | Path) -> Iterator[tuple[RealImage, np.ndarray]]:
    """The ASL letter photos under ``root`` at their own aspect (:data:`STRETCHED_ASPECT`), for 3D
    labels, files sorted: those numbered below :data:`ASL_3D_CHECK_FROM` are ``"train"``, the rest
    ``"val"`` (a check; the main stream still trains their squashed 2D)."""
    root = data_root(root)
    for path in _images(root / "real_hands" / "stretched" / "asl_letters"):
        split: Split = "val" if asl_photo_name(path.name)[1] >= ASL_3D_CHECK_FROM else "train"
        yield (RealImage("asl_letters", path.relative_to(root).as_posix(), split, "asl_letters"),
               restore_aspect(read_rgb(path), STRETCHED_ASPECT))


def iter_real_images(root: str | Path) -> Iterator[tuple[RealImage, np.ndarray]]:
    """Every image of the sets under ``root`` (see the module docstring) with its (H, W, 3) uint8
    RGB pixels, in a fixed order (set by set, files sorted, video frames in order)."""
    root = data_root(root)
    hands = root / "real_hands"
    stills = [
        _sign_digits(root),
        _webcam(root),
        _simple(root, hands / "stretched" / "gestures_phone", "gestures_phone", True),
        _simple(root, hands / "stretched" / "asl_letters", "asl_letters", True),
        _simple(root, root / "real_hand_photos", "photos", False),
    ]
    for stream in stills[:2]:
        for info, path in stream:
            yield info, read_rgb(path)
    yield from _video_frames(root, hands / "asl_video" / VIDEO_NAME)
    for stream in stills[2:]:
        for info, path in stream:
            yield info, read_rgb(path)


def _video_frames(root: Path, path: Path) -> Iterator[tuple[RealImage, np.ndarray]]:
    if not path.is_file():
        return
    cap = cv2.VideoCapture(str(path))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    first_val = int(round(count * (1.0 - VIDEO_VAL_FRACTION)))
    key = path.relative_to(root).as_posix()
    index = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            split: Split = "val" if index >= first_val else "train"
            yield RealImage("asl_video", f"{key}#{index}", split, f"second{index // 25}"), \
                np.ascontiguousarray(bgr[:, :, ::-1])
            index += 1
    finally:
        cap.release()
