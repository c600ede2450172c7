"""COCO-WholeBody-style export of frame records.

COCO-WholeBody (Jin et al., ECCV 2020) extends a COCO person annotation with 21-point hands
in ``lefthand_kpts`` / ``righthand_kpts`` (flat ``[x, y, v] x 21``, the same joint order as
ours, all zeros when the hand is absent), ``*_valid`` flags and ``*_box`` ``[x, y, w, h]``. A
joint's flag ``v`` follows COCO: 2 = labelled and visible (the model's visibility >=
``HandPose.VISIBLE_THRESHOLD``), 1 = labelled but occluded. Each frame is an image (``id`` = frame
index, ``file_name`` = ``<video stem>_<frame:06d>.jpg`` as if the frames were extracted). Hands of
a frame are grouped into person annotations holding at most one left and one right hand (most
confident first). Body, foot and face fields are present and empty so WholeBody loaders accept the
file. Each annotation carries ``score`` (mean presence of its hands) because these are predictions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from handpose.io.atomic import write_text_atomic
from handpose.io.frame_record import FrameRecord
from handpose.types import HandPose

_EMPTY = {"keypoints": [0.0] * 51, "foot_kpts": [0.0] * 18, "face_kpts": [0.0] * 204,
          "face_box": [0.0] * 4, "face_valid": False, "foot_valid": False, "num_keypoints": 0}  # fmt: skip


def _hand_fields(hand: HandPose | None) -> tuple[list[float], list[float]]:
    if hand is None:
        return [0.0] * 63, [0.0] * 4
    kp = np.asarray(hand.keypoints_px, dtype=np.float64)
    flags = np.where(np.asarray(hand.visibility) >= HandPose.VISIBLE_THRESHOLD, 2.0, 1.0)[:, None]
    flat = np.concatenate([np.round(kp, 2), flags], axis=1).ravel().tolist()
    lo, hi = kp.min(axis=0), kp.max(axis=0)
    return flat, [round(float(v), 2) for v in (lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])]


def _people(hands: tuple[HandPose, ...]) -> list[dict[str, HandPose]]:
    people: list[dict[str, HandPose]] = []
    for hand in sorted(hands, key=lambda h: -h.presence):
        slot = next((p for p in people if hand.handedness not in p), None)
        if slot is None:
            people.append({hand.handedness: hand})
        else:
            slot[hand.handedness] = hand
    return people


def coco_wholebody(records: Iterable[FrameRecord], video_name: str, size: tuple[int, int]) -> dict[str, Any]:
    """The COCO-WholeBody-style document for ``records`` of a video ``video_name`` of ``size`` (W, H)."""
    width, height = size
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for record in records:
        images.append({"id": record.frame, "file_name": f"{video_name}_{record.frame:06d}.jpg", "width": width,
                       "height": height, "frame_index": record.frame, "timestamp_s": record.timestamp_s})  # fmt: skip
        for person in _people(record.hands):
            left, right = person.get("left"), person.get("right")
            left_kpts, left_box = _hand_fields(left)
            right_kpts, right_box = _hand_fields(right)
            boxes = [b for b, h in ((left_box, left), (right_box, right)) if h is not None]
            x0 = min(b[0] for b in boxes)
            y0 = min(b[1] for b in boxes)
            x1 = max(b[0] + b[2] for b in boxes)
            y1 = max(b[1] + b[3] for b in boxes)
            present = [h.presence for h in (left, right) if h is not None]
            annotations.append({
                "id": len(annotations) + 1, "image_id": record.frame, "category_id": 1, "iscrowd": 0,
                "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                "area": round((x1 - x0) * (y1 - y0), 2),
                "lefthand_kpts": left_kpts, "lefthand_box": left_box, "lefthand_valid": left is not None,
                "righthand_kpts": right_kpts, "righthand_box": right_box, "righthand_valid": right is not None,
                "score": round(float(np.mean(present)), 4), **_EMPTY,
            })  # fmt: skip
    return {
        "info": {"description": f"handpose predictions for {video_name}", "format": "COCO-WholeBody (hands only)"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
    }


def write_coco_wholebody(path: str | Path, records: Iterable[FrameRecord], video_name: str, size: tuple[int, int]) -> None:
    """Write :func:`coco_wholebody` to ``path`` atomically."""
    write_text_atomic(path, json.dumps(coco_wholebody(records, video_name, size)) + "\n")
