"""Choose how much the gesture classifier learns from real labelled photos (finger counts).

    python scripts/choose_gesture_photos.py --poses runs/gest/train_poses.pkl --weights 0 0.3 1 3

``--poses``: the poses ``scripts/eval_gestures.py --webcam-split train --poses FILE`` keeps (the
webcam training sessions and the sign digits' training photos: none of the reported photos). Their
groups (webcam sessions, sign-digit photo series) are split in two: every fourth group in name
order is the selection part, the rest trains. For each weight, a classifier trained as
``scripts/train_gesture_classifier.py --photo-weight W`` does (on fewer poses and epochs) is scored
on the selection part, our poses and MediaPipe's landmarks apart, and on held-out rendered poses.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np

from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--poses", type=Path, required=True)
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 1.0, 3.0])
    p.add_argument("--count", type=int, default=80_000, help="labelled rendered poses")
    p.add_argument("--epochs", type=int, default=20)
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
    chosen_groups = sorted(set(photos.group))[1::4]
    selection = np.isin(photos.group, chosen_groups)
    fit = photos.select(~selection)
    print(f"{len(fit)} photo poses train, {int(selection.sum())} select ({', '.join(chosen_groups)})", flush=True)
    per_source = {}
    for source in ("ours", "mp"):
        one = from_pose_rows(rows, (source,))
        per_source[source] = one.select(np.isin(one.group, chosen_groups))
    poses, held_out = sample_gestures(a.count, 1), sample_gestures(20_000, 2)
    for weight in a.weights:
        mlp = train_gesture_mlp(poses, GestureTrainConfig(epochs=a.epochs, photo_weight=weight), log=False,
                                photos=fit if weight > 0 else None)
        cells = []
        for source, chosen in per_source.items():
            out = mlp.logits(pose_features(chosen.joints_norm))
            counts = (out[:, len(mlp.labels):] >= 0).sum(axis=1)
            named = chosen.gesture >= 0
            gesture = out[named, :len(mlp.labels)].argmax(axis=1)
            cells.append(f"{source}: fingers {np.mean(counts == chosen.count):.3f}, gesture "
                         f"{np.mean(gesture == chosen.gesture[named]):.3f} ({len(chosen)})")
        h = score_on_samples(mlp, pose_features(held_out.joints_norm), held_out)
        print(f"weight {weight}: selection photos {'; '.join(cells)}; held-out poses gesture "
              f"{h['gesture'].accuracy:.3f}, fingers {h['finger_count'].accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
