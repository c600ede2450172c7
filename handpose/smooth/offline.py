"""Zero-lag offline smoothing of the hands of a whole recorded video (``--smooth offline``).

Hands are followed by side, and each side's track is smoothed with the models of
:mod:`handpose.smooth.hand_track` run forwards and then backwards (Rauch-Tung-Striebel: no lag):
:func:`handpose.smooth.filters.rts_smooth` for the 2D keypoints and the poses (then each bone given
the track's median length), :func:`handpose.smooth.translation.smooth_translations` for the wrist.

Frames where a hand is missing are gaps the smoothers bridge; nothing is written into them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from handpose.io.frame_record import FrameRecord
from handpose.smooth.bones import bone_lengths, with_bone_lengths
from handpose.smooth.filters import rts_smooth
from handpose.smooth.hand_track import FIELDS, SIDES, SMOOTHING_PARAMS, best_hand, wrist_covariance
from handpose.smooth.translation import smooth_translations


class OfflineSmoother:
    """The smoothed tracks of one video, fitted in one pass over its records and applied in another,
    so a long video is never held in memory as records: only its tracks' arrays (float64, about
    1.3 KB per hand and frame) are. ``fit`` and ``apply`` must see the same records in the same order.
    """

    def __init__(self, rows: dict[str, np.ndarray], slots: dict[str, np.ndarray],
                 values: dict[str, dict[str, np.ndarray]]) -> None:
        self._rows = rows  # side -> (n,) row of each record in that side's arrays, -1 where absent
        self._slots = slots  # side -> (P,) index of the track's hand among its record's hands
        self._values = values  # side -> field -> (P, 21, k) float32 smoothed values

    @classmethod
    def fit(cls, records: Iterable[FrameRecord]) -> OfflineSmoother:
        """Smooth each side's track of ``records`` (in frame order)."""
        times, frames = [], []
        found: dict[str, dict[str, list]] = {side: {"t": [], "slot": [], "keypoints_px": [], "joints_cam_mm": [],
                                                     "joints_norm": []} for side in SIDES}
        for t, record in enumerate(records):
            times.append(record.timestamp_s)
            frames.append(record.frame)
            for side in SIDES:
                slot = best_hand(record.hands, side)
                if slot is not None:
                    hand, track = record.hands[slot], found[side]
                    track["t"].append(t)
                    track["slot"].append(slot)
                    for name in FIELDS:
                        track[name].append(np.asarray(getattr(hand, name), np.float64))
        n = len(times)
        clock = np.array(times, np.float64)
        if np.any(np.diff(clock) <= 0):  # a container with broken timestamps: fall back to frame numbers
            clock = np.array(frames, np.float64)
        rows, slots, values = {}, {}, {}
        for side, track in found.items():
            present = np.array(track["t"], np.int64)
            rows[side] = np.full(n, -1, np.int64)
            if n < 2 or len(present) < 2:
                continue
            rows[side][present] = np.arange(len(present))
            slots[side] = np.array(track["slot"], np.int64)
            values[side] = _smooth_track({name: np.stack(track[name]) for name in FIELDS}, clock, present, n)
        return cls(rows, slots, values)

    def apply(self, records: Iterable[FrameRecord],
              relabel: Callable[[np.ndarray], dict[str, object]] | None = None) -> Iterator[FrameRecord]:
        """``records`` again, each tracked hand replaced by its smoothed values; same frames, same hands.

        ``relabel``: fields derived from the normalised pose (21, 3), set again from the smoothed
        one (the gesture: so a record's gesture is that of the pose it holds).
        """
        for t, record in enumerate(records):
            hands = list(record.hands)
            for side, values in self._values.items():
                row = self._rows[side][t]
                if row >= 0:
                    slot = int(self._slots[side][row])
                    derived = {} if relabel is None else relabel(values["joints_norm"][row])
                    hands[slot] = dataclasses.replace(hands[slot], **{k: v[row] for k, v in values.items()}, **derived)
            yield dataclasses.replace(record, hands=tuple(hands))


def smooth_records(records: Sequence[FrameRecord]) -> list[FrameRecord]:
    """Records (in frame order) with each hand track smoothed; same frames, same hands."""
    return list(OfflineSmoother.fit(records).apply(records))


def _smooth_track(found: dict[str, np.ndarray], times: np.ndarray, present: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """One side's arrays (P, 21, k) at the record positions ``present`` -> their smoothed values, same shapes."""
    def track(values: np.ndarray) -> np.ndarray:
        out = np.full((n,) + values.shape[1:], np.nan)
        out[present] = values
        return out

    keypoints = track(found["keypoints_px"])
    joints = track(found["joints_cam_mm"])
    norm = track(found["joints_norm"])
    root = joints[:, 0]
    relative = joints - root[:, None]
    covariances = np.tile(np.eye(3), (n, 1, 1))
    for t in present:
        covariances[t] = wrist_covariance(joints[t], keypoints[t])
    accel, std = SMOOTHING_PARAMS["relative_mm"]
    relative = rts_smooth(relative, times, accel, std)
    relative = with_bone_lengths(relative, np.median(bone_lengths(relative[present]), axis=0))
    accel, std = SMOOTHING_PARAMS["joints_norm"]
    norm = rts_smooth(norm, times, accel, std)
    norm = with_bone_lengths(norm, np.median(bone_lengths(norm[present]), axis=0))
    accel, std = SMOOTHING_PARAMS["keypoints_px"]
    smoothed = {
        "keypoints_px": rts_smooth(keypoints, times, accel, std),
        "joints_cam_mm": relative + smooth_translations(root, covariances, times)[:, None],
        "joints_norm": norm,
    }
    return {name: value[present].astype(np.float32) for name, value in smoothed.items()}
