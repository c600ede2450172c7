"""Per-hand CSV of frame records: one row per hand per frame, one column per joint coordinate.

Columns: ``frame, timestamp_s, hand, handedness, presence, gesture, gesture_score, finger_count``
(``handpose.types.HandPose``), then for each joint ``<name>`` in
:data:`handpose.skeleton.JOINT_NAMES` order: ``<name>_u_px, <name>_v_px`` (image px),
``<name>_x_mm, <name>_y_mm, <name>_z_mm`` (camera frame), ``<name>_x_norm, ...`` (normalised
pose); last ``<name>_visible`` for each joint (probability in [0, 1] that it is visible, not
occluded). ``hand`` numbers the hands of a frame from 0. Frames without hands have no row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from handpose.io.atomic import atomic_path
from handpose.io.frame_record import DECIMALS, VISIBILITY_DECIMALS, FrameRecord
from handpose.skeleton import JOINT_NAMES

_COORDS = (("keypoints_px", ("u_px", "v_px")), ("joints_cam_mm", ("x_mm", "y_mm", "z_mm")),
           ("joints_norm", ("x_norm", "y_norm", "z_norm")))  # fmt: skip

HEADER: tuple[str, ...] = ("frame", "timestamp_s", "hand", "handedness", "presence", "gesture", "gesture_score",
                           "finger_count") + tuple(
    f"{name}_{axis}" for _, axes in _COORDS for name in JOINT_NAMES for axis in axes
) + tuple(f"{name}_visible" for name in JOINT_NAMES)


def write_csv(path: str | Path, records: Iterable[FrameRecord]) -> int:
    """Write ``records`` to ``path`` atomically; return the number of rows (hands)."""
    rows = 0
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for record in records:
            for number, hand in enumerate(record.hands):
                row: list[object] = [record.frame, round(record.timestamp_s, 6), number, hand.handedness,
                                     round(float(hand.presence), 4), hand.gesture, round(float(hand.gesture_score), 4),
                                     int(hand.finger_count)]  # fmt: skip
                for key, axes in _COORDS:
                    values = getattr(hand, key)
                    row.extend(round(float(values[j, a]), DECIMALS[key]) for j in range(21) for a in range(len(axes)))
                row.extend(round(float(v), VISIBILITY_DECIMALS) for v in hand.visibility)
                writer.writerow(row)
                rows += 1
    return rows
