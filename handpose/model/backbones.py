"""Image backbones in plain torch (torchvision cannot be installed next to the CPU torch here).

Both map a normalised RGB batch (N, 3, S, S) to four feature maps, at strides 4, 8, 16 and 32
(:class:`FeatureMaps`); ``channels`` gives their channel counts. The maps are not pooled here:
the image encoder's keypoint heatmaps are built from the last three (and the stride-4 map refines
them where the model asks for it), its latent code from the stride-32 map and what the heatmaps
point at.

* :class:`ResNet18Backbone`: the ResNet-18 layout (He et al. 2016): 7x7 stem, four stages of two
  basic blocks with 64/128/256/512 channels; maps of 64/128/256/512 channels.
* :class:`MobileNetBackbone`: the MobileNetV3-small layout (Howard et al. 2019): inverted
  residual blocks with depthwise convolutions, squeeze-and-excitation and hard-swish, ending in a
  1x1 convolution to 576 channels (times ``width_mult``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from handpose.model.config import ModelConfig


class FeatureMaps(NamedTuple):
    """Backbone outputs for an (N, 3, S, S) batch: (N, C4, S/4, S/4), (N, C8, S/8, S/8),
    (N, C16, S/16, S/16), (N, C32, S/32, S/32)."""

    stride4: torch.Tensor
    stride8: torch.Tensor
    stride16: torch.Tensor
    stride32: torch.Tensor


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet18Backbone(nn.Module):
    """ResNet-18-style CNN: (N, 3, S, S) -> :class:`FeatureMaps` with 64/128/256/512 channels."""

    channels = (64, 128, 256, 512)
    _taps = (1, 3, 5, 7)  # indices into ``stages`` whose outputs are the stride 4/8/16/32 maps

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        )
        layers: list[nn.Module] = []
        c_in = 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [_BasicBlock(c_in, c_out, stride), _BasicBlock(c_out, c_out, 1)]
            c_in = c_out
        self.stages = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        return _tapped(self.stages, self.stem(x), self._taps)


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = _round8(channels / 4)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(s))))


class _InvertedResidual(nn.Module):
    def __init__(self, c_in: int, kernel: int, c_exp: int, c_out: int, se: bool, hswish: bool, stride: int) -> None:
        super().__init__()
        act: type[nn.Module] = nn.Hardswish if hswish else nn.ReLU
        layers: list[nn.Module] = []
        if c_exp != c_in:
            layers += [nn.Conv2d(c_in, c_exp, 1, bias=False), nn.BatchNorm2d(c_exp), act()]
        layers += [
            nn.Conv2d(c_exp, c_exp, kernel, stride, kernel // 2, groups=c_exp, bias=False),
            nn.BatchNorm2d(c_exp),
            act(),
        ]
        if se:
            layers.append(_SqueezeExcite(c_exp))
        layers += [nn.Conv2d(c_exp, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


def _round8(value: float) -> int:
    return max(8, int(value + 4) // 8 * 8)


# kernel, expansion, output channels, squeeze-excite, hard-swish, stride (MobileNetV3-small)
_MOBILENET_SMALL = (
    (3, 16, 16, True, False, 2),
    (3, 72, 24, False, False, 2),
    (3, 88, 24, False, False, 1),
    (5, 96, 40, True, True, 2),
    (5, 240, 40, True, True, 1),
    (5, 240, 40, True, True, 1),
    (5, 120, 48, True, True, 1),
    (5, 144, 48, True, True, 1),
    (5, 288, 96, True, True, 2),
    (5, 576, 96, True, True, 1),
    (5, 576, 96, True, True, 1),
)


def _tapped(layers: nn.Sequential, x: torch.Tensor, taps: tuple[int, int, int, int]) -> FeatureMaps:
    """Run ``layers`` on ``x`` and collect the outputs of the layers at ``taps``."""
    outs = []
    for i, layer in enumerate(layers):
        x = layer(x)
        if i in taps:
            outs.append(x)
    return FeatureMaps(*outs)


class MobileNetBackbone(nn.Module):
    """MobileNetV3-small-style CNN: (N, 3, S, S) -> :class:`FeatureMaps` with 16/24/48/576 channels
    (times ``width_mult``, rounded to multiples of 8)."""

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        c_in = _round8(16 * width_mult)
        layers: list[nn.Module] = [nn.Conv2d(3, c_in, 3, 2, 1, bias=False), nn.BatchNorm2d(c_in), nn.Hardswish()]
        channels, taps = [], []
        for kernel, exp, out, se, hswish, stride in _MOBILENET_SMALL:
            c_exp, c_out = _round8(exp * width_mult), _round8(out * width_mult)
            if stride == 2:  # the layer before a stride-2 block ends a stride level (2, 4, 8, 16)
                channels.append(c_in)
                taps.append(len(layers) - 1)
            layers.append(_InvertedResidual(c_in, kernel, c_exp, c_out, se, hswish, stride))
            c_in = c_out
        c_last = _round8(576 * width_mult)
        layers += [nn.Conv2d(c_in, c_last, 1, bias=False), nn.BatchNorm2d(c_last), nn.Hardswish()]
        self.features = nn.Sequential(*layers)
        self.channels = (channels[-3], channels[-2], channels[-1], c_last)  # strides 4, 8, 16, the last layer's 32
        self._taps = (taps[-3], taps[-2], taps[-1], len(layers) - 1)

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        return _tapped(self.features, x, self._taps)


def build_backbone(config: ModelConfig) -> ResNet18Backbone | MobileNetBackbone:
    """The backbone named by ``config.backbone``."""
    if config.backbone == "resnet18":
        return ResNet18Backbone()
    return MobileNetBackbone(config.width_mult)
