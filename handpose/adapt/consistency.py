"""Temporal consistency of the teacher's labels on footage.

A hand moves smoothly between neighbouring frames; a label that lands far from where its
neighbours put the same hand is a teacher error (a finger swapped, the other hand, a blur), even
when the mirrored copy agreed with it. A label is refused when it has a neighbour of the same hand side
within :attr:`ConsistencyConfig.max_gap` frames on each side and lies further than ``max_jump``
(mean landmark distance in units of the hand's box side) both from the mean of the two (where
smooth motion puts it) and from each of them (so a good label next to a bad one is kept). A label
without a neighbour on both sides is kept: there is no telling which of two disagreeing frames is
wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from handpose.adapt.footage import LabelledFrame
from handpose.data.real.pseudo_label import hand_side_px
from handpose.errors import InputError


@dataclass(frozen=True)
class ConsistencyConfig:
    """The temporal check.

    Attributes:
        max_jump: largest distance from the neighbours' mean, in units of the hand's box side.
        max_gap: neighbours further apart than this many frames are not neighbours.
    """

    max_jump: float = 0.15
    max_gap: int = 3

    def __post_init__(self) -> None:
        if self.max_jump <= 0 or self.max_gap < 1:
            raise InputError(f"max_jump > 0 and max_gap >= 1 expected, got {self}")


def consistent(hands: Sequence[LabelledFrame], config: ConsistencyConfig = ConsistencyConfig()) -> list[bool]:
    """One flag per hand of ``hands`` (any order): True where the label passes the check."""
    keep = [True] * len(hands)
    tracks: dict[tuple[int, str], list[int]] = {}
    for i, h in enumerate(hands):
        tracks.setdefault((h.source, h.handedness), []).append(i)
    for members in tracks.values():
        members.sort(key=lambda i: hands[i].frame)
        for pos, i in enumerate(members):
            here = hands[i]
            near = [hands[j] for j in (members[pos - 1] if pos else None, members[pos + 1] if pos + 1 < len(members)
                                       else None)
                    if j is not None and abs(hands[j].frame - here.frame) <= config.max_gap]
            if len(near) < 2:
                continue
            side = hand_side_px(here.label.keypoints_px)

            def gap(points: np.ndarray) -> float:
                return float(np.linalg.norm(here.label.keypoints_px - points, axis=1).mean() / side)

            mean = np.mean([n.label.keypoints_px for n in near], axis=0)
            keep[i] = min(gap(mean), *(gap(n.label.keypoints_px) for n in near)) <= config.max_jump
    return keep
