"""Accuracy and confusion matrices of named labels (gestures, finger counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Confusion:
    """Counts of (true, predicted) label pairs.

    Attributes:
        labels: the row and column names.
        counts: (L, L) int64, rows true, columns predicted.
    """

    labels: tuple[str, ...]
    counts: np.ndarray

    @classmethod
    def of(cls, true: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Confusion:
        """The matrix of paired ``true`` / ``predicted`` names; names outside ``labels`` are appended."""
        names = list(labels) + sorted(set(true) | set(predicted) - set(labels))
        index = {n: i for i, n in enumerate(names)}
        counts = np.zeros((len(names), len(names)), np.int64)
        for t, p in zip(true, predicted, strict=True):
            counts[index[t], index[p]] += 1
        return cls(tuple(names), counts)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.counts) / self.total) if self.total else float("nan")

    def to_json(self) -> dict[str, object]:
        """Accuracy, count and the matrix as {true: {predicted: count}} (zero cells left out)."""
        rows = {t: {p: int(c) for p, c in zip(self.labels, row) if c} for t, row in zip(self.labels, self.counts)
                if row.sum()}
        return {"accuracy": round(self.accuracy, 4), "count": self.total, "confusion": rows}

    def table(self) -> str:
        """The matrix as text: rows true, columns predicted (only labels that occur)."""
        used = [i for i in range(len(self.labels)) if self.counts[i].sum() or self.counts[:, i].sum()]
        names = [self.labels[i][:11] for i in used]
        width = max(6, *(len(n) for n in names)) + 1
        lines = [" " * width + "".join(f"{n:>{width}}" for n in names)]
        for i, n in zip(used, names):
            lines.append(f"{n:<{width}}" + "".join(f"{self.counts[i, j]:>{width}}" for j in used))
        return "\n".join(lines)
