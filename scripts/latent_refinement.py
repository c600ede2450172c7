"""Would fitting the aligned latent code to our own 2D keypoints at test time fix the 3D fingers?

    python scripts/latent_refinement.py --prior 0.0001 --steps 100

On the teacher-labelled real validation split (``shards:data/real/val``: sign digits 430, webcam
172, ASL video 81 hands, in that order), per crop: the aligned latent ``z0`` is moved by ``d``
(Adam, lr 0.05) to lower the image-plane bone error of the decoded pose against the model's OWN 2D
keypoints (``handpose.train.losses.image_plane_bone_error``) plus ``prior * |d / sd|^2`` (sd: the
aligned posterior's standard deviation). Before / after: the 3D pose seen in the image against the
teacher's 2D (``handpose.eval.real_eval.pose_in_image``, over the box side), PA-MPJPE against the
teacher's world landmarks, and how often the committed gesture classifier counts as many fingers
on our pose (its view frame taken as the image's) as on the teacher's world landmarks.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from handpose import skeleton
from handpose.data.batch import collate
from handpose.data.datasets import open_dataset
from handpose.data.real.pseudo_label import hand_side_px
from handpose.eval.metrics import procrustes_align
from handpose.eval.real_eval import pose_in_image
from handpose.gesture.classifier import GestureClassifier
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model
from handpose.train.losses import image_plane_bone_error

SETS = (("sign_digits", 0, 430), ("webcam_hands", 430, 602), ("asl_video", 602, 683), ("all", 0, 683))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prior", type=float, default=1e-4)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    p.add_argument("--data", default="shards:data/real/val")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(a.checkpoint).eval()
    model.requires_grad_(False)
    dataset, classifier, rows = open_dataset(a.data, "test"), GestureClassifier(), []
    for start in range(0, len(dataset), 64):
        samples = [s for s in (dataset[i] for i in range(start, min(start + 64, len(dataset)))) if s.present]
        with torch.no_grad():
            enc = model.image_vae.encoder(collate(samples).images)
            aligned = model.alignment(enc.posterior.mu, enc.posterior)
        sd, shift = torch.exp(0.5 * aligned.logvar), torch.zeros_like(aligned.mu, requires_grad=True)
        optimiser = torch.optim.Adam([shift], lr=0.05)
        for _ in range(a.steps):
            optimiser.zero_grad()
            pose = model.pose_vae.decoder(aligned.mu + shift)
            (image_plane_bone_error(pose, enc.keypoints_crop_px).sum() + a.prior * ((shift / sd) ** 2).sum()).backward()
            optimiser.step()
        with torch.no_grad():
            poses = {"before": model.pose_vae.decoder(aligned.mu).double().numpy(),
                     "after": model.pose_vae.decoder(aligned.mu + shift).double().numpy()}
        for i, s in enumerate(samples):
            teacher_2d = np.asarray(s.keypoints_crop_px, np.float64)
            row: dict[str, float] = {}
            for when, pose in ((k, v[i]) for k, v in poses.items()):
                seen = pose_in_image(pose[None], teacher_2d[None])[0]
                row[f"{when}_img"] = float(np.linalg.norm(seen - teacher_2d, axis=-1).mean() / hand_side_px(teacher_2d))
                row[f"{when}_count"] = classifier(pose)[0].finger_count
                if s.world_mm is not None:
                    world = skeleton.mirror(s.world_mm) if s.is_left else np.asarray(s.world_mm, np.float64)
                    scaled = pose[None] * float(skeleton.bone_length(world))
                    row[f"{when}_pa"] = float(np.linalg.norm(procrustes_align(scaled, world[None])[0] - world,
                                                             axis=-1).mean())
                    row["teacher_count"] = classifier(world)[0].finger_count
            rows.append(row)
    for name, first, end in SETS:
        part = rows[first:end]
        with_3d = [r for r in part if "teacher_count" in r]
        cells = [f"{np.mean([r['before_' + k] for r in part if 'before_' + k in r]):.4f} -> "
                 f"{np.mean([r['after_' + k] for r in part if 'after_' + k in r]):.4f}" for k in ("img", "pa")]
        same = [f"{np.mean([r[w + '_count'] == r['teacher_count'] for r in with_3d]):.3f}" for w in ("before", "after")]
        print(f"prior {a.prior} steps {a.steps} {name:<13} 3D in image {cells[0]}  PA-MPJPE {cells[1]} mm  "
              f"count as the teacher's {same[0]} -> {same[1]}", flush=True)


if __name__ == "__main__":
    main()
