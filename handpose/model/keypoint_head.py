"""2D keypoints as heatmaps with a soft-argmax (integral regression), what the heatmaps point at,
and the features behind each joint's visibility.

The three backbone maps are merged top-down (1x1 lateral convolutions, nearest upsampling, sums)
into one stride-8 map of ``width`` channels; a 1x1 convolution gives one heatmap per joint. A
softmax over each heatmap's cells is a distribution over where the joint is, and its weights pool
the merged map into a feature vector per joint — what the image looks like at that joint, which is
where its depth and occlusion show; :class:`handpose.model.visibility_head.VisibilityHead` reads
the joints' visibility from those vectors (and the 3D pose, so it sits on the whole model).

A stride-8 cell is 8 px of a 128 px crop, and a finger's last two joints are often less than a
cell apart. ``stride=4`` adds :class:`FineHeatmaps`: heatmaps over 4 px cells that the positions
are read from, the stride-8 ones copied to their 2x2 sub-cells plus a correction from the merged
map and the backbone's stride-4 map. The pooled joint features stay on the stride-8 map.

Decoding the position: ``"global"`` takes the expectation over the whole map. Where a heatmap is
not sharp (real photos, far from the renders it learnt on) the tails of the distribution pull that
expectation towards the middle of the crop, and the skeleton comes out too small. ``"local"``
takes the expectation only over the (2r+1) x (2r+1) cells around the most likely one
(:func:`local_soft_argmax`): the same answer on a sharp map, no pull on a broad one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from typing import Literal, NamedTuple

from handpose.model.backbones import FeatureMaps
from handpose.model.config import KeypointStride
from handpose.skeleton import NUM_JOINTS

STRIDE = 8
#: stride of :class:`FineHeatmaps`, and channels of its own maps
FINE_STRIDE = 4
FINE_WIDTH = 32
Decode = Literal["global", "local"]
#: half-width in cells of the window that "local" decoding averages over
LOCAL_RADIUS = 1


def _conv_bn(c_in: int, c_out: int, kernel: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.Hardswish())


def cell_centres(side: int, stride: int = STRIDE) -> torch.Tensor:
    """(side * side, 2) float32 crop-px (x, y) centres of the cells of a ``side`` x ``side`` map at
    ``stride``, row-major like ``flatten()``; pixel centres are at integer coordinates."""
    centre = (torch.arange(side, dtype=torch.float32) + 0.5) * stride - 0.5
    ys, xs = torch.meshgrid(centre, centre, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)


def soft_argmax(logits: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Heatmap logits (N, K, C) over C cells -> (expected positions (N, K, 2), softmax weights (N, K, C)).

    ``centres``: (C, 2) positions of the cells (see :func:`cell_centres`).
    """
    weights = torch.softmax(logits, dim=-1)
    middle = centres.mean(dim=0)  # expectation of offsets from the middle: half the rounding error
    return weights @ (centres - middle) + middle, weights


def local_soft_argmax(logits: torch.Tensor, centres: torch.Tensor, stride: int = STRIDE,
                      radius: int = LOCAL_RADIUS) -> torch.Tensor:
    """Heatmap logits (N, K, C) -> positions (N, K, 2): the softmax expectation over the cells within
    ``radius`` cells (Chebyshev) of each heatmap's most likely cell; ``centres`` (C, 2) as in
    :func:`soft_argmax`. Differentiable in the logits of the window."""
    peak = centres[logits.argmax(dim=-1)]  # (N, K, 2)
    near = ((centres - peak.unsqueeze(-2)).abs() <= radius * stride + 0.5).all(dim=-1)  # (N, K, C)
    windowed = logits.masked_fill(~near, float("-inf"))
    return torch.softmax(windowed, dim=-1) @ centres


def heatmap_target(keypoints_px: torch.Tensor, centres: torch.Tensor, sigma_px: float = STRIDE) -> torch.Tensor:
    """What the heatmaps are trained towards: for joints (N, K, 2) in crop px, a Gaussian of
    ``sigma_px`` around each, over the cells ``centres`` (C, 2), normalised: (N, K, C)."""
    d2 = ((keypoints_px.unsqueeze(-2) - centres) ** 2).sum(-1)
    return torch.softmax(-d2 / (2.0 * sigma_px**2), dim=-1)


class FineHeatmaps(nn.Module):
    """Stride-4 heatmaps refining the stride-8 ones: logits (N, 21, (S/4)^2) = each stride-8 logit
    copied to its 2x2 sub-cells, plus a correction read from the merged stride-8 map (upsampled)
    and the backbone's stride-4 map.

    The correction's last layer starts at zero, so a model warm-started from a stride-8 checkpoint
    begins with exactly that checkpoint's answer (four equal sub-cells average to their cell's
    centre) and training can only move it from there.
    """

    def __init__(self, stride4_channels: int, width: int, fine_width: int = FINE_WIDTH) -> None:
        super().__init__()
        self.down = _conv_bn(width, fine_width)
        self.lateral = _conv_bn(stride4_channels, fine_width)
        self.smooth = nn.Sequential(_conv_bn(fine_width, fine_width, 3, groups=fine_width),
                                    _conv_bn(fine_width, fine_width))
        self.correction = nn.Conv2d(fine_width, NUM_JOINTS, 1)
        nn.init.zeros_(self.correction.weight)
        nn.init.zeros_(self.correction.bias)

    def forward(self, merged: torch.Tensor, stride4: torch.Tensor, coarse_logits: torch.Tensor) -> torch.Tensor:
        """merged (N, width, S/8, S/8), stride4 (N, C4, S/4, S/4), coarse_logits (N, 21, S/8, S/8)
        -> fine logits (N, 21, S/4, S/4)."""
        x = F.interpolate(self.down(merged), scale_factor=2.0, mode="nearest") + self.lateral(stride4)
        x = self.smooth(x)
        return F.interpolate(coarse_logits, scale_factor=2.0, mode="nearest") + self.correction(x)


class KeypointReadout(NamedTuple):
    """What :class:`KeypointHeatmaps` gives for N crops.

    Attributes:
        keypoints: (N, 21, 2) 2D joints in crop px (from the fine heatmaps where there are some).
        joint_features: (N, 21, width) the merged stride-8 map pooled by each joint's heatmap.
        logits: (N, 21, (S/8)^2) stride-8 heatmap logits.
        fine_logits: (N, 21, (S/4)^2) stride-4 heatmap logits, or None for a stride-8 head.
    """

    keypoints: torch.Tensor
    joint_features: torch.Tensor
    logits: torch.Tensor
    fine_logits: torch.Tensor | None


class KeypointHeatmaps(nn.Module):
    """:class:`FeatureMaps` of an (N, 3, S, S) crop -> :class:`KeypointReadout`.

    Args:
        channels: channels of the stride 4/8/16/32 backbone maps.
        input_size: crop side S in pixels (a multiple of 32).
        width: channels of the merged map, and so of each joint feature.
        decode: "global" or "local" soft-argmax (see the module docstring).
        stride: 8, or 4 to read the positions off :class:`FineHeatmaps`.
    """

    cell_xy: torch.Tensor  # (cells, 2) buffer: stride-8 cell centres in crop px
    fine_cell_xy: torch.Tensor  # ((S/4)^2, 2) buffer: stride-4 cell centres (empty for a stride-8 head)

    def __init__(self, channels: tuple[int, int, int, int], input_size: int, width: int = 64,
                 decode: Decode = "global", stride: KeypointStride = 8) -> None:
        super().__init__()
        self.width = width
        self.decode = decode
        self.lateral = nn.ModuleList([_conv_bn(c, width) for c in channels[1:]])
        self.smooth = nn.Sequential(_conv_bn(width, width, 3, groups=width), _conv_bn(width, width))
        self.logits = nn.Conv2d(width, NUM_JOINTS, 1)
        self.fine = FineHeatmaps(channels[0], width) if stride == FINE_STRIDE else None
        self.register_buffer("cell_xy", cell_centres(input_size // STRIDE), persistent=False)
        fine_xy = cell_centres(input_size // FINE_STRIDE, FINE_STRIDE) if self.fine is not None else torch.empty(0, 2)
        self.register_buffer("fine_cell_xy", fine_xy, persistent=False)

    def forward(self, maps: FeatureMaps) -> KeypointReadout:
        lat8, lat16, lat32 = self.lateral
        x = lat32(maps.stride32)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest") + lat16(maps.stride16)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest") + lat8(maps.stride8)
        x = self.smooth(x)
        logits_map = self.logits(x)
        logits = logits_map.flatten(2)  # (N, 21, cells)
        keypoints, weights = soft_argmax(logits, self.cell_xy)  # the weights pool the joint features
        fine_logits = None
        read, centres, stride = logits, self.cell_xy, STRIDE  # the heatmaps the positions come from
        if self.fine is not None:
            fine_logits = self.fine(x, maps.stride4, logits_map).flatten(2)
            read, centres, stride = fine_logits, self.fine_cell_xy, FINE_STRIDE
            keypoints, _ = soft_argmax(read, centres)
        if self.decode == "local":
            keypoints = local_soft_argmax(read, centres, stride)
        joint_features = weights @ x.flatten(2).transpose(1, 2)  # (N, 21, width)
        return KeypointReadout(keypoints, joint_features, logits, fine_logits)
