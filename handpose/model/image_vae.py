"""The multi-modal image VAE (M1 -> M2): q_psi(w | x) from an RGB crop, its own pose decoder
D_omega (the baseline the aligned path must beat), and the application's extra heads on the
encoder features: 2D keypoints in crop coordinates and a hand-presence logit."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from handpose.model.config import ModelConfig
from handpose.model.backbones import build_backbone
from handpose.model.gaussian import DiagonalGaussian
from handpose.model.keypoint_head import KeypointHeatmaps
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
        heatmap_logits: (N, 21, C) logits of the keypoint heatmaps over their C cells.
        joint_features: (N, 21, width) the merged map pooled by each joint's heatmap (what the
            image looks like at that joint; the visibility head reads it).
        fine_heatmap_logits: (N, 21, 4C) logits of the stride-4 heatmaps the keypoints are read
            from (``ModelConfig.keypoint_stride`` 4), or None.
    """

    posterior: DiagonalGaussian
    keypoints_crop_px: torch.Tensor
    presence_logit: torch.Tensor
    heatmap_logits: torch.Tensor
    joint_features: torch.Tensor
    fine_heatmap_logits: torch.Tensor | None


#: features of the image encoder shared by the latent and presence heads
FEATURES = 512


class ImageEncoder(nn.Module):
    """RGB crop (N, 3, S, S) float in [0, 1] -> :class:`ImageEncoding`.

    The 2D joints come from heatmaps (:class:`KeypointHeatmaps`). The features behind the latent
    code and the presence score are the global average of the stride-32 map (what is there), the
    21 heatmap-pooled joint features (what it looks like at each joint) and the 2D joints
    themselves in units of the crop side (where the joints are), mapped to 512.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.input_size = config.input_size
        self.register_buffer("rgb_mean", torch.tensor(_RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("rgb_std", torch.tensor(_RGB_STD).view(1, 3, 1, 1), persistent=False)
        self.backbone = build_backbone(config)
        self.keypoints = KeypointHeatmaps(self.backbone.channels, config.input_size, decode=config.keypoint_decode,
                                          stride=config.keypoint_stride)
        joint_inputs = NUM_JOINTS * (self.keypoints.width + 2)
        self.fuse = nn.Sequential(nn.Linear(self.backbone.channels[3] + joint_inputs, FEATURES), nn.Hardswish())
        self.latent = nn.Linear(FEATURES, 2 * config.latent_dim)
        self.presence = nn.Linear(FEATURES, 1)

    def forward(self, images: torch.Tensor) -> ImageEncoding:
        maps = self.backbone((images - self.rgb_mean) / self.rgb_std)
        kp = self.keypoints(maps)
        where = kp.keypoints / self.input_size - 0.5
        feats = self.fuse(torch.cat([maps.stride32.mean(dim=(2, 3)), kp.joint_features.flatten(1),
                                     where.flatten(1)], 1))
        return ImageEncoding(DiagonalGaussian.from_params(self.latent(feats)), kp.keypoints,
                             self.presence(feats).squeeze(-1), kp.logits, kp.joint_features, kp.fine_logits)


class ImageVAE(nn.Module):
    """Image encoder q_psi plus its own pose decoder D_omega."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.encoder = ImageEncoder(config)
        self.decoder = PoseDecoder(config)
