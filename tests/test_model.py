import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from handpose.model.config import ModelConfig
from handpose.data.batch import HandBatch, collate
from handpose.errors import CheckpointError, InputError
from handpose.model import build_model
from handpose.model.checkpoint import load_model, save_model
from handpose.model.gaussian import DiagonalGaussian
from handpose.train.losses import LossWeights, compute_losses, recon_error
from tests.hand_fixtures import toy_samples

torch.set_num_threads(1)


@pytest.mark.parametrize("backbone", ["mobilenet", "resnet18"])
@pytest.mark.parametrize("size", [128, 256])
def test_output_shapes(backbone, size):
    model = build_model(ModelConfig(backbone=backbone, input_size=size)).eval()
    with torch.no_grad():
        out = model.infer(torch.rand(3, 3, size, size))
    assert out.joints_view_norm.shape == (3, 21, 3)
    assert out.keypoints_crop_px.shape == (3, 21, 2)
    assert out.presence.shape == (3,)
    assert out.joints_view_norm_image_vae.shape == (3, 21, 3)
    assert ((out.presence >= 0) & (out.presence <= 1)).all()
    assert all(torch.isfinite(t).all() for t in (out.joints_view_norm, out.keypoints_crop_px, out.joints_view_norm_image_vae))


@pytest.mark.parametrize("alignment", ["translator", "direct"])
def test_gradients_reach_every_parameter(alignment):
    model = build_model(ModelConfig(alignment=alignment)).train()
    # with visibility labelled (as renders have it), so the visibility head learns too
    batch = collate([replace(s, visible=np.arange(21) % 4 > 0) for s in toy_samples(4)])
    terms = compute_losses(model, batch, "joint", step=10_000, weights=LossWeights())
    terms.total.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
               or p.grad.abs().sum() == 0]
    assert missing == []
    assert torch.isfinite(terms.total)


def test_image_stage_leaves_pose_vae_without_gradient():
    model = build_model().train()
    for p in model.pose_vae.parameters():
        p.requires_grad_(False)
    terms = compute_losses(model, collate(toy_samples(4)), "image", step=0, weights=LossWeights())
    terms.total.backward()
    assert all(p.grad is None for p in model.pose_vae.parameters())
    assert model.alignment.net[0].weight.grad is not None  # the translator does learn


def test_direct_alignment_is_identity():
    model = build_model(ModelConfig(alignment="direct")).eval()
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        enc = model.image_vae.encoder(x)
        expected = model.pose_vae.decoder(enc.posterior.mu)
        assert torch.equal(model.infer(x).joints_view_norm, expected)


def test_eval_is_deterministic():
    model = build_model().eval()
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        a, b = model(x), model(x)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_kl_identical_is_zero_and_known_pair_matches_closed_form():
    mu = torch.randn(5, 7)
    logvar = torch.randn(5, 7)
    g = DiagonalGaussian(mu, logvar)
    assert torch.allclose(g.kl(g), torch.zeros(5), atol=1e-6)
    # 1-D: KL(N(1, 2^2) || N(0, 1)) = log(1/2) + (4 + 1)/2 - 1/2 = 2 - log 2
    p = DiagonalGaussian(torch.tensor([[1.0]]), torch.tensor([[math.log(4.0)]]))
    q = DiagonalGaussian(torch.tensor([[0.0]]), torch.tensor([[0.0]]))
    assert p.kl(q).item() == pytest.approx(2 - math.log(2), rel=1e-6)
    assert p.kl_standard().item() == pytest.approx(2 - math.log(2), rel=1e-6)
    # KL(N(0,1) || N(3, 0.5^2)) = log(0.5) + (1 + 9)/(2*0.25) - 0.5
    r = DiagonalGaussian(torch.tensor([[3.0]]), torch.tensor([[math.log(0.25)]]))
    assert q.kl(r).item() == pytest.approx(math.log(0.5) + 10 / 0.5 - 0.5, rel=1e-6)


def test_beta_warmup():
    w = LossWeights(beta=0.01, beta_warmup_steps=100)
    assert w.beta_at(0) == 0 and w.beta_at(50) == pytest.approx(0.005) and w.beta_at(1000) == 0.01


def test_recon_error_known_answers():
    target = torch.zeros(2, 21, 3)
    pred = target.clone()
    pred[0, 3] = torch.tensor([3.0, 4.0, 0.0])  # one joint 5 away
    pred[1] = torch.tensor([0.0, 0.0, 2.0])  # every joint 2 away
    assert recon_error(pred, target, "squared").tolist() == pytest.approx([25.0, 84.0])
    # the 1e-8 floor under each square root adds up to 1e-4 per joint
    assert recon_error(pred, target, "euclidean").tolist() == pytest.approx([5.0, 42.0], abs=3e-3)
    exact = pred.clone().requires_grad_(True)
    recon_error(exact, exact.detach(), "euclidean").sum().backward()
    assert torch.isfinite(exact.grad).all()  # zero error gives a finite (zero) gradient
    with pytest.raises(InputError, match="recon must be"):
        LossWeights(recon="l1")  # type: ignore[arg-type]


def test_checkpoint_round_trip(tmp_path):
    model = build_model(ModelConfig(latent_dim=48)).eval()
    path = tmp_path / "m.pt"
    save_model(model, path, meta={"note": "test"})
    loaded = load_model(path)
    assert loaded.config == model.config
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model(x), loaded(x)))


def test_checkpoint_from_another_config(tmp_path):
    path = tmp_path / "m.pt"
    save_model(build_model(ModelConfig(latent_dim=48)), path)
    with pytest.raises(CheckpointError, match="latent_dim"):
        load_model(path, expected=ModelConfig(latent_dim=32))
    # weights of another architecture loaded into a model: the mismatch is named
    payload = torch.load(path, weights_only=True)
    from handpose.model.checkpoint import load_weights

    with pytest.raises(CheckpointError, match="wrong shapes"):
        load_weights(build_model(ModelConfig(latent_dim=32)), payload["state_dict"], "m.pt")


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "m.pt"
    save_model(build_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_model(path)
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "missing.pt")


@pytest.mark.parametrize(
    "images, message",
    [
        (torch.rand(2, 3, 64, 64), r"\(N, 3, 128, 128\)"),
        (torch.rand(2, 4, 128, 128), r"\(N, 3, 128, 128\)"),
        (torch.rand(3, 128, 128), r"\(N, 3, 128, 128\)"),
        (torch.randint(0, 255, (1, 3, 128, 128), dtype=torch.uint8), "float32"),
        (np.zeros((1, 3, 128, 128), np.float32), "torch.Tensor"),
    ],
)
def test_bad_images_raise(images, message):
    with pytest.raises(InputError, match=message):
        build_model().infer(images)


def test_nan_pose_is_rejected():
    from tests.hand_fixtures import random_poses
    from handpose.data.sample import HandSample

    pose = random_poses(1)[0].astype(np.float32)
    pose[4, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        HandSample(joints_cam_mm=pose)


def test_pose_only_batch_rejected_for_image_stage():
    batch = HandBatch(torch.zeros(2, 21, 3), torch.ones(2, dtype=torch.bool))
    with pytest.raises(InputError, match="pose-only"):
        compute_losses(build_model(), batch, "image", 0, LossWeights())


def test_config_validation():
    with pytest.raises(InputError, match="input_size"):
        ModelConfig(input_size=200)
    with pytest.raises(InputError, match="latent_dim"):
        ModelConfig(latent_dim=8)


def test_warm_start_copies_only_the_pose_vae(tmp_path):
    from handpose.model.checkpoint import warm_start

    source, target = build_model(), build_model()
    save_model(source, tmp_path / "src.pt")
    before = {k: v.clone() for k, v in target.state_dict().items()}
    names = warm_start(target, tmp_path / "src.pt")
    assert names and all(n.startswith("pose_vae.") for n in names)
    after, src = target.state_dict(), source.state_dict()
    assert all(torch.equal(after[k], src[k]) for k in names)
    assert all(torch.equal(after[k], before[k]) for k in after if not k.startswith("pose_vae."))
    with pytest.raises(CheckpointError, match="pose_vae"):
        save_model(build_model(ModelConfig(latent_dim=48)), tmp_path / "other.pt")
        warm_start(target, tmp_path / "other.pt")


def test_committed_default_model_matches_its_manifest():
    from handpose.model.checkpoint import DEFAULT_CHECKPOINT
    from handpose.model.manifest import read_manifest, sha256_of, verify

    entry = read_manifest().get(DEFAULT_CHECKPOINT.name)
    assert entry is not None, "models/MANIFEST.json must describe the default checkpoint"
    verify(DEFAULT_CHECKPOINT)
    assert sha256_of(DEFAULT_CHECKPOINT) == entry["sha256"]
    assert {"training", "evaluation"} <= set(entry)
    assert load_model(DEFAULT_CHECKPOINT).config.to_dict() == entry["model_config"]


class _NotATensor:
    """An object ``weights_only`` loading refuses (any class of one's own)."""


def test_checkpoint_with_python_objects_is_refused_without_torch_advice(tmp_path):
    path = tmp_path / "objects.pt"
    torch.save({"format": "handpose", "payload": _NotATensor()}, path)
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    message = str(info.value)
    assert "Python objects other than tensors" in message and "could run code" in message
    assert "weights_only" not in message and "\n" not in message
