"""Choose how often the gesture classifier sees our model's poses of rendered frames.

    python scripts/choose_gesture_repeat.py --train-cache runs/gest/r500.npz --val-cache runs/gest/r501.npz \\
        --repeats 0 20 60

For each repeat R: a classifier trained as ``scripts/train_gesture_classifier.py --render-frames
--render-repeat R`` does (the labelled poses plus our model's poses of ``--train-frames`` rendered
template frames of ``--train-seed``, R times), scored on our model's poses of ``--val-frames``
frames of another seed (the whole chain on frames no choice has seen, without running the pipeline
again) and on held-out poses. Prints one line per repeat. The caches are collected when missing
(``handpose.gesture.renders.model_poses_of_renders``, about 1 s of CPU per frame).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-cache", type=Path, required=True)
    p.add_argument("--train-frames", type=int, default=400)
    p.add_argument("--train-seed", type=int, default=500)
    p.add_argument("--val-cache", type=Path, required=True)
    p.add_argument("--val-frames", type=int, default=200)
    p.add_argument("--val-seed", type=int, default=501)
    p.add_argument("--repeats", type=int, nargs="+", default=[0, 20, 60])
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)

    import torch

    from handpose.gesture.features import pose_features
    from handpose.gesture.renders import model_poses_of_renders
    from handpose.gesture.samples import GestureSamples, sample_gestures
    from handpose.gesture.train import GestureTrainConfig, score_on_samples, train_gesture_mlp

    torch.set_num_threads(a.threads)
    rendered = model_poses_of_renders(a.train_frames, a.train_seed, a.train_cache, a.threads)
    val = model_poses_of_renders(a.val_frames, a.val_seed, a.val_cache, a.threads)
    poses, held_out = sample_gestures(200_000, 1), sample_gestures(20_000, 2)
    for repeat in a.repeats:
        mlp = train_gesture_mlp(GestureSamples.concat([poses] + [rendered] * repeat), GestureTrainConfig())
        r = score_on_samples(mlp, pose_features(val.joints_norm), val)
        h = score_on_samples(mlp, pose_features(held_out.joints_norm), held_out)
        print(f"repeat {repeat}: rendered frames (seed {a.val_seed}, {r['gesture'].total} hands) gesture "
              f"{r['gesture'].accuracy:.3f}, finger count {r['finger_count'].accuracy:.3f}; held-out poses gesture "
              f"{h['gesture'].accuracy:.3f}, finger count {h['finger_count'].accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
