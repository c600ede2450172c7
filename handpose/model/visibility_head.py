"""Per-joint visibility: is this joint seen in the crop, or hidden (by the hand itself, or outside
the crop)?

Whether a joint is hidden depends on the joint itself (what the image looks like where its heatmap
points), on the rest of the hand (a fingertip behind the palm is hidden because of where the palm
is, in depth as well as in the image) and on which joint it is (a thumb tip hides differently from
a wrist). So each joint's logit comes from a small MLP over: its pooled feature vector, the mean of
all joints' vectors (the hand as a whole), a learnt embedding of the joint's identity, its position
in the crop (normalised to [-1, 1]), how sharp its heatmap is (log of its largest softmax weight:
occluded joints tend to have broad maps), the joint's own predicted 3D position and the whole
predicted 3D pose (the aligned path's normalised pose in the crop's view frame, where depth order
says what is in front).

Measured on held-out renders (ROC AUC over all joints, docs/real_hands.md): one linear layer on the
joint's vector 0.77; the MLP without the 3D pose 0.866; with it, on the same frozen features, 0.89.
The pose enters detached: visibility training must not move the 3D answer.
"""

from __future__ import annotations

import torch
from torch import nn

from handpose.skeleton import NUM_JOINTS

#: size of the learnt per-joint identity embedding
EMBEDDING = 16
#: normalised poses span about 4 units (middle MCP->PIP lengths) from the wrist: brought to ~[-1, 1]
POSE_SCALE = 0.25


class VisibilityHead(nn.Module):
    """Joint features (N, 21, width), 2D joints (N, 21, 2) in crop px, heatmap logits (N, 21, cells)
    and the normalised 3D pose (N, 21, 3) -> visibility logits (N, 21).

    Args:
        width: channels of each joint feature vector.
        input_size: crop side S in pixels (to normalise positions).
        hidden: width of the MLP's hidden layers.
    """

    def __init__(self, width: int, input_size: int, hidden: int = 128) -> None:
        super().__init__()
        self.input_size = input_size
        self.width = width
        #: size of each joint's observation vector (:meth:`observe`)
        self.num_observed = 2 * width + 3 + 3 + 3 * NUM_JOINTS
        self.embedding = nn.Parameter(0.1 * torch.randn(NUM_JOINTS, EMBEDDING))
        self.mlp = nn.Sequential(
            nn.Linear(self.num_observed + EMBEDDING, hidden), nn.Hardswish(),
            nn.Linear(hidden, hidden), nn.Hardswish(),
            nn.Linear(hidden, 1),
        )

    def observe(self, joint_features: torch.Tensor, keypoints_px: torch.Tensor, heatmap_logits: torch.Tensor,
                joints_view_norm: torch.Tensor) -> torch.Tensor:
        """Everything the head reads but the joint's identity: (N, 21, :attr:`num_observed`) float32, the
        joint's features and the hand's mean (``2 * width``), then its crop position, heatmap sharpness,
        own 3D position and the whole pose (``3 + 3 + 63``)."""
        context = joint_features.mean(dim=1, keepdim=True).expand_as(joint_features)
        position = keypoints_px * (2.0 / self.input_size) - 1.0
        sharpness = torch.log(torch.softmax(heatmap_logits, dim=-1).amax(dim=-1, keepdim=True).clamp_min(1e-6))
        pose = joints_view_norm.detach() * POSE_SCALE
        whole = pose.flatten(1).unsqueeze(1).expand(-1, NUM_JOINTS, -1)
        return torch.cat([joint_features, context, position, sharpness, pose, whole], dim=-1)

    def classify(self, observed: torch.Tensor) -> torch.Tensor:
        """Observations (N, 21, :attr:`num_observed`) from :meth:`observe` -> visibility logits (N, 21); the
        MLP's first layer reads them with the joint's identity embedding after the two feature vectors."""
        split = 2 * self.width
        identity = self.embedding.unsqueeze(0).expand(observed.shape[0], -1, -1)
        return self.mlp(torch.cat([observed[..., :split], identity, observed[..., split:]], dim=-1)).squeeze(-1)

    def fold_standardisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Make the head read raw observations after it was trained on ``(observed - mean) / std``
        (``mean``, ``std``: (:attr:`num_observed`,)): the scaling moves into the first layer's weights and
        bias, so the same architecture (and checkpoint layout) gives the same answers."""
        first: nn.Linear = self.mlp[0]
        split = 2 * self.width
        columns = torch.cat([torch.arange(split), torch.arange(split + EMBEDDING, first.in_features)])
        with torch.no_grad():
            w = first.weight[:, columns] / std
            first.bias -= w @ mean
            first.weight[:, columns] = w

    def forward(self, joint_features: torch.Tensor, keypoints_px: torch.Tensor, heatmap_logits: torch.Tensor,
                joints_view_norm: torch.Tensor) -> torch.Tensor:
        return self.classify(self.observe(joint_features, keypoints_px, heatmap_logits, joints_view_norm))
