"""The multi-modal image VAE (M1 -> M2): q_psi(w | x) from an RGB crop, its own pose decoder
D_omega (the baseline the aligned path must beat), and the application's extra heads on the
encoder features: 2D keypoints in crop coordinates and a hand-presence logit."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from handpose.config import ModelConfig
from handpose.model.backbones import build_backbone
from handpose.model.gaussian import DiagonalGaussian
from handpose.model.mlp import mlp
from handpose.model.pose_vae import PoseDecoder
from handpose.skeleton import NUM_JOINTS

# ImageNet statistics, RGB order, for inputs in [0, 1]
_RGB_MEAN = (0.485, 0.456, 0.406)
_RGB_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ImageEncoding:
    """What the image encoder gives for a batch of crops.

    Attributes:
        posterior: q_psi(w | x), tensors (N, D).
        keypoints_crop_px: (N, 21, 2) 2D joints in crop pixels.
        presence_logit: (N,) logit of "a hand is in the crop".
    """

    posterior: DiagonalGaussian
    keypoints_crop_px: torch.Tensor
    presence_logit: torch.Tensor


#: features of the image encoder shared by its heads
FEATURES = 512
#: channels of the spatial summary (1x1-reduced feature map, flattened)
_SPATIAL_CHANNELS = 64


class ImageEncoder(nn.Module):
    """RGB crop (N, 3, S, S) float in [0, 1] -> :class:`ImageEncoding`.

    Features: the backbone's (N, C, S/32, S/32) map, reduced to 64 channels by a 1x1 convolution
    and flattened (where things are), next to its global average (what is there), mapped to 512.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.input_size = config.input_size
        self.register_buffer("rgb_mean", torch.tensor(_RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("rgb_std", torch.tensor(_RGB_STD).view(1, 3, 1, 1), persistent=False)
        self.backbone = build_backbone(config)
        c, cells = self.backbone.out_channels, (config.input_size // 32) ** 2
        self.reduce = nn.Sequential(
            nn.Conv2d(c, _SPATIAL_CHANNELS, 1, bias=False), nn.BatchNorm2d(_SPATIAL_CHANNELS), nn.Hardswish()
        )
        self.fuse = nn.Sequential(nn.Linear(c + _SPATIAL_CHANNELS * cells, FEATURES), nn.Hardswish())
        features = FEATURES
        self.latent = nn.Linear(features, 2 * config.latent_dim)
        self.keypoints = mlp(features, 256, 1, NUM_JOINTS * 2)
        self.presence = nn.Linear(features, 1)

    def forward(self, images: torch.Tensor) -> ImageEncoding:
        fmap = self.backbone((images - self.rgb_mean) / self.rgb_std)
        feats = self.fuse(torch.cat([fmap.mean(dim=(2, 3)), self.reduce(fmap).flatten(1)], dim=1))
        # keypoints are regressed in units of the crop side around its centre
        kp = (self.keypoints(feats).view(-1, NUM_JOINTS, 2) + 0.5) * self.input_size
        return ImageEncoding(DiagonalGaussian.from_params(self.latent(feats)), kp, self.presence(feats).squeeze(-1))


class ImageVAE(nn.Module):
    """Image encoder q_psi plus its own pose decoder D_omega."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.encoder = ImageEncoder(config)
        self.decoder = PoseDecoder(config)
