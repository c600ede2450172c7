"""Metric 3D lifting: known translations from exact projections, noise, depth images, renders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from handpose import skeleton
from handpose.geometry.camera import CameraIntrinsics
from handpose.data.synth import rig
from handpose.errors import InputError
from handpose.geometry.lift import (DEFAULT_HAND_SIZE_MM, PALM_SURFACE_OFFSET_MM, STABLE_BONE_RATIOS, STABLE_BONES, pose_scale,
                           solve_translation, translation_from_depth)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@pytest.fixture(scope="module")
def rest_pose_mm() -> np.ndarray:
    hand = rig.load_rig("right")
    joints = rig.joints21_mm(rig.forward_kinematics(hand, np.tile(np.eye(3), (25, 1, 1))))
    return joints - joints[0]


def _project(points_mm: np.ndarray, camera: CameraIntrinsics) -> np.ndarray:
    px, _ = cv2.projectPoints(points_mm, np.zeros(3), np.zeros(3), camera.K, camera.dist)
    return px.reshape(-1, 2)


def _case(rng, rest_pose_mm):
    pose = rest_pose_mm @ _random_rotation(rng).T
    t = np.array([rng.uniform(-150, 150), rng.uniform(-100, 100), rng.uniform(300, 900)])
    return pose, t


def test_exact_projection_gives_the_exact_translation(rest_pose_mm):
    rng = np.random.default_rng(0)
    pinhole = CameraIntrinsics.default_for(640, 480)
    distorted = CameraIntrinsics(K=pinhole.K, dist=np.array([-0.25, 0.08, 0.001, -0.002, 0.0]), width=640, height=480)
    for camera in (pinhole, distorted):
        for _ in range(10):
            pose, t = _case(rng, rest_pose_mm)
            solved = solve_translation(_project(pose + t, camera), pose, camera)
            np.testing.assert_allclose(solved, t, atol=1e-3)


def test_pixel_noise_gives_a_small_error(rest_pose_mm):
    rng = np.random.default_rng(1)
    camera = CameraIntrinsics.default_for(640, 480)
    errors = []
    for _ in range(50):
        pose, t = _case(rng, rest_pose_mm)
        t[2] = 500.0
        noisy = _project(pose + t, camera) + rng.normal(scale=2.0, size=(21, 2))
        errors.append(np.linalg.norm(solve_translation(noisy, pose, camera) - t))
    # 2 px noise on a hand ~0.5 m away (f = 554 px): a few mm in the mean, mostly along z
    assert np.mean(errors) < 15.0, np.mean(errors)


def test_wrong_hand_size_scales_depth(rest_pose_mm):
    rng = np.random.default_rng(2)
    camera = CameraIntrinsics.default_for(640, 480)
    pose, t = _case(rng, rest_pose_mm)
    solved = solve_translation(_project(pose + t, camera), 1.1 * pose, camera)
    np.testing.assert_allclose(solved, 1.1 * t, rtol=1e-6)


def test_translation_from_depth_image(rest_pose_mm):
    rng = np.random.default_rng(3)
    camera = CameraIntrinsics.default_for(640, 480)
    pose, t = _case(rng, rest_pose_mm)
    keypoints = _project(pose + t, camera)
    palm_z = 0.5 * (pose[0, 2] + pose[9, 2]) + t[2]
    depth = np.zeros((480, 640), np.uint16)
    depth[:] = np.uint16(round(palm_z - PALM_SURFACE_OFFSET_MM))
    solved = translation_from_depth(keypoints, pose, camera, depth)
    assert solved is not None
    assert np.linalg.norm(solved - t) < 1.0  # only the depth's mm rounding remains
    assert translation_from_depth(keypoints, pose, camera, np.zeros_like(depth)) is None


def test_rendered_hand_translation(rest_pose_mm):
    """Rendered right hands facing the camera: exact 2D solve; depth buffer read at the palm within ~1.5 cm (the skin is 5-30 mm in front of the palm joints)."""
    render = pytest.importorskip("handpose.data.synth.render")
    try:
        renderer = render.Renderer(640, 480)
    except Exception as exc:  # no OpenGL context on this machine
        pytest.skip(f"no headless OpenGL: {exc}")
    hand = rig.load_rig("right")
    rng = np.random.default_rng(4)
    camera = CameraIntrinsics.default_for(640, 480)
    mesh = renderer.add_mesh(hand.faces, len(hand.vertices_mm))
    lighting = render.Lighting(ambient=np.full(3, 0.4), directions=np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
                               colors=np.full((2, 3), 0.5))
    errors_2d, errors_depth = [], []
    rest = rest_pose_mm
    palm_normal = np.cross(rest[5] - rest[0], rest[17] - rest[0])
    palm_normal /= np.linalg.norm(palm_normal)
    while len(errors_2d) < 5:
        rotation = _random_rotation(rng)
        if abs((rotation @ palm_normal)[2]) < 0.9:
            continue  # the depth method needs the palm or the back of the hand towards the camera
        t = np.array([rng.uniform(-60, 60), rng.uniform(-40, 40), rng.uniform(400, 700)])
        root = np.eye(4)
        root[:3, :3], root[:3, 3] = rotation, t
        globals_ = rig.forward_kinematics(hand, np.tile(np.eye(3), (25, 1, 1)), root=root)
        joints = rig.joints21_mm(globals_)
        vertices, normals = rig.skin(hand, globals_)
        albedo = np.full((len(vertices), 3), 0.6)
        image = renderer.render(camera.K, np.zeros((480, 640, 3), np.uint8),
                                [render.MeshDraw(mesh, vertices, normals, albedo)], lighting)
        depth = np.nan_to_num(image.depth_mm, posinf=0.0)
        keypoints = _project(joints, camera)
        pose = joints - joints[0]
        errors_2d.append(np.linalg.norm(solve_translation(keypoints, pose, camera) - joints[0]))
        solved = translation_from_depth(keypoints, pose, camera, np.rint(depth).astype(np.uint16))
        if solved is not None:
            errors_depth.append(np.linalg.norm(solved - joints[0]))
    renderer.release()
    print(f"rendered hands: 2D translation error {np.max(errors_2d):.3f} mm, depth {np.mean(errors_depth):.1f} mm")
    assert np.max(errors_2d) < 1e-3
    assert len(errors_depth) == 5 and np.mean(errors_depth) < 15.0


def test_bad_shapes():
    camera = CameraIntrinsics.default_for(640, 480)
    with pytest.raises(InputError, match=r"\(21, 2\)"):
        solve_translation(np.zeros((20, 2)), np.zeros((21, 3)), camera)
    with pytest.raises(InputError, match="camera's size"):
        translation_from_depth(np.zeros((21, 2)), np.zeros((21, 3)), camera, np.zeros((10, 10), np.uint16))


def test_default_hand_size_is_the_rig_bone_at_the_models_points(rest_pose_mm):
    """The model outputs MediaPipe's points, so the default size is the rig's bone between those."""
    from handpose.data.convention import KeypointOffsets

    assert abs(skeleton.bone_length(rest_pose_mm) - 46.9) < 0.1
    points = KeypointOffsets.load().apply(rest_pose_mm)
    assert abs(skeleton.bone_length(points) - DEFAULT_HAND_SIZE_MM) < 0.1
    ratios = [np.linalg.norm(points[c] - points[p]) / skeleton.bone_length(points) for p, c in STABLE_BONES]
    np.testing.assert_allclose(ratios, STABLE_BONE_RATIOS, atol=1e-3)
    assert pose_scale(points / skeleton.bone_length(points)) == pytest.approx(1.0, abs=1e-3)
    stretched = points / skeleton.bone_length(points) * 1.1
    stretched[10] = stretched[9] + (stretched[10] - stretched[9]) / 1.1 * 0.9  # one bone off: ignored
    assert pose_scale(stretched) == pytest.approx(1.1, abs=2e-3)


def test_translation_from_mediapipe_keypoints_on_rendered_frames():
    """Real detector on rendered frames: MediaPipe's 2D + the true pose -> the hand's camera position.

    MediaPipe's joints differ from the rig's by ~10 px even at the palm (surface vs joint centre), so
    this measures what the 2D route gives with a real detector: x, y within ~2 cm, depth within ~15%.
    """
    frames_module = pytest.importorskip("handpose.data.synth.frames")
    from handpose.detect.detector import HandDetector

    try:
        frames = list(frames_module.hand_sequence(12, fps=2.0, seed=3))
    except Exception as exc:  # no OpenGL context
        pytest.skip(f"no headless OpenGL: {exc}")
    camera = CameraIntrinsics.default_for(640, 480)
    errors = []
    with HandDetector(mode="image", num_hands=1) as detector:
        for frame in frames:
            truth = frame.hands[0]
            boxes = detector.detect(frame.rgb)
            if not boxes or np.linalg.norm(boxes[0].keypoints_px - truth.keypoints_px, axis=1).mean() > 30:
                continue  # MediaPipe missed or confused this hand: nothing to measure
            pose = truth.joints_cam_mm - truth.joints_cam_mm[0]
            errors.append(solve_translation(boxes[0].keypoints_px, pose, camera) - truth.joints_cam_mm[0])
    errors_mm = np.abs(np.array(errors))
    print(f"MediaPipe 2D on {len(errors)} renders: translation error median |x| {np.median(errors_mm[:, 0]):.1f}, "
          f"|y| {np.median(errors_mm[:, 1]):.1f}, |z| {np.median(errors_mm[:, 2]):.1f} mm (hands ~400 mm away)")
    assert len(errors) >= 8
    assert np.median(errors_mm[:, :2]) < 20.0
    assert np.median(errors_mm[:, 2]) < 60.0
