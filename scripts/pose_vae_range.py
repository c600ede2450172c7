"""Can the pose VAE's decoder give the poses the gesture classifier needs? A check of where finger
counts are lost, on the poses ``scripts/eval_gestures.py --poses FILE`` kept.

For each labelled photo (webcam set, sign digits) it counts fingers, through the same classifier,
from four poses: MediaPipe's world landmarks; those landmarks encoded by the model's pose VAE and
decoded again (posterior mean, turned back onto the landmarks by a similarity fit); our pipeline's
pose; and our pose through the same round trip. If MediaPipe's landmarks survive the round trip
while our poses are wrong, the decoder can express the hand and the image side (the encoder's code)
is what misses it.

    python scripts/pose_vae_range.py --poses runs/gest/val_poses.pkl [--checkpoint F] [--classifier F]
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np
import torch

from handpose import skeleton
from handpose.eval.metrics import procrustes_align
from handpose.gesture.classifier import GestureClassifier
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model
from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--poses", type=Path, required=True, help="rows kept by scripts/eval_gestures.py --poses")
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--classifier", type=Path, default=None, help="gesture weights (default: the committed ones)")
    a = p.parse_args(argv)
    model = load_model(a.checkpoint).eval()
    classify = GestureClassifier(a.classifier)
    rows = [r for r in pickle.loads(a.poses.read_bytes())
            if r["found"] and r["set"] in ("webcam_hands", "sign_digits")]
    if not rows:
        raise SystemExit(f"pose_vae_range: no found webcam or sign-digit hands in {a.poses}")
    theirs = np.stack([skeleton.normalize(np.asarray(r["mp_pose"]), bool(r["mp_left"]))[0] for r in rows])
    ours = np.stack([np.asarray(r["ours_pose"], np.float32) for r in rows])
    labels = np.array([r["fingers"] for r in rows])
    sets = np.array([r["set"] for r in rows])

    def round_trip(poses: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            decoded = model.pose_vae.decoder(model.pose_vae.encode(torch.from_numpy(poses)).mu).numpy()
        return procrustes_align(decoded.astype(np.float64), poses.astype(np.float64))

    print(f"{'pose':<34}" + "".join(f"{name:>16}" for name in np.unique(sets)))
    for name, poses in (("MediaPipe's landmarks", theirs), ("MediaPipe's, pose VAE round trip", round_trip(theirs)),
                        ("ours", ours), ("ours, pose VAE round trip", round_trip(ours))):
        right = np.array([g.finger_count for g in classify(poses)]) == labels
        print(f"{name:<34}" + "".join(f"{right[sets == s].mean():>10.3f} ({(sets == s).sum():>3})"
                                      for s in np.unique(sets)))


if __name__ == "__main__":
    main()
