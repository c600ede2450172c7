"""Real hand poses labelled only with their number of extended fingers, for the gesture classifier.

Labelled photos (the webcam set's ``n-hand``, the sign digits 0-5) say how many fingers are out,
not which. Their poses (our model's ``HandPose.joints_norm`` and MediaPipe's world landmarks of the
same hands, both normalised as :func:`handpose.skeleton.normalize` does) teach the classifier what
real hands and the pose models' habits look like; the loss on them is the likelihood of the
labelled count under the classifier's five independent finger probabilities
(:func:`count_log_likelihood`), plus the gesture's cross-entropy where the photo names one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from handpose.errors import InputError

if TYPE_CHECKING:
    import torch

#: log of "impossible" in the count recursion: finite, so that gradients stay finite (-inf - -inf is NaN)
_LOG_ZERO = -1e4


@dataclass(frozen=True)
class CountedPoses:
    """N real poses with their finger counts.

    Attributes:
        joints_norm: (N, 21, 3) float32 normalised right-hand poses (x right, y down as the image).
        count: (N,) int64 extended fingers, 0..5.
        gesture: (N,) int64 index into ``vocabulary.GESTURES``, -1 where the photo names none.
        group: (N,) str where the photo came from (a webcam session, a sign-digit photo series),
            to split by group, never by pose.
    """

    joints_norm: np.ndarray
    count: np.ndarray
    gesture: np.ndarray
    group: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.joints_norm)
        if self.joints_norm.shape != (n, 21, 3) or not (len(self.count) == len(self.gesture) == len(self.group) == n):
            raise InputError(f"(N, 21, 3) poses with N counts, gestures and groups expected, got "
                             f"{self.joints_norm.shape}, {len(self.count)}, {len(self.gesture)}, {len(self.group)}")
        if n and not (self.count.min() >= 0 and self.count.max() <= 5):
            raise InputError(f"finger counts in 0..5 expected, got {self.count.min()}..{self.count.max()}")

    def __len__(self) -> int:
        return len(self.count)

    def select(self, rows: np.ndarray) -> CountedPoses:
        """The poses at ``rows`` (a boolean mask or indices)."""
        return CountedPoses(self.joints_norm[rows], self.count[rows], self.gesture[rows], self.group[rows])

    def save(self, path: str | os.PathLike[str]) -> None:
        from handpose.io.atomic import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as file:
            np.savez(file, joints_norm=self.joints_norm, count=self.count, gesture=self.gesture,
                     group=self.group.astype(str))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CountedPoses:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["joints_norm"], data["count"], data["gesture"], data["group"])
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: not a saved CountedPoses file ({exc})") from None


def count_log_likelihood(finger_logits: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """(B,) log-probability that exactly ``count`` (B,) int64 of five independent fingers with
    logits ``finger_logits`` (B, 5) are extended (the Poisson-binomial distribution, summed
    exactly over the fingers one at a time)."""
    import torch

    log_on = torch.nn.functional.logsigmoid(finger_logits)
    log_off = torch.nn.functional.logsigmoid(-finger_logits)
    batch = finger_logits.shape[0]
    # log P(k of the first j fingers extended), k = 0..5
    dist = torch.full((batch, 6), _LOG_ZERO, dtype=finger_logits.dtype)
    dist[:, 0] = 0.0
    for j in range(finger_logits.shape[1]):
        shifted = torch.cat([torch.full((batch, 1), _LOG_ZERO, dtype=dist.dtype), dist[:, :-1]], dim=1)
        dist = torch.logaddexp(dist + log_off[:, j:j + 1], shifted + log_on[:, j:j + 1])
    return dist.gather(1, count[:, None]).squeeze(1)


def photo_group(set_name: str, file: str) -> str:
    """Where a labelled photo came from: its webcam session (the file name before ``pic``), or
    its sign-digit series (the photo number in hundreds: photos taken together)."""
    import re

    name = file.rsplit("/", 1)[-1]
    if set_name == "webcam_hands":
        return "webcam:" + re.sub(r"pic\d+.*", "", name)
    numbers = re.findall(r"\d+", name)
    return f"{set_name}:{int(numbers[0]) // 100 if numbers else name}"


def from_pose_rows(rows: list[dict[str, object]], sources: tuple[str, ...] = ("ours", "mp")) -> CountedPoses:
    """The found, counted hands of per-photo rows as ``scripts/eval_gestures.py --poses`` keeps
    them (``set``, ``file``, ``fingers``, ``gesture`` name or "", ``found``, ``ours_pose``
    = our ``joints_norm``, ``mp_pose`` = MediaPipe's world landmarks, ``mp_left``), one pose per
    source: ``"ours"`` and/or ``"mp"``."""
    from handpose import skeleton
    from handpose.gesture.vocabulary import GESTURES

    joints, count, gesture, group = [], [], [], []
    for row in rows:
        if not row["found"] or not 0 <= int(row["fingers"]) <= 5:  # type: ignore[arg-type]
            continue
        for source in sources:
            if source == "ours":
                joints.append(np.asarray(row["ours_pose"], np.float32))
            else:
                joints.append(skeleton.normalize(np.asarray(row["mp_pose"], np.float64), bool(row["mp_left"]))[0]
                              .astype(np.float32))
            count.append(int(row["fingers"]))  # type: ignore[arg-type]
            gesture.append(GESTURES.index(str(row["gesture"])) if row["gesture"] else -1)
            group.append(photo_group(str(row["set"]), str(row["file"])))
    if not joints:
        raise InputError("no found, counted hands in the rows")
    return CountedPoses(np.stack(joints), np.array(count, np.int64), np.array(gesture, np.int64), np.array(group))
