"""Train the cross-modal variational alignment model.

    python -m apps.train --data shards:data/synth_train --eval-data shards:data/synth_test --out runs/default
    python -m apps.train ... --resume                      # continue an interrupted run
    torchrun --nproc_per_node=2 -m apps.train ...          # DistributedDataParallel (gloo on CPU)

Writes ``OUT/train_state.pt`` (resume point), ``OUT/log.jsonl`` and, at the end, ``OUT/model.pt``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from handpose.config import ModelConfig
from handpose.data.augment import AugmentConfig
from handpose.data.sources import open_dataset
from handpose.model import build_model
from handpose.model.checkpoint import warm_start
from handpose.model.losses import LossWeights
from handpose.train.evaluate import evaluate
from handpose.train.trainer import TrainConfig, Trainer, init_distributed

#: --init-part names -> weight-name prefixes
INIT_PARTS = {"all": "", "pose_vae": "pose_vae.", "backbone": "image_vae.encoder.backbone.",
              "image_decoder": "image_vae.decoder.", "alignment": "alignment."}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="synthetic:0", help="image data spec (handpose.data.sources)")
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
    t = p.add_argument_group("training")
    t.add_argument("--schedule", choices=["staged", "joint"], default="staged")
    t.add_argument("--pose-steps", type=int, default=2000)
    t.add_argument("--image-steps", type=int, default=10000)
    t.add_argument("--finetune-steps", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--beta", type=float, default=LossWeights.beta)
    t.add_argument("--align-kl", type=float, default=LossWeights.align_kl)
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
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    init_distributed()
    if a.threads:
        torch.set_num_threads(a.threads)
    model_cfg = ModelConfig(backbone=a.backbone, input_size=a.input_size, latent_dim=a.latent,
                            alignment=a.alignment)
    cfg = TrainConfig(schedule=a.schedule, pose_steps=a.pose_steps, image_steps=a.image_steps,
                      finetune_steps=a.finetune_steps, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                      eval_every=a.eval_every, checkpoint_every=a.checkpoint_every, num_workers=a.workers,
                      losses=LossWeights(beta=a.beta, align_kl=a.align_kl, recon=a.recon),
                      augment=AugmentConfig() if a.augment else None)
    torch.manual_seed(a.seed)
    data = open_dataset(a.data, "train", a.input_size)
    pose_data = open_dataset(a.pose_data, "train", a.input_size) if a.pose_data else None
    evaluate_fn = None
    if a.eval_data:
        eval_set = open_dataset(a.eval_data, "test", a.input_size)
        subset = [eval_set[i] for i in range(min(a.eval_count, len(eval_set)))]

        def evaluate_fn(model, step):  # type: ignore[no-untyped-def]
            r = evaluate(model, subset, a.eval_data)
            logging.info("step %d\n%s", step, r.summary())
            return {"eval_epe_aligned": r.aligned.epe_mean_mm, "eval_epe_image_vae": r.image_vae.epe_mean_mm,
                    "eval_auc20_50": r.aligned.auc_20_50_published, "eval_kp2d_px": r.keypoints_2d_px}

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
    main()
