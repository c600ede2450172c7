"""Train the gesture classifier on labelled renderer poses and record it in the MANIFEST.json next to it.

    python scripts/train_gesture_classifier.py --out models/gesture_classifier.npz

Trains on ``--count`` poses of ``--seed`` (``handpose.gesture.samples``) and, with
``--render-frames N``, on the poses our model sees in N rendered frames of the gesture templates
(``handpose.gesture.renders.pipeline_samples``, seed ``--render-seed``; each repeated
``--render-repeat`` times), so that the classifier learns the pose model's habits, and with ``--photos FILE --photo-weight W`` on
the real labelled photos' poses kept by ``scripts/eval_gestures.py --webcam-split train --poses
FILE`` (our model's and MediaPipe's, finger counts only: ``handpose.gesture.photo_poses``); scores the result on
``--val-count`` held-out poses of another seed (clean, and with the training noise), prints the
confusion matrices and writes the weights and their manifest entry (sha256, how trained, these
numbers) in the ``MANIFEST.json`` of ``--out``'s folder (``models/MANIFEST.json`` for the committed
file; a trial written elsewhere never touches it). The real-photo numbers come from scripts/eval_gestures.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="the .npz to write")
    p.add_argument("--count", type=int, default=200_000, help="training poses")
    p.add_argument("--seed", type=int, default=1, help="seed of the training poses")
    p.add_argument("--val-count", type=int, default=20_000, help="held-out poses")
    p.add_argument("--val-seed", type=int, default=2)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--render-frames", type=int, default=0, help="rendered frames through the pipeline (0: none)")
    p.add_argument("--render-seed", type=int, default=500)
    p.add_argument("--render-repeat", type=int, default=20)
    p.add_argument("--render-cache", type=Path, default=None,
                   help="a .npz of those poses: read when it exists (instead of rendering), else written")
    p.add_argument("--photos", type=Path, default=None,
                   help="poses of labelled training photos (scripts/eval_gestures.py --webcam-split train --poses)")
    p.add_argument("--photo-weight", type=float, default=0.0, help="weight of the photos' terms (0: none)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-manifest", action="store_true", help="do not record the file in the MANIFEST.json next to it")
    a = p.parse_args(argv)

    import pickle

    import torch

    from handpose.errors import HandposeError
    from handpose.gesture.features import pose_features
    from handpose.gesture.photo_poses import from_pose_rows
    from handpose.gesture.renders import model_poses_of_renders
    from handpose.gesture.samples import GestureSamples, sample_gestures
    from handpose.gesture.train import GestureTrainConfig, noisy_features, score_on_samples, train_gesture_mlp
    from handpose.io.atomic import check_writable_file
    from handpose.model.manifest import record

    torch.set_num_threads(a.threads)
    try:
        check_writable_file(a.out)
        config = GestureTrainConfig(epochs=a.epochs, photo_weight=a.photo_weight)
        photos = None
        if a.photo_weight > 0:
            if a.photos is None or not a.photos.is_file():
                sys.exit(f"error: --photo-weight needs --photos FILE (got {a.photos})")
            photos = from_pose_rows(pickle.loads(a.photos.read_bytes()))
        train = sample_gestures(a.count, a.seed)
        if a.render_frames:
            rendered = model_poses_of_renders(a.render_frames, a.render_seed, a.render_cache, a.threads)
            train = GestureSamples.concat([train] + [rendered] * a.render_repeat)
        held_out = sample_gestures(a.val_count, a.val_seed)
        mlp = train_gesture_mlp(train, config, photos=photos)
    except HandposeError as exc:
        sys.exit(f"error: {exc}")
    scores = {}
    for name, features in (("clean", pose_features(held_out.joints_norm)),
                           ("noisy", noisy_features(held_out.joints_norm, np.random.default_rng(a.val_seed), config.noise,
                                                    config.stretch))):
        result = score_on_samples(mlp, features, held_out)
        for kind, confusion in result.items():
            print(f"held-out poses, {name}, {kind}: accuracy {confusion.accuracy:.4f} of {confusion.total}")
            print(confusion.table())
        scores[name] = {kind: round(c.accuracy, 4) for kind, c in result.items()}
    mlp.save(a.out)
    if not a.no_manifest:
        command = "python scripts/train_gesture_classifier.py " + " ".join(argv if argv is not None else sys.argv[1:])
        record(a.out, {
            "kind": "gesture classifier (handpose.gesture.classifier), run on the pose model's output",
            "training": {
                "command": command,
                "data": f"{a.count} labelled poses of seed {a.seed} from the renderer's pose distribution "
                        "(handpose.gesture.samples), labels from the rules of handpose.gesture.vocabulary"
                        + (f"; the default model's poses of {a.render_frames} rendered template frames of seed "
                           f"{a.render_seed} (handpose.gesture.renders), x{a.render_repeat}" if a.render_frames
                           else "")
                        + (f"; {len(photos)} poses (ours and MediaPipe's) of labelled training photos (webcam "
                           f"training sessions, sign digits below IMG_5554), finger counts only, weight "
                           f"{a.photo_weight}" if photos is not None else "; no photos"),
                "licence": "the rig (MIT, @webxr-input-profiles/assets 1.0.20)"
                           + ("; the photos: webcam_hands and sign_digits, Apache-2.0 (their SOURCE.md)" if photos is not None
                              else "") + "; trained here",
                "config": {k: v for k, v in vars(config).items()},
            },
            "eval_held_out_poses": {"count": a.val_count, "seed": a.val_seed, **scores},
        })
    print(f"wrote {a.out} ({a.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
