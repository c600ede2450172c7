import numpy as np
import pytest

from handpose.errors import InputError
from handpose.eval import metrics
from tests.hand_fixtures import random_poses


def test_every_joint_off_by_30mm_known_curve():
    gt = random_poses(10)
    # wrist, middle MCP and middle PIP stay (palm root and scale bone unchanged); the other 18
    # joints move 30 mm along x
    pred = gt.copy()
    moved = [j for j in range(21) if j not in (0, 9, 10)]
    pred[:, moved, 0] += 30.0
    pred_a, gt_a = metrics.align_prediction(pred, gt)
    m = metrics.pose_metrics(pred, gt)
    err = np.linalg.norm(pred_a - gt_a, axis=-1)
    # joints 0 and 9 are off by 0 mm, 10 by 0 mm, the other 18 by exactly 30 mm
    assert np.allclose(np.sort(err[0])[3:], 30.0)
    frac_ok = 3 / 21
    t = metrics.PCK_THRESHOLDS_MM
    expected = np.where(t >= 30.0, 1.0, frac_ok)
    assert np.allclose(m.pck, expected)
    assert m.epe_mean_mm == pytest.approx(30.0 * 18 / 21)
    # curve: 3/21 up to 28.95 mm, a linear rise to 1 at 31.58 mm, 1 after
    area = 3 / 21 * t[11] + (3 / 21 + 1) / 2 * (t[12] - t[11]) + 1.0 * (50 - t[12])
    assert m.auc_0_50 == pytest.approx(area / 50)
    exact = (3 / 21 * (t[11] - 20) + (3 / 21 + 1) / 2 * (t[12] - t[11]) + 1.0 * (50 - t[12])) / 30
    assert m.auc_20_50_exact == pytest.approx(exact)
    published = (3 / 21 * (t[11] - t[8]) + (3 / 21 + 1) / 2 * (t[12] - t[11]) + 1.0 * (50 - t[12])) / (50 - t[8])
    assert m.auc_20_50_published == pytest.approx(published)


def test_perfect_prediction():
    gt = random_poses(5)
    m = metrics.pose_metrics(gt, gt)
    assert m.epe_mean_mm == pytest.approx(0, abs=1e-9)
    assert m.auc_0_50 == pytest.approx(1.0)  # errors are exactly 0, within even the 0 mm threshold
    assert m.auc_20_50_exact == pytest.approx(1.0)
    assert m.auc_20_50_published == pytest.approx(1.0)


def test_scaled_translated_prediction_is_rescaled_by_protocol():
    gt = random_poses(5)
    pred = 1.7 * gt + 100.0
    assert metrics.pose_metrics(pred, gt).epe_mean_mm == pytest.approx(0, abs=1e-6)


def test_rotated_scaled_copy_has_zero_pa_mpjpe():
    from scipy.spatial.transform import Rotation

    gt = random_poses(8)
    rot = Rotation.random(8, random_state=3).as_matrix()
    pred = 0.6 * np.einsum("nij,nkj->nki", rot, gt) + np.array([5.0, -3.0, 40.0])
    m = metrics.pose_metrics(pred, gt)
    assert m.pa_mpjpe_mm == pytest.approx(0, abs=1e-6)
    assert m.epe_mean_mm > 10  # but not zero before Procrustes


def test_visible_only():
    gt = random_poses(3)
    pred = gt.copy()
    pred[:, 20] += np.array([0, 0, 40.0])
    vis = np.ones((3, 21), bool)
    vis[:, 20] = False
    assert metrics.pose_metrics(pred, gt, vis).epe_mean_mm == pytest.approx(0, abs=1e-9)
    assert metrics.pose_metrics(pred, gt).epe_mean_mm == pytest.approx(40 / 21)


def test_median_epe():
    gt = random_poses(1)
    pred = gt.copy()
    pred[0, 20, 2] += 90.0
    m = metrics.pose_metrics(pred, gt)
    assert m.epe_median_mm == pytest.approx(0, abs=1e-9)


def test_keypoint_error_2d_and_jitter():
    gt = np.zeros((2, 21, 2))
    assert metrics.keypoint_error_2d(gt + [3.0, 4.0], gt) == pytest.approx(5.0)
    t = np.arange(10, dtype=float)
    # constant acceleration a = 2 mm/frame^2 along z at 30 fps -> 2 * 30^2 mm/s^2
    seq = np.zeros((10, 21, 3))
    seq[:, :, 2] = (t**2)[:, None]
    assert metrics.jitter(seq, fps=30) == pytest.approx(2 * 900)
    linear = np.zeros((10, 21, 3))
    linear[:, :, 0] = t[:, None] * 5
    assert metrics.jitter(linear, fps=30) == pytest.approx(0, abs=1e-9)


def test_bad_shapes():
    with pytest.raises(InputError, match=r"\(N, 21, 3\)"):
        metrics.pose_metrics(np.zeros((2, 20, 3)), np.zeros((2, 20, 3)))
