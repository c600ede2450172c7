import pytest
import torch

from handpose.model.config import ModelConfig
from handpose.model.backbones import build_backbone
from handpose.model.keypoint_head import KeypointHeatmaps, cell_centres, local_soft_argmax, soft_argmax


def test_cell_centres_are_stride8_cell_centres_in_crop_px():
    c = cell_centres(16)
    assert c.shape == (256, 2)
    # cell (row 0, col 0) covers px -0.5..7.5 -> centre 3.5; (row 2, col 5) -> x 43.5, y 19.5
    assert c[0].tolist() == [3.5, 3.5]
    assert c[2 * 16 + 5].tolist() == [43.5, 19.5]


def test_soft_argmax_of_a_peak_is_its_cell_and_of_two_equal_peaks_their_midpoint():
    logits = torch.full((1, 2, 16, 16), -1e4)
    logits[0, 0, 3, 5] = 0.0  # one peak: row 3, col 5
    logits[0, 1, 2, 1] = logits[0, 1, 10, 9] = 0.0  # two equal peaks
    kp, weights = soft_argmax(logits.flatten(2), cell_centres(16))
    assert torch.allclose(kp[0, 0], torch.tensor([5 * 8 + 3.5, 3 * 8 + 3.5]))
    assert torch.allclose(kp[0, 1], torch.tensor([(1 * 8 + 9 * 8) / 2 + 3.5, (2 * 8 + 10 * 8) / 2 + 3.5]))
    assert torch.allclose(weights.sum(-1), torch.ones(1, 2))


@pytest.mark.parametrize("backbone", ["mobilenet", "resnet18"])
def test_keypoints_stay_inside_the_crop_and_joint_features_have_the_head_width(backbone):
    cfg = ModelConfig(backbone=backbone)
    net = build_backbone(cfg)
    head = KeypointHeatmaps(net.channels, cfg.input_size).eval()
    with torch.no_grad():
        kp, feats, logits = head(net(torch.rand(3, 3, 128, 128)))
    assert kp.shape == (3, 21, 2) and feats.shape == (3, 21, head.width) and logits.shape == (3, 21, 16 * 16)
    # expectations over cell centres lie within the outermost centres
    assert kp.min() >= 3.5 and kp.max() <= 123.5


def test_local_soft_argmax_is_not_pulled_towards_the_middle():
    """A sharp peak near the crop's corner on a broad flat floor: the global expectation is dragged
    towards the middle of the map, the local one stays at the peak; on a peak alone both agree."""
    centres = cell_centres(16)
    logits = torch.zeros(1, 1, 16, 16)
    logits[0, 0, 1, 2] = 6.0
    logits[0, 0, 1, 1] = logits[0, 0, 1, 3] = 3.0  # symmetric neighbours: the answer is the peak's centre
    flat = logits.flatten(2)
    peak = torch.tensor([2 * 8 + 3.5, 1 * 8 + 3.5])
    global_kp, _ = soft_argmax(flat, centres)
    local_kp = local_soft_argmax(flat, centres)
    assert torch.allclose(local_kp[0, 0], peak, atol=1e-4)
    assert (global_kp[0, 0] - peak).norm() > 20.0  # px towards the middle (63.5, 63.5)
    sharp = torch.full((1, 1, 256), -1e4)
    sharp[0, 0, 100] = 0.0
    sharp[0, 0, 101] = -1.0
    assert torch.allclose(soft_argmax(sharp, centres)[0], local_soft_argmax(sharp, centres), atol=1e-4)
    # differentiable in the window's logits
    flat.requires_grad_(True)
    local_soft_argmax(flat, centres).sum().backward()
    assert flat.grad is not None and flat.grad[0, 0, 1 * 16 + 1] != 0 and flat.grad[0, 0, 8 * 16 + 8] == 0
