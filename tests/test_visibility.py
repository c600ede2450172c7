"""The default model's per-joint visibility separates visible from hidden joints on renders it
never saw (its own seed). The current default reaches ROC AUC 0.87 there (0.86 on the whole
held-out test set; an untrained head: 0.5; the previous default's linear head: 0.77); the
real-hands issue's bar is 0.9, not met yet, so the test holds the level it has."""

from __future__ import annotations

import numpy as np
import torch

from handpose.data.batch import collate
from handpose.data.synth.synthetic import SyntheticConfig, SyntheticHandSource
from handpose.model.checkpoint import load_default_model
from handpose.eval.metrics import roc_auc


def test_roc_auc_known_answers():
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0, 1, 0, 1])) == 0.5
    assert roc_auc(np.array([0.1, 0.6, 0.4, 0.9]), np.array([0, 0, 1, 1])) == 0.75
    assert np.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))


def test_visibility_auc_on_held_out_renders():
    source = SyntheticHandSource(SyntheticConfig(negative_fraction=0.0), seed=90210, num_samples=160)
    samples = [source[i] for i in range(len(source))]
    model = load_default_model()
    batch = collate(samples)
    with torch.no_grad():
        visibility = model.infer(batch.images).visibility.numpy()
    labels = np.stack([s.visibility for s in samples])
    assert 0.1 < labels.mean() < 0.95  # both kinds of joint are there to be told apart
    assert roc_auc(visibility.ravel(), labels.ravel()) >= 0.84
