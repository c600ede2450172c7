"""The default model's per-joint visibility separates visible from hidden joints on renders it
never saw (its own seed). The current default's head (re-fitted on its frozen observations of the
training renders, ``scripts/fit_visibility_head.py``) reaches ROC AUC 0.92 there and 0.911 on the
whole held-out test set, above the real-hands issue's bar of 0.9, which the test holds (an
untrained head: 0.5; the head before the re-fit: 0.886 on the test set; the first, linear head: 0.77)."""

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
    assert roc_auc(visibility.ravel(), labels.ravel()) >= 0.9


def test_folding_the_standardisation_keeps_the_answers():
    """A head fitted on standardised observations answers the same on raw ones after the folding,
    and unfolding (the fit's start) gives back the head it was."""
    torch.manual_seed(3)
    head = VisibilityHead(width=8, input_size=128)
    observed = 3.0 * torch.randn(4, 21, head.num_observed) + 1.0
    mean, std = observed.mean(dim=(0, 1)), observed.std(dim=(0, 1))
    before = head.classify(observed).detach()
    on_standardised = head.classify((observed - mean) / std).detach()
    head.fold_standardisation(mean, std)
    assert torch.allclose(head.classify(observed), on_standardised, atol=1e-5)
    head.fold_standardisation(-mean / std, 1.0 / std)
    assert torch.allclose(head.classify(observed), before, atol=1e-4)


def test_fitting_the_head_on_frozen_observations_teaches_a_blank_head():
    """``fit_visibility_head`` on the default model's observations of 96 renders brings a head
    whose last layer is zeroed (every joint 0.5, ROC AUC 0.5) well above chance on 64 others, and
    the folded checkpoint layout still loads."""
    from handpose.model.checkpoint import load_weights
    from handpose.train.visibility_fit import VisibilityFitConfig, fit_visibility_head, head_auc, observe_dataset

    model = load_default_model()
    fit_on = SyntheticHandSource(SyntheticConfig(negative_fraction=0.0), seed=515, num_samples=96)
    report_on = SyntheticHandSource(SyntheticConfig(negative_fraction=0.0), seed=616, num_samples=64)
    train, val = observe_dataset(model, fit_on), observe_dataset(model, report_on)
    assert train.observed.shape == (96, 21, model.visibility.num_observed) and train.visible.shape == (96, 21)
    last = model.visibility.mlp[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    assert head_auc(model, val) == 0.5
    history = fit_visibility_head(model, train, val, VisibilityFitConfig(steps=150, batch_size=32, eval_every=0))
    assert len(history) == 1 and history[0][1] > 0.75
    assert abs(head_auc(model, val) - history[0][1]) < 1e-3  # folded: raw observations, same answers
    load_weights(model, model.state_dict(), "the fitted model")
