"""Choose how much the gesture classifier learns from real labelled photos (finger counts).

    python scripts/choose_gesture_photos.py --poses runs/gest/train_poses.pkl --weights 0 0.3 1 3

``--poses``: the poses ``scripts/eval_gestures.py --webcam-split train --poses FILE`` keeps (the
webcam training sessions, the sign digits' training photos and the phone photos: none of the
reported photos). Their groups (webcam sessions, sign-digit photo series, phone photos sent or
taken together) are split in two: every fourth group of each set in name order is the selection
part, the rest trains (``--train-sets``: only the groups of these sets). For each weight, a classifier
trained as ``scripts/train_gesture_classifier.py --photo-weight W`` does (on fewer poses and
epochs) is scored on the selection part, set by set, our poses and MediaPipe's landmarks apart,
and on held-out rendered poses.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--poses", type=Path, required=True)
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 1.0, 3.0])
    p.add_argument("--count", type=int, default=80_000, help="labelled rendered poses")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--train-sets", nargs="+", default=None, metavar="SET",
                   help="train on the photos of these group sets only (webcam, sign_digits, gestures_phone; "
                        "default: all); the selection part stays the same")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)

    import torch

    from handpose.gesture.features import pose_features
    from handpose.gesture.photo_poses import from_pose_rows
    from handpose.gesture.samples import sample_gestures
    from handpose.gesture.train import GestureTrainConfig, score_on_samples, train_gesture_mlp

    torch.set_num_threads(a.threads)
    rows = pickle.loads(a.poses.read_bytes())
    photos = from_pose_rows(rows)
    group_set = np.char.partition(photos.group.astype(str), ":")[:, 0]
    chosen_groups = [g for name in sorted(set(group_set)) for g in sorted(set(photos.group[group_set == name]))[1::4]]
    selection = np.isin(photos.group, chosen_groups)
    if a.train_sets is not None:
        selection |= ~np.isin(group_set, a.train_sets)
    fit = photos.select(~selection)
    print(f"{len(fit)} photo poses train, {int(np.isin(photos.group, chosen_groups).sum())} select "
          f"({', '.join(chosen_groups)})", flush=True)
    scored = {}
    for source in ("ours", "mp"):
        one = from_pose_rows(rows, (source,))
        for name in sorted({g.split(":")[0] for g in chosen_groups}):
            scored[f"{name} {source}"] = one.select(np.isin(one.group, [g for g in chosen_groups
                                                                        if g.startswith(name + ":")]))
        scored[f"webcam+sign_digits {source}"] = one.select(np.isin(one.group, [
            g for g in chosen_groups if g.startswith(("webcam:", "sign_digits:"))]))
    poses, held_out = sample_gestures(a.count, 1), sample_gestures(20_000, 2)
    for weight in a.weights:
        mlp = train_gesture_mlp(poses, GestureTrainConfig(epochs=a.epochs, photo_weight=weight), log=False,
                                photos=fit if weight > 0 else None)
        cells = []
        for name, chosen in scored.items():
            out = mlp.logits(pose_features(chosen.joints_norm))
            counts = (out[:, len(mlp.labels):] >= 0).sum(axis=1)
            named = chosen.gesture >= 0
            gesture = out[named, :len(mlp.labels)].argmax(axis=1)
            cells.append(f"{name}: fingers {np.mean(counts == chosen.count):.3f}"
                         + (f", gesture {np.mean(gesture == chosen.gesture[named]):.3f}" if named.any() else "")
                         + f" ({len(chosen)})")
        h = score_on_samples(mlp, pose_features(held_out.joints_norm), held_out)
        print(f"weight {weight}: selection photos {'; '.join(cells)}; held-out poses gesture "
              f"{h['gesture'].accuracy:.3f}, fingers {h['finger_count'].accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
