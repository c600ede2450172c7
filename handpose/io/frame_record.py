"""One frame's result as it is stored: frame index, timestamp and the hands found, with a JSON form.

JSON form of a record (one line of a ``.jsonl`` file)::

    {"frame": 12, "timestamp_s": 0.4,
     "hands": [{"handedness": "right", "presence": 0.97,
                "keypoints_px": [[u, v] x 21],        # image px, x right / y down
                "joints_cam_mm": [[x, y, z] x 21],    # camera frame, mm
                "joints_norm": [[x, y, z] x 21],      # normalised pose (handpose.skeleton)
                "visibility": [p x 21],               # probability each joint is visible
                "gesture": "victory", "gesture_score": 0.93,  # handpose.gesture.vocabulary.GESTURES
                "finger_count": 2}]}                  # extended fingers 0..5, -1 = not classified

Numbers are rounded to :data:`DECIMALS` places (visibility to :data:`VISIBILITY_DECIMALS`), well
below the model's error, so the files stay small and a record read back and written again gives the
same bytes. A hand without ``visibility`` (files written before it existed) reads back with every
joint visible; one without the gesture fields as gesture "none", score 0, finger count -1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from handpose.errors import InputError
from handpose.gesture.vocabulary import GESTURES
from handpose.types import HandPose

#: decimal places kept for each array of a hand
DECIMALS = {"keypoints_px": 2, "joints_cam_mm": 2, "joints_norm": 4}
#: decimal places kept for each joint's visibility probability
VISIBILITY_DECIMALS = 3


@dataclass(frozen=True)
class FrameRecord:
    """The hands of one source frame.

    Attributes:
        frame: index of the frame in its source.
        timestamp_s: the frame's presentation time in seconds.
        hands: the hands found.
    """

    frame: int
    timestamp_s: float
    hands: tuple[HandPose, ...]

    def to_json(self) -> str:
        """The record as one line of JSON (no newline)."""
        doc = {
            "frame": self.frame,
            "timestamp_s": round(self.timestamp_s, 6),
            "hands": [
                {
                    "handedness": hand.handedness,
                    "presence": round(float(hand.presence), 4),
                    **{key: np.round(np.asarray(getattr(hand, key), np.float64), d).tolist() for key, d in DECIMALS.items()},
                    "visibility": np.round(np.asarray(hand.visibility, np.float64), VISIBILITY_DECIMALS).tolist(),
                    "gesture": hand.gesture,
                    "gesture_score": round(float(hand.gesture_score), 4),
                    "finger_count": int(hand.finger_count),
                }
                for hand in self.hands
            ],
        }
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> FrameRecord:
        """Parse one line written by :meth:`to_json`; :class:`InputError` names what is wrong."""
        try:
            doc = json.loads(line)
            hands = tuple(_hand_from_dict(h) for h in doc["hands"])
            return cls(frame=int(doc["frame"]), timestamp_s=float(doc["timestamp_s"]), hands=hands)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"a handpose frame record (JSON object with frame, timestamp_s, hands) expected: {exc}") from None


def _hand_from_dict(doc: dict[str, Any]) -> HandPose:
    arrays = {key: np.asarray(doc[key], dtype=np.float64) for key in DECIMALS}
    for key, shape in (("keypoints_px", (21, 2)), ("joints_cam_mm", (21, 3)), ("joints_norm", (21, 3))):
        if arrays[key].shape != shape:
            raise ValueError(f"{key} of shape {shape} expected, got {arrays[key].shape}")
    if doc["handedness"] not in ("left", "right"):
        raise ValueError(f"handedness 'left' or 'right' expected, got {doc['handedness']!r}")
    visibility = np.asarray(doc.get("visibility", [1.0] * 21), dtype=np.float32)
    if visibility.shape != (21,):
        raise ValueError(f"visibility of shape (21,) expected, got {visibility.shape}")
    if not np.all((visibility >= 0.0) & (visibility <= 1.0)):
        raise ValueError("visibility: probabilities in [0, 1] expected")
    gesture = doc.get("gesture", "none")
    if gesture not in GESTURES:
        raise ValueError(f"gesture one of {GESTURES} expected, got {gesture!r}")
    score = float(doc.get("gesture_score", 0.0))
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"gesture_score in [0, 1] expected, got {score}")
    count = doc.get("finger_count", -1)
    if not isinstance(count, int) or not -1 <= count <= 5:
        raise ValueError(f"finger_count an integer in -1..5 expected, got {count!r}")
    return HandPose(handedness=doc["handedness"], presence=float(doc["presence"]), keypoints_px=arrays["keypoints_px"],
                    joints_cam_mm=arrays["joints_cam_mm"], joints_norm=arrays["joints_norm"], visibility=visibility,
                    gesture=gesture, gesture_score=score, finger_count=count)
