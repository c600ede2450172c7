"""At which aspect ratio were the stretched sets' photos taken? (docs/real_hands.md §13)

    python scripts/stretched_aspect.py --root ../shared/data --count 150

Each photo is given back at several candidate aspects (width / height; the stored side kept,
:func:`handpose.data.real.sets.restore_aspect`) and labelled by the teacher
(:class:`handpose.data.real.pseudo_label.Teacher`, its mirrored-copy checks included). Per set and
candidate: how many photos the teacher keeps a hand in, and how far its 2D landmarks lie from its
own world landmarks seen from the front (x, y after the best rotation, scale and shift; median, in
units of the hand's box side). A squashed hand is harder to find and its 2D landmarks do not match
the hand shape the teacher knows, so both peak at the photos' own aspect. The unstretched webcam
cuts are the control: their peak must be at 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from handpose.data.real.pseudo_label import Teacher, TeacherConfig, hand_side_px
from handpose.data.real.sets import restore_aspect
from handpose.detect.detector import HandDetector
from handpose.io.images import list_images, read_rgb

ASPECTS = (9 / 16, 2 / 3, 3 / 4, 1.0, 4 / 3)
SETS = (("gestures_phone", "real_hands/stretched/gestures_phone"), ("asl_letters", "real_hands/stretched/asl_letters"),
        ("webcam_hands (control)", "real_hands/webcam_hands/images"))


def front_view_gap(keypoints_px: np.ndarray, world_mm: np.ndarray) -> float:
    """Mean distance of (21, 2) 2D landmarks from the (21, 3) world landmarks' x, y brought onto
    them by the best rotation, scale and shift, over the hand's box side."""
    a, b = world_mm[:, :2] - world_mm[:, :2].mean(0), keypoints_px - keypoints_px.mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    flip = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, flip]) @ vt
    scale = (s[0] + flip * s[1]) / (a**2).sum()
    return float(np.linalg.norm(scale * a @ rotation - b, axis=1).mean() / hand_side_px(keypoints_px))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, required=True, help="folder with real_hands/")
    p.add_argument("--count", type=int, default=150, help="photos per set, spread evenly over it")
    a = p.parse_args(argv)
    print(f"{'set':<24}" + "".join(f"{f'{x:.3f}':>16}" for x in ASPECTS))
    print(f"{'':<24}" + "".join(f"{'kept  gap':>16}" for _ in ASPECTS))
    with HandDetector(mode="image", num_hands=1, min_confidence=0.5) as detector:
        teacher = Teacher(detector, TeacherConfig())
        for name, folder in SETS:
            paths = list_images(a.root / folder, recursive=True)
            paths = paths[:: max(1, len(paths) // a.count)][: a.count]
            cells = []
            for aspect in ASPECTS:
                labels = [teacher.label(restore_aspect(read_rgb(path), aspect))[0][0] for path in paths]
                gaps = [front_view_gap(x.keypoints_px, x.world_mm) for x in labels if x is not None]
                cells.append(f"{len(gaps):>9} {np.median(gaps) if gaps else float('nan'):.4f}")
            print(f"{name + f' ({len(paths)})':<24}" + "".join(f"{c:>16}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
