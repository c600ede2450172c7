"""The default model's per-joint visibility separates visible from hidden joints on renders it
never saw (its own seed). The current default, whose head also reads the predicted 3D pose,
reaches ROC AUC 0.90 there (0.886 on the whole held-out test set; an untrained head: 0.5; the head
without the pose: 0.859; the first, linear head: 0.77); the real-hands issue's bar of 0.9 on the
whole set is not met yet, so the test holds the level it has."""

from __future__ import annotations

import numpy as np
import torch

from handpose.data.batch import collate
from handpose.data.synth.synthetic import SyntheticConfig, SyntheticHandSource
from handpose.model.checkpoint import load_default_model
from handpose.eval.metrics import roc_auc
from handpose.model.visibility_head import VisibilityHead


def test_roc_auc_known_answers():
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0, 1, 0, 1])) == 0.5
    assert roc_auc(np.array([0.1, 0.6, 0.4, 0.9]), np.array([0, 0, 1, 1])) == 0.75
    assert np.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))


def test_visibility_reads_the_3d_pose_without_moving_it():
    """The head's answer changes with the 3D pose it is given (a fingertip in front of or behind the
    palm), and no gradient flows from visibility into the pose."""
    head = VisibilityHead(width=8, input_size=128)
    features, keypoints, logits = torch.randn(2, 21, 8), torch.rand(2, 21, 2) * 128, torch.randn(2, 21, 256)
    pose = torch.randn(2, 21, 3, requires_grad=True)
    out = head(features, keypoints, logits, pose)
    assert out.shape == (2, 21)
    in_depth = pose.detach().clone()
    in_depth[..., 2] *= -1  # the same image-plane layout, mirrored in depth
    assert not torch.allclose(out, head(features, keypoints, logits, in_depth))
    out.sum().backward()
    assert pose.grad is None


def test_visibility_auc_on_held_out_renders():
    source = SyntheticHandSource(SyntheticConfig(negative_fraction=0.0), seed=90210, num_samples=160)
    samples = [source[i] for i in range(len(source))]
    model = load_default_model()
    batch = collate(samples)
    with torch.no_grad():
        visibility = model.infer(batch.images).visibility.numpy()
    labels = np.stack([s.visibility for s in samples])
    assert 0.1 < labels.mean() < 0.95  # both kinds of joint are there to be told apart
    assert roc_auc(visibility.ravel(), labels.ravel()) >= 0.88
