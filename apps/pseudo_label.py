"""Label the real hand photos with the MediaPipe teacher and store them as shards.

    handpose-pseudo-label --root DATA_ROOT --out data/real    # DATA_ROOT holds real_hands/, real_hand_photos/
    handpose-pseudo-label --root DATA_ROOT --out data/asl_letters_3d --source asl_letters_3d

Reads the sets described in ``handpose.data.real.sets`` under ROOT (``--source asl_letters_3d``:
only the ASL letter photos, at their own aspect and with 3D labels, ``iter_asl_letters_3d``),
labels each hand with ``handpose.data.real.pseudo_label.Teacher`` (photo and mirrored copy must
agree), and writes ``OUT/train/*.npz`` and ``OUT/val/*.npz`` (the validation split is by person,
session or time; for the ASL photos the check part),
``OUT/labels.jsonl`` (every image: its split, group, and each hand's outcome) and
``OUT/summary.json``. Deterministic: the same inputs give the same files. The whole output is
built in a temporary folder next to OUT and put in place at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from handpose.data.real.pseudo_label import Teacher, TeacherConfig, teacher_sample
from handpose.data.real.sets import data_root, iter_asl_letters_3d, iter_real_images
from handpose.data.sample import HandSample
from handpose.data.shards import write_shards
from handpose.detect.detector import HandDetector, add_verbose_flag
from handpose.errors import HandposeError
from handpose.io.atomic import check_writable_folder


#: the image streams ``--source`` picks from
SOURCES = {"all": iter_real_images, "asl_letters_3d": iter_asl_letters_3d}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, required=True, help="folder with real_hands/ and real_hand_photos/")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--source", choices=sorted(SOURCES), default="all",
                   help="all: every set (data/real); asl_letters_3d: the ASL letter photos at their own aspect")
    p.add_argument("--size", type=int, default=128, help="crop side in px")
    p.add_argument("--min-score", type=float, default=TeacherConfig.min_score)
    p.add_argument("--max-disagreement", type=float, default=TeacherConfig.max_disagreement)
    p.add_argument("--limit", type=int, default=0, help="label only the first N images (0 = all)")
    add_verbose_flag(p)
    a = p.parse_args(argv)
    if a.limit < 0:
        p.error(f"--limit: 0 (all) or a positive number of images expected, got {a.limit}")
    try:
        data_root(a.root)  # before MediaPipe loads and the labelling starts
        check_writable_folder(a.out.parent)
        _label(a)
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _label(a: argparse.Namespace) -> None:
    from tqdm import tqdm

    config = TeacherConfig(min_score=a.min_score, max_disagreement=a.max_disagreement)
    kept: dict[str, list[HandSample]] = {"train": [], "val": []}
    reasons: Counter[str] = Counter()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{a.out.name}.", dir=a.out.parent))
    try:
        with HandDetector(mode="image", num_hands=config.num_hands, min_confidence=0.5) as detector, \
                (work / "labels.jsonl").open("w") as log:
            teacher = Teacher(detector, config)
            for n, (info, rgb) in enumerate(tqdm(SOURCES[a.source](a.root), desc="labelling", unit="img")):
                if a.limit and n >= a.limit:
                    break
                image = teacher.prepare(rgb, info.tight)
                hands = []
                for label, why in teacher.label(image):
                    reasons[why if label is None else "ok"] += 1
                    entry: dict[str, object] = {"outcome": why}
                    if label is not None:
                        entry.update(split_index=len(kept[info.split]), handedness=label.handedness,
                                     score=round(label.score, 4), disagreement=round(label.disagreement, 4))
                        kept[info.split].append(teacher_sample(image, label, a.size, with_3d=not info.stretched))
                    hands.append(entry)
                log.write(json.dumps({"key": info.key, "set": info.set_name, "split": info.split,
                                      "group": info.group, "hands": hands}) + "\n")
        for split, samples in kept.items():
            if samples:
                write_shards(work / split, samples, per_shard=2048, prefix=split)
        summary = {"root": str(a.root), "source": a.source, "crop_size": a.size, "teacher": config.__dict__,
                   "hands": {k: len(v) for k, v in kept.items()}, "outcomes": dict(reasons.most_common())}
        (work / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        if a.out.exists():
            shutil.rmtree(a.out)
        work.rename(a.out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    print(f"{summary['hands']} hands labelled in {a.out}; outcomes {summary['outcomes']}")


if __name__ == "__main__":
    raise SystemExit(main())
