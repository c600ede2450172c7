"""Fitting the visibility head alone, on the frozen model's observations of many renders.

The head (:class:`handpose.model.visibility_head.VisibilityHead`) is small and reads what the frozen
rest of the model already computes. So instead of running the whole model for every step, as the
trainer's ``--train-only visibility`` does, each training hand is observed once
(:func:`observe_dataset`: the head's inputs, (N, 21, num_observed)), the observations are
standardised, and the head's MLP is fitted on them with AdamW and a cosine schedule
(:func:`fit_visibility_head`); at the end the standardisation is folded into the first layer, so
the checkpoint's layout and the exported graph do not change.

Measured (docs/real_hands.md §8): from the head the trainer's head-only run left, on the same
model and renders, ROC AUC on the held-out renders 0.886 -> 0.911. The likely reason is the
standardisation: the inputs' scales differ by orders of magnitude (pooled features, crop positions,
log sharpness, the normalised pose).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from handpose.data.batch import collate
from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.eval.metrics import roc_auc
from handpose.model.hand_model import HandModel


@dataclass(frozen=True)
class Observations:
    """What the head reads for M hands, and what it should answer.

    Attributes:
        observed: (M, 21, num_observed) float16 head inputs but the joint identity
            (:meth:`VisibilityHead.observe`).
        visible: (M, 21) bool labels: the joint is visible in the crop.
    """

    observed: np.ndarray
    visible: np.ndarray


@dataclass(frozen=True)
class VisibilityFitConfig:
    """How the head is fitted.

    Attributes:
        steps: optimiser steps.
        batch_size: hands per step (each gives 21 joints).
        lr: AdamW learning rate at the start of the cosine schedule.
        weight_decay: AdamW weight decay.
        eval_every: steps between validation ROC AUCs (0: only at the end).
        seed: sampling seed.
    """

    steps: int = 4000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    eval_every: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0 or self.weight_decay < 0 or self.eval_every < 0:
            raise InputError(f"positive steps, batch size and lr expected, got {self}")


def observe_dataset(model: HandModel, samples: Sequence[HandSample], batch_size: int = 128,
                    progress: Callable[[int], None] | None = None) -> Observations:
    """The frozen ``model``'s observations of the hands in ``samples`` that have a hand and labelled
    visibility (renders; real photos without visibility labels are left out). ``progress`` is
    called with the number of samples done after each batch."""
    model.eval()
    observed, visible = [], []
    for start in range(0, len(samples), batch_size):
        chunk = [s for s in (samples[i] for i in range(start, min(start + batch_size, len(samples))))
                 if s.present and s.visible is not None]
        if chunk:
            batch = collate(chunk)
            with torch.no_grad():
                enc = model.image_vae.encoder(batch.images)
                pose = model.decode_aligned(enc)
                obs = model.visibility.observe(enc.joint_features, enc.keypoints_crop_px, enc.heatmap_logits, pose)
            observed.append(obs.half().numpy())
            visible.append(batch.visible.numpy())
        if progress is not None:
            progress(min(start + batch_size, len(samples)))
    if not observed:
        raise InputError("samples with a hand and visibility labels (renders) expected, got none")
    return Observations(np.concatenate(observed), np.concatenate(visible))


def head_auc(model: HandModel, data: Observations, standardise: tuple[torch.Tensor, torch.Tensor] | None = None) -> float:
    """ROC AUC over all joints of the head's answers on ``data`` (inputs standardised by
    ``(mean, std)`` first when given)."""
    obs = torch.from_numpy(data.observed).float()
    if standardise is not None:
        obs = (obs - standardise[0]) / standardise[1]
    with torch.no_grad():
        logits = torch.cat([model.visibility.classify(part) for part in obs.split(1024)])
    return roc_auc(logits.numpy().ravel(), data.visible.ravel())


def fit_visibility_head(model: HandModel, train: Observations, val: Observations,
                        config: VisibilityFitConfig = VisibilityFitConfig(),
                        log: Callable[[int, float], None] | None = None) -> list[tuple[int, float]]:
    """Fit ``model.visibility`` on ``train`` (the rest of the model is not touched) and fold the input
    standardisation into it. Returns the validation ROC AUC after every ``eval_every`` steps and at
    the end, as (step, auc); ``log`` is called with each. The fit starts from the head's current
    weights."""
    head = model.visibility
    obs = torch.from_numpy(train.observed).float()
    labels = torch.from_numpy(train.visible).float()
    mean, std = obs.mean(dim=(0, 1)), obs.std(dim=(0, 1)) + 1e-3
    obs = (obs - mean) / std
    head.fold_standardisation(-mean / std, 1.0 / std)  # start from the head as it is, on standardised inputs
    head.train()
    opt = torch.optim.AdamW(head.parameters(), config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.steps)
    generator = torch.Generator().manual_seed(config.seed)
    history: list[tuple[int, float]] = []
    for step in range(1, config.steps + 1):
        idx = torch.randint(0, len(obs), (config.batch_size,), generator=generator)
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(head.classify(obs[idx]), labels[idx]).backward()
        opt.step()
        schedule.step()
        if step == config.steps or (config.eval_every and step % config.eval_every == 0):
            head.eval()
            history.append((step, head_auc(model, val, (mean, std))))
            head.train()
            if log is not None:
                log(*history[-1])
    head.eval()
    head.fold_standardisation(mean, std)
    return history
