"""The labelled footage split by time: the first part adapts the model, the last part checks it.

Per input, the frames from ``1 - check_fraction`` of its length on are the check part, never
trained on; the hands of a frame stay together. Splitting each input (not the inputs as one
stream) keeps every recording's end for the check, so a later session's hands, light and views
are in it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handpose.adapt.footage import LabelledFrame
from handpose.errors import InputError


@dataclass(frozen=True)
class FootageSplit:
    """The two parts, each in input then frame order.

    Attributes:
        adapt: hands the model is fine-tuned on.
        check: hands of the last ``check_fraction`` of each input (the before/after report).
        first_check_frame: per input, the first frame index of its check part.
    """

    adapt: list[LabelledFrame]
    check: list[LabelledFrame]
    first_check_frame: tuple[int, ...]


def split_by_time(hands: Sequence[LabelledFrame], frames_per_input: Sequence[int],
                  check_fraction: float = 0.3) -> FootageSplit:
    """Split ``hands`` (labelled frames of inputs with ``frames_per_input`` frames each)."""
    if not 0.0 < check_fraction < 1.0:
        raise InputError(f"check fraction in (0, 1) expected, got {check_fraction}")
    first = tuple(int(round(n * (1.0 - check_fraction))) for n in frames_per_input)
    ordered = sorted(hands, key=lambda h: (h.source, h.frame))
    adapt = [h for h in ordered if h.frame < first[h.source]]
    check = [h for h in ordered if h.frame >= first[h.source]]
    if not adapt or not check:
        raise InputError(f"the footage gave {len(adapt)} labelled hands to adapt on and {len(check)} to check on; "
                         "both need some: a longer clip with the hand in view expected")
    return FootageSplit(adapt, check, first)
