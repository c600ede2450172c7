"""Training the gesture classifier on labelled poses (:mod:`handpose.gesture.samples`).

Each pose is seen with noise like the pose model's errors: every joint moved by Gaussian noise of
a random size per pose (up to ``noise`` bones, about 10 mm at its largest) and the whole hand
stretched by a few per cent along each axis (hands differ in proportions, the rig has one). The
loss: cross-entropy on the gesture (poses the rules cannot name left out) plus binary
cross-entropy on each finger's extension (unsure fingers left out). Adam, full-batch epochs in
shuffled mini-batches, on the CPU.

With real photos (:class:`handpose.gesture.photo_poses.CountedPoses`, ``photo_weight`` > 0) every
step also draws ``photo_batch`` of their poses (with ``photo_noise``: they carry the pose models'
errors already) and adds, times ``photo_weight``, the negative log-likelihood of their finger
count and the cross-entropy of the gestures they name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handpose.errors import InputError
from handpose.gesture.classifier import GestureMLP
from handpose.gesture.features import NUM_FEATURES, pose_features
from handpose.gesture.metrics import Confusion
from handpose.gesture.photo_poses import CountedPoses, count_log_likelihood
from handpose.gesture.samples import GestureSamples
from handpose.gesture.vocabulary import GESTURES


@dataclass(frozen=True)
class GestureTrainConfig:
    """Knobs of :func:`train_gesture_mlp`.

    Attributes:
        hidden: widths of the hidden layers.
        epochs: passes over the samples (each with fresh noise).
        batch_size: poses per step.
        lr: Adam's learning rate (cosine-decayed to 0).
        noise: largest per-joint noise, in middle MCP->PIP bones.
        stretch: standard deviation of the per-axis stretch.
        seed: noise, shuffling and initialisation.
        photo_weight: weight of the real photos' terms (0: poses only).
        photo_batch: photo poses per step.
        photo_noise: largest per-joint noise on the photo poses, in bones.
    """

    hidden: tuple[int, ...] = (64, 64)
    epochs: int = 30
    batch_size: int = 512
    lr: float = 3e-3
    noise: float = 0.25
    stretch: float = 0.05
    seed: int = 0
    photo_weight: float = 0.0
    photo_batch: int = 64
    photo_noise: float = 0.1


def noisy_features(joints_norm: np.ndarray, rng: np.random.Generator, noise: float, stretch: float) -> np.ndarray:
    """(N, NUM_FEATURES) features of poses (N, 21, 3) with noise (see the module docstring)."""
    joints = joints_norm.astype(np.float64)
    n = len(joints)
    joints = joints * (1.0 + stretch * rng.standard_normal((n, 1, 3)))
    joints = joints + rng.uniform(0.0, noise, (n, 1, 1)) * rng.standard_normal(joints.shape)
    return pose_features(joints)


def train_gesture_mlp(samples: GestureSamples, config: GestureTrainConfig = GestureTrainConfig(),
                      log: bool = True, photos: CountedPoses | None = None) -> GestureMLP:
    """Fit the classifier to ``samples`` and, when ``config.photo_weight`` > 0, ``photos`` (see the
    module docstring)."""
    import torch

    use_photos = config.photo_weight > 0
    if use_photos and not photos:
        raise InputError("photo_weight > 0 needs labelled photo poses")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    clean = pose_features(samples.joints_norm)
    mean, std = clean.mean(axis=0), clean.std(axis=0) + 1e-3
    sizes = (NUM_FEATURES, *config.hidden, len(GESTURES) + 5)
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    n = len(clean)
    steps = config.epochs * ((n + config.batch_size - 1) // config.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gesture = torch.from_numpy(samples.gesture)
    fingers = torch.from_numpy(samples.fingers.astype(np.float32))
    g = len(GESTURES)
    if use_photos:
        photo_count = torch.from_numpy(photos.count.astype(np.int64))
        photo_gesture = torch.from_numpy(photos.gesture.astype(np.int64))
    for epoch in range(config.epochs):
        x_all = torch.from_numpy((noisy_features(samples.joints_norm, rng, config.noise, config.stretch) - mean) / std)
        if use_photos:
            x_photo = torch.from_numpy((noisy_features(photos.joints_norm, rng, config.photo_noise, config.stretch)
                                        - mean) / std)
        order = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            out = net(x_all[idx])
            labels, finger = gesture[idx], fingers[idx]
            known = finger >= 0
            loss = torch.nn.functional.cross_entropy(out[:, :g], labels, ignore_index=-1)
            loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
                out[:, g:][known], finger[known])
            if use_photos:
                drawn = torch.from_numpy(rng.integers(0, len(photos), config.photo_batch))
                out_photo = net(x_photo[drawn])
                photo_loss = -count_log_likelihood(out_photo[:, g:], photo_count[drawn]).mean()
                if (photo_gesture[drawn] >= 0).any():
                    photo_loss = photo_loss + torch.nn.functional.cross_entropy(
                        out_photo[:, :g], photo_gesture[drawn], ignore_index=-1)
                loss = loss + config.photo_weight * photo_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if log and (epoch % 5 == 4 or epoch == config.epochs - 1):
            print(f"epoch {epoch + 1}/{config.epochs}: loss {total / n:.4f}", flush=True)
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    return GestureMLP(mean=mean.astype(np.float32), std=std.astype(np.float32),
                      layers=tuple((m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
                                   for m in linear))


def score_on_samples(mlp: GestureMLP, features: np.ndarray, samples: GestureSamples) -> dict[str, Confusion]:
    """Gesture and finger-count confusion of ``mlp`` on ``features`` (N, F) of ``samples`` (poses
    the rules name; counts where every finger is sure)."""
    out = mlp.logits(features)
    g = len(mlp.labels)
    predicted = out[:, :g].argmax(axis=1)
    named = samples.gesture >= 0
    gestures = Confusion.of([GESTURES[k] for k in samples.gesture[named]], [mlp.labels[k] for k in predicted[named]],
                            GESTURES)
    sure = np.all(samples.fingers >= 0, axis=1)
    count_true = samples.fingers[sure].sum(axis=1)
    count_pred = (out[sure, g:] >= 0).sum(axis=1)
    names = [str(c) for c in range(6)]
    counts = Confusion.of([str(c) for c in count_true], [str(c) for c in count_pred], names)
    return {"gesture": gestures, "finger_count": counts}
