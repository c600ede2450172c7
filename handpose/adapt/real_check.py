"""The real check set of an adaptation without the user's own hands.

A real validation split may hold frames of the very footage being adapted to (the ASL clip's last
quarter, the webcam session ``996_``); after adaptation those frames are the user's, not "other
hands", and would flatter the forgetting number. For photo shards made by ``apps.pseudo_label``
(``shards:DIR``, with the labeller's log ``DIR/../labels.jsonl``), the hands whose source file is
one of the inputs' files are left out; other data is scored whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handpose.data.sample import HandSample
from handpose.io.images import list_images


@dataclass(frozen=True)
class Subset(Sequence[HandSample]):
    """The samples of ``data`` at ``indices``, in that order."""

    data: Sequence[HandSample]
    indices: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> HandSample:  # type: ignore[override]
        return self.data[self.indices[i]]


def footage_files(inputs: Sequence[str | Path]) -> set[Path]:
    """Resolved paths of every input: a video file itself, an image folder's images."""
    files: set[Path] = set()
    for spec in inputs:
        path = Path(spec)
        files.update(p.resolve() for p in (list_images(path) if path.is_dir() else [path]))
    return files


def without_footage(spec: str, data: Sequence[HandSample], inputs: Sequence[str | Path]
                    ) -> tuple[Sequence[HandSample], int]:
    """(``data`` less the hands cut from the inputs' files, how many were left out); see the
    module docstring."""
    kind, _, folder = spec.partition(":")
    log = Path(folder).parent / "labels.jsonl"
    if kind != "shards" or not log.is_file():
        return data, 0
    ends = {p.as_posix() for p in footage_files(inputs)}
    mine: set[int] = set()
    split = Path(folder).name
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        source = "/" + entry["key"].split("#")[0]
        if entry["split"] == split and any(e.endswith(source) for e in ends):
            mine.update(h["split_index"] for h in entry["hands"] if "split_index" in h)
    if not mine:
        return data, 0
    return Subset(data, tuple(i for i in range(len(data)) if i not in mine)), len(mine)
