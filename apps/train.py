"""Train the cross-modal variational alignment model.

    python -m apps.train --data shards:data/synth_train --eval-data shards:data/synth_test --out runs/default
    python -m apps.train --data shards:data/synth_mix shards:data/real/train --data-weights 0.5 0.5 \
        --convention mediapipe --real-eval-data shards:data/real/val ...   # renders + teacher-labelled photos
    python -m apps.train ... --resume                      # continue an interrupted run
    torchrun --nproc_per_node=2 -m apps.train ...          # DistributedDataParallel (gloo on CPU)

Writes ``OUT/train_state.pt`` (resume point), ``OUT/log.jsonl`` and, at the end, ``OUT/model.pt``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

from handpose.model.config import ModelConfig
from handpose.data.augment import AugmentConfig
from handpose.data.convention import DEFAULT_OFFSETS_FILE, KeypointOffsets, MediaPipePoints
from handpose.data.mixture import Mixture
from handpose.data.datasets import open_dataset
from handpose.model import build_model
from handpose.model.checkpoint import warm_start
from handpose.train.losses import LossWeights
from handpose.eval.evaluate import evaluate
from handpose.eval.real_eval import evaluate_real
from handpose.train.trainer import TrainConfig, Trainer, init_distributed
from handpose.errors import HandposeError
from handpose.io.atomic import check_writable_folder

#: --init-part names -> weight-name prefixes
INIT_PARTS = {"all": "", "pose_vae": "pose_vae.", "backbone": "image_vae.encoder.backbone.",
              "image_decoder": "image_vae.decoder.", "alignment": "alignment."}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["synthetic:0"],
                   help="image data specs (handpose.data.datasets); several are mixed by --data-weights")
    p.add_argument("--data-weights", type=float, nargs="+", default=None,
                   help="share of each --data in the batches (default: in proportion to their sizes)")
    p.add_argument("--convention", choices=["rig", "mediapipe"], default="rig",
                   help="what the exact labels mark: the rig's joint centres, or moved onto MediaPipe's "
                        "points by --offsets (handpose.data.convention), as teacher labels are")
    p.add_argument("--offsets", type=Path, default=DEFAULT_OFFSETS_FILE, help="keypoint offsets JSON")
    p.add_argument("--real-eval-data", default=None,
                   help="teacher-labelled real photos evaluated every --eval-every steps (handpose.eval.real_eval)")
    p.add_argument("--pose-data", default="poses:0", help="pose data spec for the pose-VAE stage")
    p.add_argument("--eval-data", default=None, help="data spec evaluated every --eval-every steps")
    p.add_argument("--eval-count", type=int, default=512, help="samples of --eval-data used per evaluation")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true", help="continue from OUT/train_state.pt")
    p.add_argument("--init-from", type=Path, default=None,
                   help="start from the weights of this checkpoint/training state (see --init-part)")
    p.add_argument("--init-part", nargs="+", choices=sorted(INIT_PARTS), default=["pose_vae"],
                   help="which weights --init-from gives: pose_vae (then e.g. --pose-steps 0), backbone, "
                        "image_decoder, alignment, or all (fine-tuning)")
    m = p.add_argument_group("model")
    m.add_argument("--backbone", choices=["mobilenet", "resnet18"], default="mobilenet")
    m.add_argument("--input-size", type=int, choices=[128, 256], default=128)
    m.add_argument("--latent", type=int, default=32)
    m.add_argument("--alignment", choices=["translator", "direct"], default="translator")
    m.add_argument("--keypoint-decode", choices=["global", "local"], default="global",
                   help="2D keypoints from the whole heatmap or the window around its peak")
    m.add_argument("--keypoint-stride", type=int, choices=[8, 4], default=8,
                   help="cell size (crop px) of the heatmaps the keypoints are read from; 4 adds a "
                        "refinement of the stride-8 ones (a warm start from a stride-8 model begins at its answer)")
    t = p.add_argument_group("training")
    t.add_argument("--schedule", choices=["staged", "joint"], default="staged")
    t.add_argument("--pose-steps", type=int, default=2000)
    t.add_argument("--image-steps", type=int, default=10000)
    t.add_argument("--finetune-steps", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--beta", type=float, default=LossWeights.beta)
    t.add_argument("--align-kl", type=float, default=LossWeights.align_kl)
    t.add_argument("--teacher-3d", type=float, default=LossWeights.teacher_3d,
                   help="weight of the rotation-invariant 3D term against a teacher's shape (real photos)")
    t.add_argument("--image-plane", type=float, default=LossWeights.image_plane,
                   help="weight of the term that turns the 3D pose's bones, seen in the image, onto the "
                        "2D keypoints' bones (teacher-labelled real photos)")
    t.add_argument("--joint-bend", type=float, default=LossWeights.joint_bend,
                   help="weight of the term that bends each thumb and finger joint as the teacher's 3D "
                        "pose bends it (teacher-labelled real photos)")
    t.add_argument("--visibility", type=float, default=LossWeights.visibility, help="weight of the visibility term")
    t.add_argument("--train-only", nargs="+", default=[], metavar="PREFIX",
                   help="train only the parameters whose names start with these (e.g. "
                        "visibility); the rest stays frozen, in eval mode")
    t.add_argument("--recon", choices=["squared", "euclidean"], default=LossWeights.recon,
                   help="pose reconstruction loss: sum of squared errors, or sum of joint distances (as EPE)")
    t.add_argument("--eval-every", type=int, default=1000)
    t.add_argument("--checkpoint-every", type=int, default=250)
    t.add_argument("--workers", type=int, default=0, help="DataLoader processes")
    t.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--augment", action="store_true",
                   help="re-view each image sample when drawn: roll, zoom, shift, colour, noise "
                        "(handpose.data.augment)")
    t.add_argument("--zoom", type=float, nargs=2, default=AugmentConfig.zoom, metavar=("MIN", "MAX"),
                   help="augmentation zoom range (> 1: tighter, the hand cut off at the edges)")
    t.add_argument("--low-res", type=float, default=0.0,
                   help="chance that an augmented crop is shrunk to a 16-48 px hand and enlarged back")
    t.add_argument("--blur", type=float, default=0.0, help="chance that an augmented crop is blurred")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    try:
        check_writable_folder(a.out)  # before any data is opened or any step is taken
        _train(a)
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _train(a: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    init_distributed()
    if a.threads:
        torch.set_num_threads(a.threads)
    model_cfg = ModelConfig(backbone=a.backbone, input_size=a.input_size, latent_dim=a.latent,
                            alignment=a.alignment, keypoint_decode=a.keypoint_decode,
                            keypoint_stride=a.keypoint_stride)
    augment = AugmentConfig(zoom=tuple(a.zoom), low_res_prob=a.low_res, blur_prob=a.blur) if a.augment else None
    cfg = TrainConfig(schedule=a.schedule, pose_steps=a.pose_steps, image_steps=a.image_steps,
                      finetune_steps=a.finetune_steps, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                      eval_every=a.eval_every, checkpoint_every=a.checkpoint_every, num_workers=a.workers,
                      losses=LossWeights(beta=a.beta, align_kl=a.align_kl, recon=a.recon,
                                         teacher_3d=a.teacher_3d, visibility=a.visibility,
                                         image_plane=a.image_plane, joint_bend=a.joint_bend),
                      augment=augment, train_only=tuple(a.train_only))
    torch.manual_seed(a.seed)
    parts = [open_dataset(spec, "train", a.input_size) for spec in a.data]
    offsets = KeypointOffsets.load(a.offsets) if a.convention == "mediapipe" else None
    if offsets is not None:
        parts = [MediaPipePoints(part, offsets) for part in parts]
    if a.data_weights is not None and len(a.data_weights) != len(parts):
        raise SystemExit(f"train: one --data-weights value per --data expected, got {len(a.data_weights)} "
                         f"for {len(parts)}")
    data = parts[0] if len(parts) == 1 else Mixture(parts, a.data_weights or [len(x) for x in parts])
    pose_data = open_dataset(a.pose_data, "train", a.input_size) if a.pose_data else None
    evaluate_fn = None
    if a.eval_data or a.real_eval_data:
        subset, real_subset = [], []
        if a.eval_data:
            eval_set = open_dataset(a.eval_data, "test", a.input_size)
            if offsets is not None:
                eval_set = MediaPipePoints(eval_set, offsets)
            subset = [eval_set[i] for i in range(min(a.eval_count, len(eval_set)))]
        if a.real_eval_data:
            real_set = open_dataset(a.real_eval_data, "test", a.input_size)
            real_subset = [real_set[i] for i in range(len(real_set))]

        def evaluate_fn(model, step):  # type: ignore[no-untyped-def]
            numbers: dict[str, float] = {}
            if subset:
                r = evaluate(model, subset, a.eval_data)
                logging.info("step %d\n%s", step, r.summary())
                numbers.update(eval_epe_aligned=r.aligned.epe_mean_mm, eval_epe_image_vae=r.image_vae.epe_mean_mm,
                               eval_auc20_50=r.aligned.auc_20_50_published, eval_kp2d_px=r.keypoints_2d_px)
            if real_subset:
                real = evaluate_real(model, real_subset, a.real_eval_data)
                logging.info("step %d\n%s", step, real.summary())
                numbers.update(real_kp=real.kp_error_mean, real_spread=real.spread_ratio, real_pa_mm=real.pa_mpjpe_mm,
                               real_pa_image_vae_mm=real.pa_mpjpe_image_vae_mm)
            return numbers

    model = build_model(model_cfg)
    if a.init_from:
        for part in a.init_part:
            names = warm_start(model, a.init_from, prefix=INIT_PARTS[part])
            logging.info("%d weight tensors (%s) from %s", len(names), part, a.init_from)
    trainer = Trainer(model, cfg, data, a.out, pose_data=pose_data, evaluate_fn=evaluate_fn)
    if a.resume and not trainer.resume():
        logging.info("nothing to resume in %s; starting fresh", a.out)
    trainer.run()


if __name__ == "__main__":
    raise SystemExit(main())
