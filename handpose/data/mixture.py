"""Several datasets drawn in fixed proportions, as one sequence (what training samples from)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from handpose.data.sample import HandSample
from handpose.data.shards import locate
from handpose.errors import InputError


class Mixture(Sequence[HandSample]):
    """A virtual sequence of ``length`` items in which ``parts[k]`` fills the share ``weights[k]``
    (normalised) of the indices, one block per part; index ``i`` of part k's block is that part's
    sample ``i mod len(part)``. Drawing indices uniformly therefore draws part k with probability
    ``weights[k]``, and within it every sample alike, small parts repeating.

    Args:
        parts: the datasets, each non-empty.
        weights: one positive weight per part.
        length: items of the virtual sequence (default: all parts' samples together).
    """

    def __init__(self, parts: Sequence[Sequence[HandSample]], weights: Sequence[float],
                 length: int | None = None) -> None:
        if not parts or len(parts) != len(weights):
            raise InputError(f"one weight per dataset expected, got {len(weights)} for {len(parts)}")
        if any(len(p) == 0 for p in parts) or any(not w > 0 for w in weights):
            raise InputError(f"non-empty datasets and positive weights expected, got sizes "
                             f"{[len(p) for p in parts]} and weights {list(weights)}")
        self.parts = list(parts)
        total = int(length if length is not None else sum(len(p) for p in parts))
        share = np.asarray(weights, np.float64) / float(np.sum(weights))
        self._ends = np.maximum(1, np.round(np.cumsum(share) * total)).astype(int).tolist()
        self._ends[-1] = total

    def __len__(self) -> int:
        return self._ends[-1]

    def __getitem__(self, i: int) -> HandSample:  # type: ignore[override]
        k, offset = locate(self._ends, i, "items in the mixture")
        return self.parts[k][offset % len(self.parts[k])]

    def __iter__(self) -> Iterator[HandSample]:
        return (self[i] for i in range(len(self)))
