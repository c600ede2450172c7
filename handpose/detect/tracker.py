"""Hand tracking between detections: the next frame's crop comes from this frame's predicted keypoints.

MediaPipe (:class:`handpose.detect.detector.HandDetector`) runs only when it must:

* there is no tracked hand (start, or every hand was lost);
* a hand was lost on the previous frame: the model's presence fell below ``presence_threshold``,
  or its predicted keypoints left the frame or shrank below ``min_box_px``; and on the following
  frames, up to ``lost_retry_frames`` in all, until MediaPipe finds as many hands as were tracked
  before the loss (one missed detection does not drop a hand for ``redetect_every`` frames);
* a tracked hand's keypoint box grew or shrank by more than ``rescale_factor`` since the model's
  first answer on the detector's crop (the reference is the model's own box, not MediaPipe's, so
  a steady difference between the two does not count): a crop that collapses onto part of the
  hand, or trails a hand coming closer, keeps a confident presence score, so MediaPipe is asked to
  place it again (the next frame);
* every ``redetect_every`` frames, to pick up hands that entered the view, and every
  ``search_every`` frames while fewer hands are tracked than the detector looks for (a second hand
  is picked up within a third of a second, not a second).

On the other (steady-state) frames each tracked hand's box is placed from the keypoints the model
predicted for it on the previous frame, smoothed by a light One Euro filter (:data:`CROP_SMOOTHING`)
so the crop does not jitter with the predictions. A detection keeps the id of the tracked hand
nearest to it, so downstream per-hand state (output smoothing) carries over, and the track's side
is a vote over its detections (:mod:`handpose.detect.handedness_vote`), not the label of the
latest one: the crop's mirroring follows the track, not MediaPipe's frame-by-frame label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from handpose.geometry.crop import square_box
from handpose.detect.detector import HandDetector
from handpose.detect.handedness_vote import HandednessVote
from handpose.errors import InputError
from handpose.smooth.filters import OneEuroFilter, OneEuroParams
from handpose.types import HandBox, Handedness

#: smoothing of the keypoints that place the next crop: light, so a moving hand stays in its crop
CROP_SMOOTHING: Final = OneEuroParams(min_cutoff_hz=3.0, beta=0.05)
#: a detection continues a track whose box centre is within this many of the detection's box sides
MATCH_RADIUS: Final = 0.5


@dataclass(frozen=True)
class TrackerConfig:
    """When to run the detector.

    Attributes:
        redetect_every: run the detector at least every this many frames (1 = every frame).
        presence_threshold: a tracked hand whose model presence falls below this is lost.
        min_box_px: a tracked hand whose keypoint box side (px, margin included) is smaller is lost.
        lost_retry_frames: after a loss the detector runs on up to this many consecutive frames
            until it finds the hands tracked before the loss (1 = only the frame after it).
        rescale_factor: a tracked hand whose keypoint box side has changed by more than this
            factor (either way) since the model's first answer after its detection is detected
            again on the next frame.
        search_every: while fewer hands are tracked than the detector's ``num_hands``, run it at
            least every this many frames.
    """

    redetect_every: int = 30
    presence_threshold: float = 0.5
    min_box_px: float = 24.0
    lost_retry_frames: int = 5
    rescale_factor: float = 1.5
    search_every: int = 10

    def __post_init__(self) -> None:
        if self.redetect_every < 1:
            raise InputError(f"redetect_every >= 1 expected, got {self.redetect_every}")
        if not 0.0 <= self.presence_threshold <= 1.0:
            raise InputError(f"presence_threshold in [0, 1] expected, got {self.presence_threshold}")
        if self.lost_retry_frames < 1:
            raise InputError(f"lost_retry_frames >= 1 expected, got {self.lost_retry_frames}")
        if self.search_every < 1:
            raise InputError(f"search_every >= 1 expected, got {self.search_every}")
        if self.rescale_factor <= 1.0:
            raise InputError(f"rescale_factor > 1 expected, got {self.rescale_factor}")


@dataclass(frozen=True)
class TrackedHand:
    """A hand to crop this frame: its box and the id of its track (stable while the hand is tracked)."""

    track_id: int
    box: HandBox


@dataclass
class _Track:
    track_id: int
    handedness: Handedness
    keypoints_px: np.ndarray
    score: float
    crop_filter: OneEuroFilter
    vote: HandednessVote
    reference_side_px: float | None = None  # the model's keypoint box side on the detector's crop


class HandTracker:
    """Decides per frame where the hands are: from the detector, or from the last predictions.

    Per frame: :meth:`hands` (boxes to crop), then :meth:`update` with the model's predictions.
    """

    def __init__(self, detector: HandDetector, config: TrackerConfig = TrackerConfig()) -> None:
        self.detector = detector
        self.config = config
        self._tracks: list[_Track] = []
        self._since_detection = 0
        self._retries = 0  # detector runs still owed to a loss
        self._wanted = 0  # hands tracked before the loss
        self._next_id = 0

    def reset(self) -> None:
        """Forget all tracks: the next frame runs the detector."""
        self._tracks = []
        self._retries = self._wanted = 0

    def hands(self, rgb: np.ndarray, timestamp_s: float) -> list[TrackedHand]:
        """The hands to crop in this (H, W, 3) uint8 RGB frame (detector run if needed)."""
        self._since_detection += 1
        source: Literal["detector", "tracker"]
        searching = len(self._tracks) < self.detector.num_hands and self._since_detection >= self.config.search_every
        if not self._tracks or self._retries > 0 or searching or self._since_detection >= self.config.redetect_every:
            boxes = self.detector.detect(rgb, timestamp_s)
            self._adopt(boxes, timestamp_s)
            self._since_detection = 0
            if len(boxes) >= self._wanted or self._retries <= 1:
                self._retries = self._wanted = 0  # found them, or the retries are spent
            else:
                self._retries -= 1
            source = "detector"
        else:
            source = "tracker"
        return [
            TrackedHand(t.track_id, HandBox(t.keypoints_px, t.handedness, t.score, source))
            for t in self._tracks
        ]

    def update(self, track_id: int, keypoints_px: np.ndarray, presence: float, frame_size: tuple[int, int],
               timestamp_s: float) -> bool:
        """Feed the model's prediction for one tracked hand; returns False (and drops it) if it is lost.

        Args:
            keypoints_px: (21, 2) predicted keypoints in frame px.
            presence: the model's presence score.
            frame_size: (width, height) of the frame in px.
        """
        track = next((t for t in self._tracks if t.track_id == track_id), None)
        if track is None:
            raise InputError(f"unknown track id {track_id}; ids come from hands() of the same frame")
        centre, side = square_box(keypoints_px)
        width, height = frame_size
        inside = 0.0 <= centre[0] < width and 0.0 <= centre[1] < height
        if presence < self.config.presence_threshold or side < self.config.min_box_px or not inside:
            self._wanted = max(self._wanted, len(self._tracks))
            self._tracks.remove(track)
            self._retries = self.config.lost_retry_frames
            return False
        track.keypoints_px = track.crop_filter(keypoints_px, timestamp_s)
        track.score = float(presence)
        if track.reference_side_px is None:
            track.reference_side_px = side
        elif max(side / track.reference_side_px, track.reference_side_px / side) > self.config.rescale_factor:
            self._since_detection = self.config.redetect_every  # detect again on the next frame
        return True

    def _adopt(self, boxes: list[HandBox], timestamp_s: float) -> None:
        """Replace the tracks by fresh detections. A detection continues the nearest track (whatever
        side MediaPipe gave it this time) whose box centre is within :data:`MATCH_RADIUS` box sides
        of it, nearest pairs first; the track's side is then its :class:`HandednessVote`'s, and the
        detection's box is returned with that side."""
        previous = list(self._tracks)
        self._tracks = []
        centres = [square_box(box.keypoints_px) for box in boxes]
        pairs = sorted(
            (float(np.linalg.norm(square_box(t.keypoints_px)[0] - centre)) / max(side, 1.0), i, j)
            for i, (centre, side) in enumerate(centres) for j, t in enumerate(previous)
        )
        matched: dict[int, _Track] = {}
        taken: set[int] = set()
        for distance, i, j in pairs:
            if distance <= MATCH_RADIUS and i not in matched and j not in taken:
                matched[i] = previous[j]
                taken.add(j)
        for i, box in enumerate(boxes):
            crop_filter = OneEuroFilter(CROP_SMOOTHING)
            crop_filter(box.keypoints_px, timestamp_s)
            if i in matched:
                track_id, vote = matched[i].track_id, matched[i].vote
                vote.add(box.handedness, box.score)
            else:
                track_id, vote = self._next_id, HandednessVote.first(box.handedness, box.score)
                self._next_id += 1
            self._tracks.append(_Track(track_id, vote.side, box.keypoints_px, box.score, crop_filter, vote))
