"""Training losses (docs/DESIGN.md §1) for the three stages of the schedule.

Reconstruction terms are, per sample, either squared errors summed over the 63 pose numbers (a
Gaussian likelihood) or the 21 joints' Euclidean distances summed (a likelihood with heavier tails,
which scores a pose the way EPE does and lets a few ambiguous joints pull less); KL terms are summed
over latent dimensions; both are averaged over the samples that show a hand. The 2D term is an L1
error in units of the crop side, helped by a cross-entropy from each keypoint heatmap to a Gaussian
around its joint (which trains the heatmaps much faster than the soft-argmax alone); presence is a
binary cross-entropy over all samples.

Two domains: exact labels (renders, public datasets) train every term; teacher-labelled real photos
(``HandBatch.exact_3d`` False) train the 2D terms, presence and the KL to the prior, and their 3D
shape through :func:`rotation_aligned_error` against the teacher's shape (MediaPipe's world
landmarks: their rotation is not trusted, their shape is), down-weighted by ``teacher_3d``, on both
the aligned path and the image VAE's own decoder; with ``image_plane`` > 0 their 3D pose also learns
to agree with the teacher's 2D keypoints through :func:`image_plane_bone_error` (each bone's direction
in the image, which carries the view and the fingers' bends that the rotation-free term cannot see
and keeps nothing of the 2D's scale or perspective). Visibility is a per-joint binary cross-entropy
where the source labels it (renders).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final, Literal

import torch
import torch.nn.functional as F

from handpose import skeleton
from handpose.data.batch import HandBatch
from handpose.errors import InputError
from handpose.model.hand_model import HandModel
from handpose.model.keypoint_head import FINE_STRIDE, STRIDE, heatmap_target

Stage = Literal["pose", "image", "joint"]
Recon = Literal["squared", "euclidean"]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms.

    Attributes:
        beta: final weight of the KL-to-prior terms of both VAEs.
        beta_warmup_steps: beta rises linearly from 0 to ``beta`` over this many steps.
        image_recon: image VAE's own decoder reconstruction (the baseline path).
        align_kl: KL(r(z|x) || q_phi(z|y)), the alignment.
        align_recon: reconstruction through the pose decoder from z ~ r(z|x).
        keypoints_2d: 2D keypoint L1 (crop-side units).
        heatmap: keypoint-heatmap cross-entropy to a Gaussian around each joint (nats per joint).
        presence: hand-presence cross-entropy.
        teacher_3d: rotation-invariant error to a teacher's 3D shape (real photos), per joint
            distance summed like "euclidean".
        visibility: per-joint visibility cross-entropy (mean over joints).
        image_plane: the 3D pose's bones against the 2D keypoints' bones in the image
            (:func:`image_plane_bone_error`), teacher-labelled real photos only.
        joint_bend: each thumb and finger joint's bend against the teacher's
            (:func:`joint_bend_error`), teacher-labelled real photos only.
        recon: how every pose reconstruction is scored: "squared" (sum of squared errors) or
            "euclidean" (sum of the joints' distances), see :func:`recon_error`.
    """

    beta: float = 1e-2
    beta_warmup_steps: int = 2000
    image_recon: float = 1.0
    align_kl: float = 0.01
    align_recon: float = 1.0
    keypoints_2d: float = 20.0
    heatmap: float = 1.0
    presence: float = 1.0
    teacher_3d: float = 0.3
    visibility: float = 0.5
    image_plane: float = 0.0
    joint_bend: float = 0.0
    recon: Recon = "squared"

    def __post_init__(self) -> None:
        if self.recon not in ("squared", "euclidean"):
            raise InputError(f"recon must be 'squared' or 'euclidean', got {self.recon!r}")

    def beta_at(self, step: int) -> float:
        if self.beta_warmup_steps <= 0:
            return self.beta
        return self.beta * min(1.0, step / self.beta_warmup_steps)


@dataclass(frozen=True)
class LossTerms:
    """Each loss term (scalar tensors; zero where the stage does not use it) and their weighted total."""

    total: torch.Tensor
    pose_recon: torch.Tensor
    pose_kl: torch.Tensor
    image_recon: torch.Tensor
    image_kl: torch.Tensor
    align_kl: torch.Tensor
    align_recon: torch.Tensor
    keypoints_2d: torch.Tensor
    heatmap: torch.Tensor
    presence: torch.Tensor
    teacher_3d: torch.Tensor
    visibility: torch.Tensor
    image_plane: torch.Tensor
    joint_bend: torch.Tensor

    def floats(self) -> dict[str, float]:
        """Plain numbers for logging."""
        return {f.name: float(getattr(self, f.name).detach()) for f in fields(self)}


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    count = mask.sum()
    return (values * mask).sum() / count.clamp(min=1)


def recon_error(pred: torch.Tensor, target: torch.Tensor, kind: Recon) -> torch.Tensor:
    """Reconstruction error per sample, (N, 21, 3) x2 -> (N,): the sum of squared errors
    ("squared") or the sum of the joints' Euclidean distances ("euclidean"; a tiny floor under the
    square root keeps its gradient finite at zero error)."""
    diff = pred - target
    if kind == "squared":
        return (diff**2).flatten(1).sum(dim=1)
    return ((diff**2).sum(dim=-1) + 1e-8).sqrt().sum(dim=1)


def rotation_aligned_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per sample, (N, 21, 3) x2 -> (N,): the sum of joint distances between ``pred`` and
    ``target`` after both are centred and ``target`` is turned onto ``pred`` by its best rotation
    (Kabsch, reflections excluded; the rotation carries no gradient, so only ``pred`` learns)."""
    pc = pred - pred.mean(dim=1, keepdim=True)
    tc = target - target.mean(dim=1, keepdim=True)
    with torch.no_grad():
        u, _, vh = torch.linalg.svd(tc.transpose(1, 2) @ pc)  # tc @ (u vh) ~ pc
        flip = torch.ones_like(u[:, 0])
        flip[:, 2] = torch.sign(torch.det(u @ vh))
        rotation = (u * flip.unsqueeze(1)) @ vh
    return (((pc - tc @ rotation) ** 2).sum(dim=-1) + 1e-8).sqrt().sum(dim=1)


def image_plane_bone_error(pose: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
    """Per sample, (N, 21, 3) view-frame poses and (N, 21, 2) 2D keypoints (crop px, the same hand)
    -> (N,): how differently the pose's bones point in the image than the keypoints' bones.

    The view frame's x and y are the crop's (x right, y down), so a pose's bone ``(dx, dy, dz)`` is
    seen along ``(dx, dy)`` (exact up to perspective, which turns a bone by a few degrees at most for
    a hand a forearm from the camera). Per bone: the distance between the two unit directions (0
    when they agree, 2 when opposite, growing about linearly with the angle), weighted by the 2D
    bone's length over the hand's 2D size (the wrist -> middle MCP distance), since a bone seen end-on
    has no reliable direction; summed over the 20 bones. Scale, position and depth of the pose do not
    matter; a folded finger whose keypoints point up the image does.
    """
    parents, children = (torch.tensor(ix, device=pose.device) for ix in zip(*skeleton.BONES))
    seen = pose[:, children, :2] - pose[:, parents, :2]  # (N, 20, 2)
    target = keypoints[:, children] - keypoints[:, parents]
    size = (keypoints[:, 9] - keypoints[:, 0]).norm(dim=-1, keepdim=True).clamp(min=1e-6)  # (N, 1)
    length = target.norm(dim=-1)
    weight = (length / size).clamp(max=1.0)
    unit_seen = seen / (seen.norm(dim=-1, keepdim=True) + 1e-6)
    unit_target = target / length.unsqueeze(-1).clamp(min=1e-6)
    return (weight * (((unit_seen - unit_target) ** 2).sum(-1) + 1e-8).sqrt()).sum(dim=1)


#: (bone into, bone out of) each of the 15 thumb and finger joints that bend (CMC/MCP, PIP/MCP, DIP/IP),
#: as indices into ``skeleton.BONES``.
_BEND_PAIRS: Final = tuple((i, k) for i, (_, c) in enumerate(skeleton.BONES)
                           for k, (p, _) in enumerate(skeleton.BONES) if p == c)


def joint_bend_error(pose: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per sample, (N, 21, 3) x2 -> (N,): how differently the 15 thumb and finger joints bend, the
    sum over them of |angle in ``pose`` - angle in ``target``| (radians) between the bone into a
    joint and the bone out of it. Free of rotation, position and scale; a finger folded in one pose
    and straight in the other costs about pi/2 per joint it folds at, whatever its bones' lengths."""
    into, out = (torch.tensor(ix, device=pose.device) for ix in zip(*_BEND_PAIRS))
    parents, children = (torch.tensor(ix, device=pose.device) for ix in zip(*skeleton.BONES))

    def angles(joints: torch.Tensor) -> torch.Tensor:
        bones = joints[:, children] - joints[:, parents]  # (N, 20, 3)
        a, b = bones[:, into], bones[:, out]
        cross = (torch.linalg.cross(a, b).pow(2).sum(-1) + 1e-12).sqrt()
        return torch.atan2(cross, (a * b).sum(-1))  # (N, 15), 0 = straight

    return (angles(pose) - angles(target)).abs().sum(dim=1)


def _heatmap_ce(logits: torch.Tensor, keypoints_px: torch.Tensor, centres: torch.Tensor, stride: int) -> torch.Tensor:
    """(N,) cross-entropy per crop (mean over joints) from heatmap logits (N, 21, C) over the cells
    ``centres`` (C, 2) to a Gaussian of one cell's size around each joint (N, 21, 2) crop px."""
    target = heatmap_target(keypoints_px, centres, float(stride))
    return -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean(-1)


def compute_losses(model: HandModel, batch: HandBatch, stage: Stage, step: int, weights: LossWeights) -> LossTerms:
    """Losses of one training step.

    stage "pose": pose VAE only (batch may be pose-only). "image": image VAE, translator and heads,
    with the pose VAE frozen (its posterior is the alignment target, no gradient). "joint": all.
    """
    if stage not in ("pose", "image", "joint"):
        raise InputError(f"stage must be 'pose', 'image' or 'joint', got {stage!r}")
    beta = weights.beta_at(step)
    y = batch.joints_view_norm
    mask = batch.present.float()
    exact = mask if batch.exact_3d is None else mask * batch.exact_3d.float()
    zero = y.new_zeros(())
    pose_recon = pose_kl = image_recon = image_kl = align_kl = align_recon = kp_loss = hm_loss = pres_loss = zero
    teacher_loss = vis_loss = plane_loss = bend_loss = zero

    if stage in ("pose", "joint"):
        q_phi = model.pose_vae.encode(y)
        pose_recon = _masked_mean(recon_error(model.pose_vae.decoder(q_phi.sample()), y, weights.recon), exact)
        pose_kl = _masked_mean(q_phi.kl_standard(), exact)

    if stage in ("image", "joint"):
        if batch.images is None or batch.keypoints_crop_px is None:
            raise InputError(f"stage {stage!r} needs a batch with images and 2D keypoints, got a pose-only batch")
        if stage == "image":
            with torch.no_grad():
                q_phi_target = model.pose_vae.encode(y)
        else:
            q_phi_target = model.pose_vae.encode(y)
        enc = model.image_vae.encoder(batch.images)
        w = enc.posterior.sample()
        image_pose = model.image_vae.decoder(w)
        image_recon = _masked_mean(recon_error(image_pose, y, weights.recon), exact)
        image_kl = _masked_mean(enc.posterior.kl_standard(), mask)
        r = model.alignment(w, enc.posterior)
        align_kl = _masked_mean(r.kl(q_phi_target), exact)
        aligned_pose = model.pose_vae.decoder(r.sample())
        align_recon = _masked_mean(recon_error(aligned_pose, y, weights.recon), exact)
        if batch.teacher_pose is not None and batch.has_teacher is not None:
            taught = batch.has_teacher.float() * mask
            teacher_loss = _masked_mean(rotation_aligned_error(aligned_pose, batch.teacher_pose)
                                        + rotation_aligned_error(image_pose, batch.teacher_pose), taught)
            if weights.image_plane > 0:
                plane_loss = _masked_mean(image_plane_bone_error(aligned_pose, batch.keypoints_crop_px)
                                          + image_plane_bone_error(image_pose, batch.keypoints_crop_px), taught)
            if weights.joint_bend > 0:
                bend_loss = _masked_mean(joint_bend_error(aligned_pose, batch.teacher_pose)
                                         + joint_bend_error(image_pose, batch.teacher_pose), taught)
        if batch.visible is not None and batch.visible_known is not None:
            logit = model.visibility_logit(enc, model.decode_aligned(enc))
            per_joint = F.binary_cross_entropy_with_logits(logit, batch.visible.float(),
                                                           reduction="none").mean(-1)
            vis_loss = _masked_mean(per_joint, mask * batch.visible_known.float())
        size = float(model.config.input_size)
        kp_err = (enc.keypoints_crop_px - batch.keypoints_crop_px).abs().sum(-1).mean(-1) / size
        kp_loss = _masked_mean(kp_err, mask)
        heads = model.image_vae.encoder.keypoints
        hm_loss = _masked_mean(_heatmap_ce(enc.heatmap_logits, batch.keypoints_crop_px, heads.cell_xy, STRIDE), mask)
        if enc.fine_heatmap_logits is not None:
            hm_loss = hm_loss + _masked_mean(_heatmap_ce(enc.fine_heatmap_logits, batch.keypoints_crop_px,
                                                         heads.fine_cell_xy, FINE_STRIDE), mask)
        pres_loss = F.binary_cross_entropy_with_logits(enc.presence_logit, mask)

    total = (
        pose_recon + beta * pose_kl
        + weights.image_recon * image_recon + beta * image_kl
        + weights.align_kl * align_kl + weights.align_recon * align_recon
        + weights.keypoints_2d * kp_loss + weights.heatmap * hm_loss + weights.presence * pres_loss
        + weights.teacher_3d * teacher_loss + weights.visibility * vis_loss + weights.image_plane * plane_loss
        + weights.joint_bend * bend_loss
    )
    return LossTerms(total, pose_recon, pose_kl, image_recon, image_kl, align_kl, align_recon, kp_loss, hm_loss,
                     pres_loss, teacher_loss, vis_loss, plane_loss, bend_loss)
