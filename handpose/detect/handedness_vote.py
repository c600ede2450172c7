"""Which hand a track is: a vote over its detections, not the label of the latest one.

MediaPipe labels each detection "Left" or "Right" on its own, and on some frames of the same hand it
says the other side. Each flip would change the crop's mirroring (the model sees right hands only)
and so make the 3D hand jump. A track therefore keeps a side: the first detection sets it, and
each later detection adds its score to its side's tally, the tallies decaying by :data:`DECAY` per
detection. The side changes only when the other side's tally exceeds the current side's by
:data:`SWITCH_RATIO`: with scores near 1 that takes five consecutive detections of the other side
after a long run of this one, and two right after the first detection (the vote over a track's
first detections).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from handpose.types import Handedness

#: each detection multiplies both tallies by this before adding its own score
DECAY: Final = 0.8
#: the other side must out-vote the current one by this factor to take over
SWITCH_RATIO: Final = 2.0


@dataclass
class HandednessVote:
    """The side of one track; :meth:`add` one detection at a time."""

    side: Handedness
    tallies: dict[str, float] = field(default_factory=dict)

    @classmethod
    def first(cls, side: Handedness, score: float) -> HandednessVote:
        return cls(side, {side: float(score)})

    def add(self, side: Handedness, score: float) -> Handedness:
        """Count one detection labelled ``side`` with confidence ``score`` in [0, 1]; returns the
        track's side after it."""
        for key in self.tallies:
            self.tallies[key] *= DECAY
        self.tallies[side] = self.tallies.get(side, 0.0) + float(score)
        other = "left" if self.side == "right" else "right"
        if self.tallies.get(other, 0.0) > SWITCH_RATIO * self.tallies.get(self.side, 0.0):
            self.side = other
        return self.side
