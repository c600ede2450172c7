"""Training on two domains: the mixture's proportions, the rotation-invariant teacher term, the
image-plane bone term, which samples each loss term reads, and the real-photo evaluation's known
answers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from handpose import skeleton
from handpose.model.config import ModelConfig
from handpose.data.batch import collate, images_to_tensor
from handpose.data.mixture import Mixture
from handpose.errors import InputError
from handpose.model import build_model
from handpose.geometry.finger_fold import finger_folds
from handpose.train.losses import (LossWeights, compute_losses, image_plane_bone_error, joint_bend_error,
                                   rotation_aligned_error)
from handpose.eval import real_eval
from handpose.eval.real_eval import evaluate_real, pose_in_image, spread
from tests.hand_fixtures import toy_samples


def _teacher(sample, world_mm=None):  # noqa: ANN001, ANN202
    """``sample`` as a teacher-labelled real photo: no exact 3D, the shape ``world_mm``, no visibility."""
    world = sample.joints_cam_mm - sample.joints_cam_mm.mean(0) if world_mm is None else world_mm
    return replace(sample, joints_cam_mm=np.full((21, 3), np.nan, np.float32), exact_3d=False,
                   world_mm=np.asarray(world, np.float32), visible=None)


def test_mixture_draws_each_part_in_its_share():
    a, b = toy_samples(3, seed=1), toy_samples(40, seed=2)
    mix = Mixture([a, b], [0.75, 0.25], length=1000)
    assert len(mix) == 1000
    first = [mix[i] is a[i % 3] for i in range(750)]
    assert all(first) and mix[750] is b[0] and mix[999] is b[249 % 40]
    with pytest.raises(InputError, match="one weight per dataset"):
        Mixture([a, b], [1.0])
    with pytest.raises(InputError, match="positive weights"):
        Mixture([a, []], [1.0, 1.0])


def test_rotation_aligned_error_ignores_rotation_and_translation_not_shape():
    pose = torch.randn(5, 21, 3, dtype=torch.float64)
    turns = torch.tensor(Rotation.random(5, random_state=1).as_matrix())
    moved = pose @ turns + torch.tensor([0.3, -2.0, 1.0], dtype=torch.float64)
    floor = 21 * 1e-4  # the square root's floor, 1e-8 under it, per joint
    assert rotation_aligned_error(pose, moved).abs().max() < floor + 1e-6
    mirrored = moved * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)  # a reflection is not a rotation
    assert rotation_aligned_error(pose, mirrored).min() > 1.0
    bent = moved.clone()
    bent[:, 8, 0] += 0.5  # one joint off by 0.5: 20/21 of it at that joint, 1/21 at each other one once centred,
    err = rotation_aligned_error(pose, bent)  # 0.95 in all unturned; the least-squares turn spreads it a little
    assert (err > 0.5).all() and (err < 1.5).all()


def test_image_plane_bone_error_known_answers():
    """Zero for a pose seen exactly as the keypoints (at any scale, shift and depth); each bone of a
    pose turned half a turn in the image is opposite (distance 2, times its weight); a finger folded
    in the image costs only at that finger's bones."""
    rng = np.random.default_rng(3)
    kp = torch.tensor(rng.uniform(10, 118, (4, 21, 2)))
    pose = torch.cat([(kp - 60.0) * 0.07 + torch.tensor([0.4, -1.0]), torch.tensor(rng.normal(0, 2, (4, 21, 1)))], -1)
    floor = 20 * 1e-4  # the square root's floor, 1e-8 under it, per bone (weights <= 1)
    assert image_plane_bone_error(pose, kp).abs().max() < floor + 1e-6
    parents, children = np.array(skeleton.BONES).T
    bones = kp[:, children] - kp[:, parents]
    weight = (bones.norm(dim=-1) / (kp[:, 9] - kp[:, 0]).norm(dim=-1, keepdim=True)).clamp(max=1.0)
    turned = pose * torch.tensor([-1.0, -1.0, 1.0], dtype=torch.float64)
    assert torch.allclose(image_plane_bone_error(turned, kp), 2 * weight.sum(1), atol=floor)
    folded = pose.clone()
    folded[:, 7:9, :2] = 2 * folded[:, 6:7, :2] - folded[:, 7:9, :2]  # index DIP and tip mirrored about its PIP
    index_far = [list(children).index(7), list(children).index(8)]  # PIP -> DIP, DIP -> tip: both reversed
    assert torch.allclose(image_plane_bone_error(folded, kp), 2 * weight[:, index_far].sum(1), atol=floor)


def test_joint_bend_error_known_answers():
    """Zero for the same pose turned, moved and scaled; a finger's tip folded by a right angle at its
    DIP costs pi/2 there and nowhere else."""
    pose = torch.tensor(np.array([s.joints_cam_mm for s in toy_samples(3, seed=4)]), dtype=torch.float64)
    turns = torch.tensor(Rotation.random(3, random_state=2).as_matrix())
    moved = 2.5 * pose @ turns + torch.tensor([10.0, -3.0, 40.0], dtype=torch.float64)
    assert joint_bend_error(pose, moved).abs().max() < 1e-4
    straight = torch.zeros(1, 21, 3, dtype=torch.float64)
    straight[0, 1:, 1] = -torch.tensor([1, 2, 3, 4] * 5, dtype=torch.float64)  # each finger a straight line up
    straight[0, 1:, 0] = torch.arange(5, dtype=torch.float64).repeat_interleave(4)  # side by side
    folded = straight.clone()
    folded[0, 12] = folded[0, 11] + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)  # middle tip turned away
    assert joint_bend_error(folded, straight).item() == pytest.approx(np.pi / 2, abs=1e-4)
    assert joint_bend_error(straight, folded).item() == pytest.approx(np.pi / 2, abs=1e-4)


def test_finger_folds_known_answers():
    """Each finger a straight ray from the wrist folds 0; the middle finger's tip turned by a right
    angle at the DIP folds that finger alone, by atan(1/2) (its knuckle -> tip is two bones along the
    ray and one across), the same for the mirror image, turned and scaled."""
    rays = np.array([[-1.0, -0.5, 0.0], [-0.5, -1.0, 0.0], [0.0, -1.0, 0.0], [0.5, -1.0, 0.0], [1.0, -1.0, 0.0]])
    straight = np.zeros((21, 3))
    for f, ray in enumerate(rays):
        straight[1 + 4 * f : 5 + 4 * f] = np.arange(1, 5)[:, None] * ray
    assert finger_folds(straight) == pytest.approx(np.zeros(5), abs=1e-6)
    folded = straight.copy()
    folded[12] = folded[11] + np.array([0.0, 0.0, 1.0])
    expected = [0.0, 0.0, np.arctan(1 / 2), 0.0, 0.0]
    assert finger_folds(folded) == pytest.approx(expected, abs=1e-6)
    turned = 3.0 * (folded * np.array([-1.0, 1.0, 1.0])) @ Rotation.random(random_state=5).as_matrix().T
    assert finger_folds(turned) == pytest.approx(expected, abs=1e-6)


def test_each_term_reads_only_the_samples_that_label_it():
    torch.manual_seed(0)
    model = build_model(ModelConfig())
    exact = [replace(s, visible=np.arange(21) % 3 > 0) for s in toy_samples(4, seed=5)]
    real = [_teacher(s) for s in toy_samples(4, seed=6)]
    weights = LossWeights(beta_warmup_steps=0, image_plane=1.0, joint_bend=1.0)
    only_exact = compute_losses(model, collate(exact), "image", 0, weights)
    assert only_exact.teacher_3d == 0 and only_exact.image_plane == 0 and only_exact.joint_bend == 0
    assert only_exact.visibility > 0
    only_real = compute_losses(model, collate(real), "image", 0, weights)
    assert only_real.teacher_3d > 0 and only_real.image_plane > 0 and only_real.joint_bend > 0
    assert only_real.visibility == 0
    off = compute_losses(model, collate(real), "image", 0, LossWeights())
    assert off.image_plane == 0 and off.joint_bend == 0  # off by default
    assert only_real.image_recon == 0 and only_real.align_kl == 0 and only_real.align_recon == 0
    assert only_real.keypoints_2d > 0 and only_real.heatmap > 0  # 2D is learnt from the teacher
    # the teacher term does not care how the teacher's shape is turned
    turn = Rotation.from_euler("xyz", [30, -50, 80], degrees=True).as_matrix()
    turned = [_teacher(s, (s.joints_cam_mm - s.joints_cam_mm.mean(0)) @ turn.T) for s in toy_samples(4, seed=6)]
    torch.manual_seed(1)
    a = compute_losses(model.eval(), collate(real), "image", 0, weights).teacher_3d
    torch.manual_seed(1)
    b = compute_losses(model.eval(), collate(turned), "image", 0, weights).teacher_3d
    assert float(a) == pytest.approx(float(b), rel=1e-4)


def test_real_evaluation_known_answers():
    """Labelled with the model's own answers (2D keypoints, and its pose at a 17 mm bone as the
    teacher's shape, turned), a model scores 0 error, PCK 1 and spread 1; its 2D shrunk about the
    centroid by 10% gives an error and a spread of 1/0.9."""
    torch.manual_seed(0)
    model = build_model(ModelConfig()).eval()
    samples = toy_samples(6, seed=7)
    with torch.no_grad():
        out = model.infer(images_to_tensor(np.stack([s.crop_rgb for s in samples])))
    turn = Rotation.from_euler("z", 40, degrees=True).as_matrix()
    own = []
    for i, s in enumerate(samples):
        shape = out.joints_view_norm[i].numpy().astype(np.float64) * 17.0
        world = skeleton.mirror(shape) if s.is_left else shape
        own.append(replace(_teacher(s, world @ turn.T), keypoints_crop_px=out.keypoints_crop_px[i].numpy()))
    report = evaluate_real(model, own, "own answers", batch_size=4)
    assert report.hands == 6 and report.hands_3d == 6
    assert report.kp_error_mean < 1e-6 and report.pck_10 == 1.0 and report.spread_ratio == pytest.approx(1.0)
    assert report.pa_mpjpe_mm < 1e-3 and report.pa_mpjpe_image_vae_mm > report.pa_mpjpe_mm
    assert report.fingers_off == 0.0
    # the teacher's middle finger folded otherwise by 1.0 rad (past FINGER_OFF_RAD) in the first two
    # hands, by 0.5 rad (short of it) in the others (the finger turned about its knuckle, about the
    # normal of the wrist -> knuckle and knuckle -> tip directions, towards a right angle): two of six
    bent = []
    for i, s in enumerate(own):
        shape = out.joints_view_norm[i].numpy().astype(np.float64) * 17.0
        palm, finger = shape[9] - shape[0], shape[12] - shape[9]
        axis = np.cross(palm, finger)
        towards_right_angle = 1.0 if palm @ finger > 0 else -1.0  # straighter than a right angle: fold more
        fold = Rotation.from_rotvec(axis / np.linalg.norm(axis) * towards_right_angle * (1.0 if i < 2 else 0.5))
        shape[10:13] = fold.apply(shape[10:13] - shape[9]) + shape[9]
        world = skeleton.mirror(shape) if s.is_left else shape
        bent.append(replace(s, world_mm=(world @ turn.T).astype(np.float32)))
    assert real_eval.FINGER_OFF_RAD == pytest.approx(0.8)
    assert evaluate_real(model, bent, "bent finger").fingers_off == pytest.approx(2 / 6)
    grown = []
    for s in own:
        kp = s.keypoints_crop_px
        centre = kp.mean(0)
        grown.append(replace(s, keypoints_crop_px=(centre + (kp - centre) / 0.9).astype(np.float32)))
    shrunk = evaluate_real(model, grown, "grown labels")
    assert shrunk.spread_ratio == pytest.approx(0.9, abs=1e-3) and shrunk.kp_error_mean > 0.01
    assert spread(np.zeros((2, 21, 2))).tolist() == [0.0, 0.0]
    # labelled with the model's own 3D pose seen in the crop (any scale and shift), the pose in the image
    # scores 0 while the 2D keypoints do not; the pose's mirror image does not
    seen = [replace(s, keypoints_crop_px=(out.joints_view_norm[i].numpy()[:, :2] * 9.0 + 61.0).astype(np.float32))
            for i, s in enumerate(own)]
    by_pose = evaluate_real(model, seen, "pose labels")
    assert by_pose.pose_in_image_error < 1e-5 and by_pose.kp_error_mean > 0.01
    assert report.pose_in_image_error > 0.01
    mirrored = [replace(s, keypoints_crop_px=s.keypoints_crop_px * np.array([-1.0, 1.0], np.float32) + 128)
                for s in seen]
    assert evaluate_real(model, mirrored, "mirrored").pose_in_image_error > 0.05


def test_pose_in_image_fits_scale_and_shift_only():
    rng = np.random.default_rng(2)
    poses = rng.normal(size=(3, 21, 3))
    kp = poses[..., :2] * np.array([[[4.0]], [[2.0]], [[0.5]]]) + np.array([10.0, -3.0])
    assert np.allclose(pose_in_image(poses, kp), kp)
    upside_down = -kp  # a half turn in the image is not a scale: the fit collapses to the centroid
    assert np.allclose(pose_in_image(poses, upside_down), upside_down.mean(axis=1, keepdims=True))
    turned = poses[..., ::-1][..., 1:]  # y, x: a mirror, which no scale and shift gives
    assert np.abs(pose_in_image(turned, kp) - kp).max() > 0.5
