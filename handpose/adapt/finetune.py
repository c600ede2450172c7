"""The fine-tuning recipe of a personal adaptation, run by :class:`handpose.train.trainer.Trainer`.

* **What trains** (:data:`TRAIN_PARTS`): ``"last"`` the backbone's last stages, the
  keypoint head, the image VAE's encoder heads and decoder, the translator and the pose decoder,
  the rest frozen in eval mode; ``"encoder"`` (default) the same but the translator and the
  decoders (the pose prior every user shares stays as trained: the same 2D gain, a third of the
  3D forgetting); ``"all"`` every weight; ``"heads"`` the heads only. Batch-norm
  statistics stay as trained (``frozen_norm``). docs/adaptation.md has what each measured:
  training everything with the statistics moving made the model worse even on the frames it
  trained on.
* **Data**: the user's adaptation frames (a share :attr:`AdaptConfig.user_share` of every batch,
  mildly augmented: small turns and zooms, colour) and replay so that the model does not forget
  other hands, views and light: renders made by the built-in renderer
  (:class:`handpose.data.synth.synthetic.SyntheticHandSource`, labels moved onto MediaPipe's points
  as in the default model's training) and, when given, real photo shards (e.g.
  ``shards:data/real/train``), which share the replay part with the renders.
* **Losses**: the training losses (2D L1 + heatmap cross-entropy against the teacher, every term
  on the renders) with the rotation-invariant 3D term against MediaPipe's world landmarks at 2.0,
  as in the default model's training (``teacher_3d``; the library's 0.3). Against 0.3 it makes the
  user's own 3D better, forgets less 3D on other people's hands and counts more of the user's
  fingers right (docs/adaptation.md). The default model's image-plane bone term (``image_plane``)
  is off: on top of it, it made the ASL clip's own 3D worse. The 2D terms are weighted up
  (``weight_2d``): the 3D reconstruction terms of the renders otherwise dominate the sum, and the 2D
  fit to the user's frames barely moves.
* **Blend**: the result keeps :attr:`AdaptConfig.blend` of the change the steps made
  (:mod:`handpose.adapt.blend`): most of the fit to the user for much less forgetting.
* **Steps**: as many as fit the time budget, from the measured time of a few steps on this
  machine (:func:`plan_steps`); fixed when planned, so a resumed run takes the same steps.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final, Literal

import numpy as np

from handpose.data.augment import AugmentConfig, augment
from handpose.data.batch import collate
from handpose.data.mixture import Mixture
from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.model.hand_model import HandModel
from handpose.train.losses import LossWeights, compute_losses
from handpose.train.trainer import TrainConfig

TrainPart = Literal["heads", "last", "encoder", "all"]

_ENCODER_HEADS: Final = ("image_vae.encoder.keypoints.", "image_vae.encoder.fuse.", "image_vae.encoder.latent.",
                         "image_vae.encoder.presence.")
_HEADS: Final = _ENCODER_HEADS + ("image_vae.decoder.", "alignment.", "pose_vae.decoder.")
_LAST_STAGES: Final = tuple(f"image_vae.encoder.backbone.features.{i}." for i in (12, 13, 14, 15))
#: parameter-name prefixes each choice trains (``()`` = all)
TRAIN_PARTS: Final[dict[str, tuple[str, ...]]] = {
    "heads": _HEADS,
    "last": _HEADS + _LAST_STAGES,
    "encoder": _ENCODER_HEADS + _LAST_STAGES,
    "all": (),
}
Augment = Literal["full", "mild"]
#: how samples are re-viewed when drawn: "full" the default model's recipe (models/MANIFEST.json),
#: "mild" small turns and zooms and the colour changes only (the check frames are cut as the
#: adaptation frames are)
AUGMENTS: Final[dict[str, AugmentConfig]] = {
    "full": AugmentConfig(zoom=(0.8, 1.5), low_res_prob=0.25, blur_prob=0.2),
    "mild": AugmentConfig(max_roll_deg=10.0, zoom=(0.95, 1.05), max_shift=0.02),
}


@dataclass(frozen=True)
class AdaptConfig:
    """Settings of one adaptation (stored in its plan and in the checkpoint's metadata).

    Attributes:
        minutes: fine-tuning time budget on this machine (the labelling and the report come on top):
            the steps are planned to fit it, and training stops when it is spent even if the machine
            got busier than when the steps were planned (per invocation: a resumed run has it again).
        max_steps: most steps, whatever the budget.
        min_steps: fewest steps, whatever the budget.
        batch_size: samples per step.
        lr: peak learning rate (AdamW; warm-up then cosine decay).
        train: which weights train (:data:`TRAIN_PARTS`).
        user_share: share of each batch drawn from the user's frames; the rest is replay.
        renders: renders in the synthetic replay pool (made once, at the start, ~30 ms each).
        check_fraction: the last fraction of each input kept for the check (never trained on).
        augment: how samples are re-viewed when drawn (:data:`AUGMENTS`).
        weight_2d: the 2D terms' weights (L1, heatmap) times this: what the adaptation is for.
        teacher_3d: weight of the rotation-invariant 3D term against the teacher's world landmarks
            (:class:`LossWeights`.teacher_3d).
        image_plane: weight of the 3D pose's bones against the teacher's 2D bones in the image
            (:class:`LossWeights`.image_plane).
        frozen_norm: batch-norm statistics kept as trained (:attr:`TrainConfig.frozen_norm`).
        blend: share of the fine-tuning's change kept in the result (``handpose.adapt.blend``:
            ``base + blend * (tuned - base)``); 1 keeps all of it.
        seed: seed of the batch draws, the augmentation and the renders.
    """

    minutes: float = 6.0
    max_steps: int = 2000
    min_steps: int = 1
    batch_size: int = 32
    lr: float = 3e-4
    train: TrainPart = "encoder"
    user_share: float = 0.7
    renders: int = 512
    check_fraction: float = 0.3
    augment: Augment = "mild"
    weight_2d: float = 5.0
    teacher_3d: float = 2.0
    image_plane: float = 0.0
    frozen_norm: bool = True
    blend: float = 0.7
    seed: int = 0

    def __post_init__(self) -> None:
        if self.train not in TRAIN_PARTS or self.augment not in AUGMENTS:
            raise InputError(f"train in {sorted(TRAIN_PARTS)} and augment in {sorted(AUGMENTS)} expected, got "
                             f"{self.train!r} and {self.augment!r}")
        if not (self.minutes > 0 and 1 <= self.min_steps <= self.max_steps and self.batch_size >= 2
                and self.lr > 0 and 0.0 < self.user_share < 1.0 and self.renders >= 1 and self.weight_2d > 0
                and self.teacher_3d >= 0 and self.image_plane >= 0 and 0.0 < self.blend <= 1.0):
            raise InputError(f"minutes > 0, 1 <= min_steps <= max_steps, batch_size >= 2, lr > 0, user_share in "
                             f"(0, 1), renders >= 1, weights >= 0 and blend in (0, 1] expected, got {self}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def train_config(config: AdaptConfig, steps: int) -> TrainConfig:
    """The trainer's settings for ``steps`` steps of the recipe (one joint stage)."""
    base = LossWeights()
    return TrainConfig(schedule="joint", image_steps=steps, batch_size=config.batch_size, lr=config.lr,
                       checkpoint_every=50, eval_every=0, seed=config.seed,
                       losses=LossWeights(recon="euclidean", beta_warmup_steps=0, visibility=1.0,
                                          keypoints_2d=base.keypoints_2d * config.weight_2d,
                                          heatmap=base.heatmap * config.weight_2d,
                                          teacher_3d=config.teacher_3d, image_plane=config.image_plane),
                       augment=AUGMENTS[config.augment], train_only=TRAIN_PARTS[config.train],
                       frozen_norm=config.frozen_norm)


def render_pool(config: AdaptConfig, crop_size: int) -> list[HandSample]:
    """The synthetic replay: ``config.renders`` renders (labels on MediaPipe's points), made now."""
    from handpose.data.convention import KeypointOffsets, MediaPipePoints
    from handpose.data.synth.synthetic import SyntheticConfig, SyntheticHandSource

    source = MediaPipePoints(SyntheticHandSource(SyntheticConfig(crop_size=crop_size), seed=10_000 + config.seed,
                                                 num_samples=config.renders), KeypointOffsets.load())
    return [source[i] for i in range(len(source))]


def training_data(config: AdaptConfig, user: Sequence[HandSample], renders: Sequence[HandSample],
                  real: Sequence[Sequence[HandSample]] = ()) -> Mixture:
    """The user's frames at ``user_share``, the replay (renders and real shards alike) sharing the rest."""
    if not user:
        raise InputError("no labelled frames to adapt on")
    replay = [renders, *real]
    shares = [config.user_share] + [(1.0 - config.user_share) / len(replay)] * len(replay)
    return Mixture([user, *replay], shares, length=max(4096, sum(len(p) for p in [user, *replay])))


def seconds_per_step(model: HandModel, data: Sequence[HandSample], config: AdaptConfig, trials: int = 3) -> float:
    """Time of one training step of the recipe on this machine (forward, backward and batch
    making; median of ``trials`` after one warm-up), measured on a copy so ``model`` is unchanged."""
    import torch

    probe = copy.deepcopy(model)
    cfg = train_config(config, 1)
    for name, p in probe.named_parameters():
        p.requires_grad_(not cfg.train_only or name.startswith(cfg.train_only))
    probe.train()
    rng = np.random.default_rng(config.seed)
    times = []
    for _ in range(trials + 1):
        t0 = time.perf_counter()
        drawn = rng.integers(0, len(data), config.batch_size)
        batch = collate([augment(data[int(i)], rng, AUGMENTS[config.augment]) for i in drawn])
        compute_losses(probe, batch, "joint", 0, cfg.losses).total.backward()
        with torch.no_grad():
            for p in probe.parameters():
                p.grad = None
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def plan_steps(config: AdaptConfig, sec_per_step: float) -> int:
    """Steps that fit ``config.minutes`` at ``sec_per_step`` (the optimiser's step and the
    checkpoints add ~10%), within ``[min_steps, max_steps]``."""
    fit = int(config.minutes * 60.0 / (1.1 * sec_per_step))
    return max(config.min_steps, min(config.max_steps, fit))
