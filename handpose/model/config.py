"""Model configuration: a frozen dataclass stored inside every checkpoint (a checkpoint alone rebuilds the model)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from handpose.errors import InputError

Backbone = Literal["mobilenet", "resnet18"]
Alignment = Literal["translator", "direct"]
KeypointDecode = Literal["global", "local"]
KeypointStride = Literal[8, 4]


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`handpose.model.hand_model.HandModel` (docs/DESIGN.md §1).

    Attributes:
        backbone: image encoder CNN, "mobilenet" (MobileNetV3-small-style, fast) or "resnet18".
        input_size: side of the square RGB crop in pixels, 128 or 256.
        latent_dim: size of both latent spaces (pose VAE z and image VAE w), 32..64.
        alignment: "translator" (T maps w to an intermediate Gaussian over z) or "direct"
            (T = identity; KL(q_psi || q_phi) aligns the two posteriors directly).
        pose_hidden: width of the pose VAE's MLP layers (and of the image VAE's own decoder).
        pose_layers: hidden layers in each pose MLP.
        translator_hidden: width of the translator MLP.
        width_mult: channel multiplier of the mobilenet backbone.
        keypoint_decode: how the 2D keypoints are read off their heatmaps, "global" or "local"
            soft-argmax (``handpose.model.keypoint_head``); a decoding choice, not a weight: a
            checkpoint can be read either way.
        keypoint_stride: cell size in crop px of the heatmaps the 2D keypoints are read from: 8,
            or 4 (a refinement of the stride-8 heatmaps with weights of its own).
    """

    backbone: Backbone = "mobilenet"
    input_size: int = 128
    latent_dim: int = 32
    alignment: Alignment = "translator"
    pose_hidden: int = 512
    pose_layers: int = 2
    translator_hidden: int = 256
    width_mult: float = 1.0
    keypoint_decode: KeypointDecode = "global"
    keypoint_stride: KeypointStride = 8

    def __post_init__(self) -> None:
        if self.backbone not in ("mobilenet", "resnet18"):
            raise InputError(f"backbone must be 'mobilenet' or 'resnet18', got {self.backbone!r}")
        if self.input_size not in (128, 256):
            raise InputError(f"input_size must be 128 or 256, got {self.input_size}")
        if not 32 <= self.latent_dim <= 64:
            raise InputError(f"latent_dim must be in 32..64, got {self.latent_dim}")
        if self.alignment not in ("translator", "direct"):
            raise InputError(f"alignment must be 'translator' or 'direct', got {self.alignment!r}")
        if self.keypoint_decode not in ("global", "local"):
            raise InputError(f"keypoint_decode must be 'global' or 'local', got {self.keypoint_decode!r}")
        if self.keypoint_stride not in (8, 4):
            raise InputError(f"keypoint_stride must be 8 or 4, got {self.keypoint_stride!r}")
        if self.pose_hidden < 8 or self.pose_layers < 1 or self.translator_hidden < 8 or self.width_mult <= 0:
            raise InputError(f"positive layer sizes expected, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InputError(f"unknown ModelConfig fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)
