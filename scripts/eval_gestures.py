"""Measure the gesture classifier on labelled real photos, through our model and through MediaPipe.

    python scripts/eval_gestures.py --root /work/shared/data --renders 150 --json docs/gestures.json

For each photo the pipeline (image mode, no smoothing) finds the hands and our model gives
``HandPose.joints_norm``; MediaPipe's own world landmarks of the same hand (matched by position)
go through the same classifier (``handpose.gesture.features``). Sets (``--root`` holds
``real_hands/`` and ``real_hand_photos/``, as for ``handpose.data.real.sets``):

* ``webcam_hands``: validation session ``996_`` only (held out from the pose model's training);
  label ``n-hand`` = n extended fingers, the hand given by ``box_xyxy``; gestures read as 0 ->
  closed_fist, 1 -> pointing_up, 2 -> victory, 4 -> none, 5 -> open_palm (3 is unnamed: some
  show it as OK, middle, ring and pinky up);
* ``sign_digits``: validation photos (IMG_5554 and up) of digits 0-5 = extended fingers (tight
  crops, padded as the teacher pads them);
* ``gesture_testdata``: MediaPipe's gesture test photos (four, none, call, rock): NOT held out
  (the pose model trained on them and the renderer cuts backgrounds from them);
* ``asl_letters``: the ASL letter photos of the handshapes whose finger count is plain
  (``ASL_LETTERS``; the moving J and Z, and A, C, G, K, P, Q, X left out), given back their 3:4
  aspect (``handpose.data.real.sets.restore_aspect``, docs/real_hands.md section 13): many fingers
  held together (B, U, W, H, R). NOT held out: the pose model trained on their 2D keypoints as
  stored (squashed to squares) and on the 3D of those numbered below 20;
  ``asl_letters_check``: the photos numbered 20 and up, never trained in 3D.

* ``renders`` (``--renders N``): held-out rendered frames of the gesture templates
  (``handpose.gesture.renders``, seed ``--render-seed``; the classifier never sees an image), true
  labels from the vocabulary's rules; ``renders_clear``: those of them whose every finger lies at
  least ``CLEAR_MARGIN_DEG`` past its label's threshold (the rules label a finger 1 degree past it).

A hand MediaPipe does not find counts as missed (reported apart; accuracies are over found hands).
Prints the confusion matrices and a table, writes everything to ``--json``. Designs are chosen with
``--webcam-split train`` (the webcam training sessions and the sign digits' training photos, never
the reported ones); ``--poses`` keeps
the poses found so that other classifiers can be scored on them without running the models again.

    python scripts/eval_gestures.py --root /work/shared/data --webcam-split train --poses /tmp/train_poses.pkl
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

WEBCAM_GESTURES = {0: "closed_fist", 1: "pointing_up", 2: "victory", 3: "", 4: "none", 5: "open_palm"}
#: a rendered frame is also scored in the set "renders_clear" when every finger's flexion lies at least
#: this far past the threshold of its label (``vocabulary.finger_margins_deg``)
CLEAR_MARGIN_DEG = 10.0
TESTDATA_GESTURES = {"four": "none", "none": "none", "call": "call", "rock": "rock"}
TESTDATA_FINGERS = {"four": 4, "call": 2, "rock": 2}
#: ASL letter -> (extended fingers, gesture by the vocabulary's rules, "" where the handshape's name
#: would hang on the rules' edges: D, E, H, M, N, O, R, T)
ASL_LETTERS = {"B": (4, "none"), "D": (1, ""), "E": (0, ""), "F": (3, "ok"), "H": (2, ""), "I": (1, "none"),
               "L": (2, "none"), "M": (0, ""), "N": (0, ""), "O": (0, ""), "R": (2, ""), "S": (0, "closed_fist"),
               "T": (0, ""), "U": (2, "victory"), "V": (2, "victory"), "W": (3, "none"), "Y": (2, "call")}


def webcam_items(root: Path, split: str = "val") -> Iterator[tuple[str, Path, np.ndarray | None, int, str]]:
    """(set, image, label box xyxy, fingers, gesture) of the webcam validation session (or, with
    ``split="train"``, of the training sessions)."""
    from handpose.data.real.sets import WEBCAM_VAL_SESSIONS

    folder = root / "real_hands" / "webcam_hands"
    for line in (folder / "labels.jsonl").read_text().splitlines():
        doc = json.loads(line)
        session = re.sub(r"pic\d+.*", "", Path(doc["file"]).name)
        if (session in WEBCAM_VAL_SESSIONS) == (split == "val"):
            n = int(doc["label"].split("-")[0])
            yield "webcam_hands", folder / doc["file"], np.array(doc["box_xyxy"], np.float64), n, WEBCAM_GESTURES[n]


def sign_digit_items(root: Path, split: str = "val") -> Iterator[tuple[str, Path, np.ndarray | None, int, str]]:
    """Validation photos of digits 0-5 (or, with ``split="train"``, the training photos; no gesture
    label: '')."""
    from handpose.data.real.sets import SIGN_DIGITS_VAL_FROM
    from handpose.io.images import list_images

    for digit in range(6):
        for path in list_images(root / "real_hands" / "sign_digits" / str(digit)):
            if (int(re.findall(r"\d+", path.stem)[0]) >= SIGN_DIGITS_VAL_FROM) == (split == "val"):
                yield "sign_digits", path, None, digit, ""


def testdata_items(root: Path) -> Iterator[tuple[str, Path, np.ndarray | None, int, str]]:
    from handpose.io.images import list_images

    for name, gesture in TESTDATA_GESTURES.items():
        for path in list_images(root / "real_hand_photos" / "mediapipe_gesture_testdata" / name):
            yield "gesture_testdata", path, None, TESTDATA_FINGERS.get(name, -1), gesture


def asl_letter_items(root: Path) -> Iterator[tuple[str, Path, np.ndarray | None, int, str]]:
    """The ASL letter photos of ``ASL_LETTERS`` (the letter starts the file name; the largest hand
    is the one meant)."""
    from handpose.data.real.sets import asl_photo_name
    from handpose.io.images import list_images

    for path in list_images(root / "real_hands" / "stretched" / "asl_letters" / "images"):
        letter = asl_photo_name(path.name)[0]
        if letter in ASL_LETTERS:
            fingers, gesture = ASL_LETTERS[letter]
            yield "asl_letters", path, None, fingers, gesture


def _centre(keypoints_px: np.ndarray) -> np.ndarray:
    return 0.5 * (keypoints_px.min(axis=0) + keypoints_px.max(axis=0))


def _pick(points: list[np.ndarray], box: np.ndarray | None) -> int | None:
    """The hand (by its (21, 2) keypoints) that the label means: nearest the box centre and inside
    the box; without a box, the largest hand."""
    if not points:
        return None
    if box is None:
        return int(np.argmax([np.ptp(p, axis=0).max() for p in points]))
    centre = 0.5 * (box[:2] + box[2:])
    dist = [np.linalg.norm(_centre(p) - centre) for p in points]
    best = int(np.argmin(dist))
    c = _centre(points[best])
    return best if box[0] <= c[0] <= box[2] and box[1] <= c[1] <= box[3] else None


def collect(root: Path, items: list[tuple[str, Path, np.ndarray | None, int, str]], checkpoint: Path | None,
            threads: int) -> list[dict[str, object]]:
    """Per image: its labels and, when MediaPipe finds the labelled hand, our ``joints_norm`` (21, 3)
    and MediaPipe's world landmarks (21, 3) mm with the side the hand looks."""
    from handpose.data.real.pseudo_label import Teacher
    from handpose.data.real.sets import STRETCHED_ASPECT, restore_aspect
    from handpose.detect.detector import HandDetector, appears_left
    from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
    from handpose.io.images import read_rgb

    rows: list[dict[str, object]] = []
    with HandPosePipeline(PipelineConfig(checkpoint=checkpoint, detector_mode="image", smoothing=False,
                                         threads=threads, gesture_classifier=None)) as pipeline, \
            HandDetector(num_hands=2, mode="image") as detector:
        teacher = Teacher(detector)
        for set_name, path, box, fingers, gesture in items:
            rgb = read_rgb(path)
            if set_name == "asl_letters":
                rgb = restore_aspect(rgb, STRETCHED_ASPECT)
            rgb = teacher.prepare(rgb, tight=set_name == "sign_digits")
            ours = list(pipeline(rgb))
            theirs = [b for b in detector.detect(rgb) if b.world_mm is not None]
            row: dict[str, object] = {"set": set_name, "file": path.relative_to(root).as_posix(), "fingers": fingers,
                                      "gesture": gesture, "found": False}
            k = _pick([b.keypoints_px for b in theirs], box)
            if k is not None and ours:
                mp_box = theirs[k]
                j = int(np.argmin([np.linalg.norm(_centre(h.keypoints_px) - _centre(mp_box.keypoints_px))
                                   for h in ours]))
                row.update(found=True, ours_pose=ours[j].joints_norm, mp_pose=mp_box.world_mm,
                           mp_left=appears_left(mp_box.handedness, False))
            rows.append(row)
    return rows


def collect_renders(count: int, seed: int, checkpoint: Path | None, threads: int) -> list[dict[str, object]]:
    """``count`` rendered frames of the gesture templates in turn (``handpose.gesture.renders``, seed
    ``seed``), the same per image as :func:`collect`."""
    from handpose.data.synth.frames import FrameRenderer
    from handpose.detect.detector import HandDetector, appears_left
    from handpose.gesture.renders import gesture_frame
    from handpose.gesture.vocabulary import TEMPLATES, finger_margins_deg
    from handpose.infer.pipeline import HandPosePipeline, PipelineConfig

    renderer, rng, names = FrameRenderer(640, 480), np.random.default_rng(seed), list(TEMPLATES)
    rows: list[dict[str, object]] = []
    with HandPosePipeline(PipelineConfig(checkpoint=checkpoint, detector_mode="image", smoothing=False,
                                         threads=threads, gesture_classifier=None)) as pipeline, \
            HandDetector(num_hands=1, mode="image") as detector:
        for i in range(count):
            item = gesture_frame(renderer, names[i % len(names)], rng)
            ours = list(pipeline(item.frame.rgb))
            theirs = [b for b in detector.detect(item.frame.rgb) if b.world_mm is not None]
            margin = float(finger_margins_deg(item.frame.hands[0].spec.articulation).min())
            row: dict[str, object] = {"set": "renders", "file": f"{names[i % len(names)]} #{i}",
                                      "fingers": item.finger_count, "gesture": item.gesture, "found": False,
                                      "margin_deg": margin}
            if ours and theirs:
                row.update(found=True, ours_pose=ours[0].joints_norm, mp_pose=theirs[0].world_mm,
                           mp_left=appears_left(theirs[0].handedness, False))
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, required=True, help="folder with real_hands/ and real_hand_photos/")
    p.add_argument("--json", type=Path, default=None, help="results file to write")
    p.add_argument("--classifier", type=Path, default=None, help="gesture weights (default: the committed ones)")
    p.add_argument("--checkpoint", type=Path, default=None, help="pose model (default: the committed one)")
    p.add_argument("--webcam-split", choices=("val", "train"), default="val",
                   help="'train': the webcam training sessions and the sign digits' training photos instead (for "
                        "choosing designs and training on photos; nothing else is read)")
    p.add_argument("--poses", type=Path, default=None,
                   help="a .pkl cache of the poses found: read when it exists, else written (the pipeline runs once)")
    p.add_argument("--renders", type=int, default=0, help="also this many held-out rendered gesture frames")
    p.add_argument("--render-seed", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)

    from handpose.data.real.sets import ASL_3D_CHECK_FROM, asl_photo_name
    from handpose.errors import HandposeError
    from handpose.gesture.classifier import GestureClassifier
    from handpose.gesture.metrics import Confusion
    from handpose.gesture.vocabulary import GESTURES

    if not (a.root / "real_hands").is_dir():
        sys.exit(f"error: {a.root}: a folder with real_hands/ and real_hand_photos/ expected")
    try:
        classifier = GestureClassifier(a.classifier)
        if a.poses is not None and a.poses.is_file():
            rows = pickle.loads(a.poses.read_bytes())
        else:
            items = [*webcam_items(a.root, a.webcam_split), *sign_digit_items(a.root, a.webcam_split)]
            if a.webcam_split == "val":
                items += [*testdata_items(a.root), *asl_letter_items(a.root)]
            rows = collect(a.root, items, a.checkpoint, a.threads)
            if a.renders:
                rows += collect_renders(a.renders, a.render_seed, a.checkpoint, a.threads)
            if a.poses is not None:
                a.poses.write_bytes(pickle.dumps(rows))
    except HandposeError as exc:
        sys.exit(f"error: {exc}")
    by_set: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        if row["found"]:
            for who, pose, left in (("ours", row["ours_pose"], False), ("mp", row["mp_pose"], row["mp_left"])):
                (result,) = classifier(pose, is_left=left)
                row[f"{who}_gesture"], row[f"{who}_fingers"] = result.gesture, result.finger_count
        kept = {k: v for k, v in row.items() if k not in ("set", "ours_pose", "mp_pose", "mp_left")}
        by_set.setdefault(str(row["set"]), []).append(kept)
        if float(row.get("margin_deg", -1.0)) >= CLEAR_MARGIN_DEG:
            by_set.setdefault("renders_clear", []).append(kept)
        if row["set"] == "asl_letters" and asl_photo_name(str(row["file"]))[1] >= ASL_3D_CHECK_FROM:
            by_set.setdefault("asl_letters_check", []).append(kept)

    report: dict[str, object] = {"classifier": str(classifier.path), "webcam_split": a.webcam_split, "sets": {}}
    summary = []
    for set_name, items in by_set.items():
        found = [r for r in items if r["found"]]
        held_out = set_name.startswith("renders") or (set_name not in ("gesture_testdata", "asl_letters",
                                                                       "asl_letters_check")
                                                       and a.webcam_split == "val")
        entry: dict[str, object] = {"images": len(items), "found": len(found), "held_out": held_out}
        cells = []
        for kind, labels in (("fingers", [str(c) for c in range(6)]), ("gesture", list(GESTURES))):
            scored = [r for r in found if r[kind] not in ("", -1)]
            for who in ("ours", "mp"):
                confusion = Confusion.of([str(r[kind]) for r in scored], [str(r[f"{who}_{kind}"]) for r in scored],
                                         labels)
                entry[f"{kind}_{who}"] = confusion.to_json()
                cells.append(f"{confusion.accuracy:.3f} ({confusion.total})" if scored else "-")
                if scored:
                    print(f"{set_name}, {kind}, {'ours' if who == 'ours' else 'MediaPipe'} "
                          f"(rows true, columns predicted):\n{confusion.table()}\n")
        report["sets"][set_name] = entry  # type: ignore[index]
        summary.append(f"{set_name:<18}{len(items):>7}{len(found):>7}" + "".join(f"{c:>15}" for c in cells))
    print(f"{'set':<18}{'images':>7}{'found':>7}{'fingers ours':>15}{'fingers MP':>15}{'gesture ours':>15}"
          f"{'gesture MP':>15}")
    print("\n".join(summary))
    report["per_image"] = by_set
    if a.json is not None:
        from handpose.io.atomic import write_text_atomic

        write_text_atomic(a.json, json.dumps(report, indent=1) + "\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
