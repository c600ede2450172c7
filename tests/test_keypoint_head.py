import pytest
import torch

from handpose.model.config import ModelConfig
from handpose.model.backbones import build_backbone
from handpose.model.checkpoint import save_model, warm_start
from handpose.model.hand_model import HandModel
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
        kp, feats, logits, fine = head(net(torch.rand(3, 3, 128, 128)))
    assert fine is None
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


def test_stride4_cell_centres_split_each_stride8_cell_in_four():
    fine, coarse = cell_centres(32, 4), cell_centres(16)
    assert fine.shape == (1024, 2) and fine[0].tolist() == [1.5, 1.5] and fine[33].tolist() == [5.5, 5.5]
    # the four sub-cells of coarse cell (row 2, col 5) average to its centre
    subs = [(2 * 2 + dy) * 32 + 2 * 5 + dx for dy in (0, 1) for dx in (0, 1)]
    assert torch.allclose(fine[subs].mean(0), coarse[2 * 16 + 5])


@pytest.mark.parametrize("backbone", ["mobilenet", "resnet18"])
def test_stride4_head_starts_at_the_stride8_answer_and_its_correction_moves_it(backbone):
    torch.manual_seed(0)
    cfg = ModelConfig(backbone=backbone)
    net = build_backbone(cfg).eval()
    coarse = KeypointHeatmaps(net.channels, 128).eval()
    fine = KeypointHeatmaps(net.channels, 128, stride=4).eval()
    missing = fine.load_state_dict(coarse.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("fine.") for k in missing)
    with torch.no_grad():
        maps = net(torch.rand(2, 3, 128, 128))
        a, b = coarse(maps), fine(maps)
        assert b.fine_logits is not None and b.fine_logits.shape == (2, 21, 32 * 32)
        assert torch.allclose(a.keypoints, b.keypoints, atol=1e-3)
        assert torch.equal(a.joint_features, b.joint_features)
        # a correction constant over the map changes nothing; one that reads the maps moves the joints
        fine.fine.correction.bias[3] = 1.0
        assert torch.allclose(fine(maps).keypoints, a.keypoints, atol=1e-3)
        fine.fine.correction.weight.normal_(0.0, 100.0)
        assert (fine(maps).keypoints - a.keypoints).abs().max() > 0.5


def test_a_stride4_model_warm_started_from_a_stride8_checkpoint_gives_its_answers(tmp_path):
    torch.manual_seed(0)
    old = HandModel(ModelConfig()).eval()
    save_model(old, tmp_path / "old.pt")
    new = HandModel(ModelConfig(keypoint_stride=4)).eval()
    names = warm_start(new, tmp_path / "old.pt", prefix="")
    assert not any(".fine." in k for k in names)
    images = torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        a, b = old.infer(images), new.infer(images)
    assert torch.allclose(a.keypoints_crop_px, b.keypoints_crop_px, atol=1e-3)
    assert torch.allclose(a.joints_view_norm, b.joints_view_norm, atol=1e-4)
    assert torch.allclose(a.visibility, b.visibility, atol=1e-4)
