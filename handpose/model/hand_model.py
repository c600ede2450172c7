"""The full model: pose VAE + image VAE + variational alignment, with one inference entry point.

Inference (the aligned path, docs/DESIGN.md §1): ``y_hat = D_theta(mu_T(mu_psi(x)))`` — image encoder ->
translator -> pose decoder. The image VAE's own decoder ``D_omega(mu_psi(x))`` stays reachable
through :meth:`HandModel.infer` for the ablation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from handpose.model.config import ModelConfig
from handpose.errors import InputError
from handpose.model.alignment import build_alignment
from handpose.model.image_vae import ImageEncoding, ImageVAE
from handpose.model.pose_vae import PoseVAE
from handpose.model.visibility_head import VisibilityHead


@dataclass(frozen=True)
class ModelOutput:
    """Predictions for a batch of N crops.

    Attributes:
        joints_view_norm: (N, 21, 3) normalised pose through the aligned path (right-hand frame), in the
            crop's view frame (``handpose.geometry.view_frame``).
        keypoints_crop_px: (N, 21, 2) 2D joints in crop pixels.
        presence: (N,) probability that a hand is in the crop.
        joints_view_norm_image_vae: (N, 21, 3) the image VAE's own decoder output (baseline), same frame.
        visibility: (N, 21) probability that each joint is visible in the crop.
    """

    joints_view_norm: torch.Tensor
    keypoints_crop_px: torch.Tensor
    presence: torch.Tensor
    joints_view_norm_image_vae: torch.Tensor
    visibility: torch.Tensor


class HandModel(nn.Module):
    """Cross-modal variationally aligned hand pose model."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.pose_vae = PoseVAE(config)
        self.image_vae = ImageVAE(config)
        self.alignment = build_alignment(config)
        self.visibility = VisibilityHead(self.image_vae.encoder.keypoints.width, config.input_size)

    def check_images(self, images: torch.Tensor) -> None:
        """Raise InputError unless ``images`` is float32 (N, 3, S, S) with S = config.input_size."""
        s = self.config.input_size
        if not isinstance(images, torch.Tensor):
            raise InputError(f"images: torch.Tensor (N, 3, {s}, {s}) float32 expected, got {type(images).__name__}")
        if images.dtype != torch.float32:
            raise InputError(f"images: dtype float32 (RGB in [0, 1]) expected, got {images.dtype}")
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != s or images.shape[3] != s:
            raise InputError(f"images: shape (N, 3, {s}, {s}) RGB expected, got {tuple(images.shape)}")

    def infer(self, images: torch.Tensor) -> ModelOutput:
        """Deterministic predictions for float32 (N, 3, S, S) RGB crops in [0, 1], baseline included."""
        self.check_images(images)
        enc = self.image_vae.encoder(images)
        pose = self.decode_aligned(enc)
        return ModelOutput(
            joints_view_norm=pose,
            keypoints_crop_px=enc.keypoints_crop_px,
            presence=torch.sigmoid(enc.presence_logit),
            joints_view_norm_image_vae=self.image_vae.decoder(enc.posterior.mu),
            visibility=torch.sigmoid(self.visibility_logit(enc, pose)),
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The exported graph: images -> (joints_view_norm (N,21,3), keypoints_crop_px (N,21,2), presence (N,),
        visibility (N,21))."""
        self.check_images(images)
        enc = self.image_vae.encoder(images)
        pose = self.decode_aligned(enc)
        return (pose, enc.keypoints_crop_px, torch.sigmoid(enc.presence_logit),
                torch.sigmoid(self.visibility_logit(enc, pose)))

    def decode_aligned(self, enc: ImageEncoding) -> torch.Tensor:
        """The deterministic aligned path D_theta(mu_T(mu_psi(x))): normalised pose (N, 21, 3)."""
        return self.pose_vae.decoder(self.alignment(enc.posterior.mu, enc.posterior).mu)

    def visibility_logit(self, enc: ImageEncoding, joints_view_norm: torch.Tensor) -> torch.Tensor:
        """(N, 21) logit of "this joint is visible" (not hidden by the hand itself, another object
        or the crop's edge), from the encoding and the aligned pose ``joints_view_norm`` (N, 21, 3)."""
        return self.visibility(enc.joint_features, enc.keypoints_crop_px, enc.heatmap_logits, joints_view_norm)
