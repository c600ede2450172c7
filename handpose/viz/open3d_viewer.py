"""An Open3D window showing the hands in 3D in front of the camera image.

The scene is in the camera frame (mm; x right, y down, z forward) and the view starts at the
camera's own viewpoint (its intrinsics), so the 3D skeletons fall on the 2D overlay of the
annotated image, which is shown as a plane of coloured points ``image_plane_mm`` in front of
the camera; drag to orbit. Bones are lines and joints small spheres in the finger colours of
:mod:`handpose.skeleton`. Keys registered with :meth:`Open3DViewer.on_key` toggle settings.
With ``visible=False`` it renders offscreen (EGL) and :meth:`Open3DViewer.capture` returns the
picture, which is how the tests and headless runs use it. Needs ``open3d`` (extra ``viewer``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from handpose.geometry.camera import CameraIntrinsics
from handpose.errors import InputError, MissingDependencyError
from handpose.types import HandPose, check_rgb_frame
from handpose.viz.screenshot import save_screenshot
from handpose.viz.skeleton3d import BONE_COLORS, BONE_PAIRS, JOINT_COLORS

if TYPE_CHECKING:
    from handpose.live.session import LiveResult, LiveSession

JOINT_RADIUS_MM = 5.0


def import_open3d() -> Any:
    try:
        import open3d
    except ImportError:
        raise MissingDependencyError("open3d-cpu", "viewer", "The Open3D viewer") from None
    return open3d


class Open3DViewer:
    """3D hand viewer.

    Args:
        intrinsics: the camera's intrinsics; the window has its image size.
        visible: show a window (False: render offscreen).
        max_hands: hands drawn at most (geometry is allocated for them once).
        image_plane_mm: distance of the image plane from the camera.
        image_step: the image is shown as one point per ``image_step`` x ``image_step`` pixels.
        title: window title.
    """

    def __init__(
        self,
        intrinsics: CameraIntrinsics,
        *,
        visible: bool = True,
        max_hands: int = 2,
        image_plane_mm: float = 1000.0,
        image_step: int = 2,
        title: str = "handpose - 3D",
    ) -> None:
        o3d = import_open3d()
        self._o3d = o3d
        self.intrinsics = intrinsics
        self._vis = o3d.visualization.VisualizerWithKeyCallback()
        width, height = intrinsics.size
        if not self._vis.create_window(window_name=title, width=width, height=height, visible=visible):
            raise InputError("Open3D could not create a window (no display and no EGL offscreen context)")
        self._closed = False
        self._step = image_step
        # image plane: one point per image_step x image_step block, back-projected to z = image_plane_mm
        us = np.arange(image_step / 2 - 0.5, width, image_step)
        vs = np.arange(image_step / 2 - 0.5, height, image_step)
        grid_u, grid_v = np.meshgrid(us, vs)
        self._sample_u = np.round(grid_u).astype(np.intp).clip(0, width - 1)
        self._sample_v = np.round(grid_v).astype(np.intp).clip(0, height - 1)
        plane = np.stack(
            [(grid_u - intrinsics.cx) / intrinsics.fx, (grid_v - intrinsics.cy) / intrinsics.fy, np.ones_like(grid_u)],
            axis=-1,
        ).reshape(-1, 3) * image_plane_mm
        self._plane = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(plane))
        self._plane_colors = np.zeros((plane.shape[0], 3))
        self._plane.colors = o3d.utility.Vector3dVector(self._plane_colors)
        self._vis.add_geometry(self._plane)
        sphere = o3d.geometry.TriangleMesh.create_sphere(radius=JOINT_RADIUS_MM, resolution=6)
        self._sphere_vertices = np.asarray(sphere.vertices).copy()
        n_vert = len(self._sphere_vertices)
        triangles = np.asarray(sphere.triangles)
        self._joint_triangles = np.concatenate([triangles + j * n_vert for j in range(21)])
        self._joint_colors = np.repeat(JOINT_COLORS, n_vert, axis=0)
        self._bones = []
        self._joints = []
        for _ in range(max_hands):
            bones = o3d.geometry.LineSet()
            joints = o3d.geometry.TriangleMesh()
            self._vis.add_geometry(bones, reset_bounding_box=False)
            self._vis.add_geometry(joints, reset_bounding_box=False)
            self._bones.append(bones)
            self._joints.append(joints)
        options = self._vis.get_render_option()
        options.point_size = float(image_step)
        options.line_width = 4.0
        options.background_color = np.array([0.12, 0.12, 0.14])
        options.mesh_show_back_face = True
        self.reset_view()

    def reset_view(self) -> None:
        """Look through the camera: the view's pinhole = the camera's intrinsics, pose = identity."""
        o3d = self._o3d
        params = o3d.camera.PinholeCameraParameters()
        k = self.intrinsics
        params.intrinsic = o3d.camera.PinholeCameraIntrinsic(k.width, k.height, k.fx, k.fy, k.cx, k.cy)
        params.extrinsic = np.eye(4)
        control = self._vis.get_view_control()
        control.convert_from_pinhole_camera_parameters(params, allow_arbitrary=True)
        control.set_constant_z_far(10000.0)
        control.set_constant_z_near(10.0)

    def on_key(self, key: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the (upper-case letter or digit) ``key`` is pressed."""

        def on_press(_vis: Any) -> bool:
            callback()
            return False  # no geometry changed: Open3D need not redraw for the key itself

        self._vis.register_key_callback(ord(key.upper()), on_press)

    def update(self, image_rgb: np.ndarray, hands: Sequence[HandPose]) -> None:
        """Show ``image_rgb`` ((H, W, 3) uint8 RGB, the camera's size, e.g. annotated) and the hands' 3D joints."""
        check_rgb_frame(image_rgb, "image_rgb")
        if image_rgb.shape[1::-1] != self.intrinsics.size:
            raise InputError(f"image of size {self.intrinsics.size} expected, got {image_rgb.shape[1::-1]}")
        o3d = self._o3d
        np.multiply(image_rgb[self._sample_v, self._sample_u].reshape(-1, 3), 1.0 / 255.0, out=self._plane_colors)
        self._plane.colors = o3d.utility.Vector3dVector(self._plane_colors)
        self._vis.update_geometry(self._plane)
        for slot, (bones, joints) in enumerate(zip(self._bones, self._joints, strict=True)):
            if slot < len(hands):
                points = np.asarray(hands[slot].joints_cam_mm, dtype=np.float64)
                bones.points = o3d.utility.Vector3dVector(points)
                bones.lines = o3d.utility.Vector2iVector(BONE_PAIRS)
                bones.colors = o3d.utility.Vector3dVector(BONE_COLORS)
                vertices = (points[:, None, :] + self._sphere_vertices[None]).reshape(-1, 3)
                joints.vertices = o3d.utility.Vector3dVector(vertices)
                joints.triangles = o3d.utility.Vector3iVector(self._joint_triangles)
                joints.vertex_colors = o3d.utility.Vector3dVector(self._joint_colors)
                joints.compute_vertex_normals()
            else:
                bones.clear()
                joints.clear()
            self._vis.update_geometry(bones)
            self._vis.update_geometry(joints)

    def poll(self) -> bool:
        """Process window events and redraw; False once the user has closed the window."""
        alive = bool(self._vis.poll_events())
        self._vis.update_renderer()
        return alive

    def capture(self) -> np.ndarray:
        """The current picture as (H, W, 3) uint8 RGB."""
        buffer = np.asarray(self._vis.capture_screen_float_buffer(do_render=True))
        return (np.clip(buffer, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    def close(self) -> None:
        if not self._closed:
            self._vis.destroy_window()
            self._closed = True


def run_open3d(
    session: LiveSession, visible: bool = True, max_frames: int | None = None, screenshot: str | Path | None = None
) -> int:
    """Run ``session`` in an :class:`Open3DViewer` until the window is closed or the source ends.

    Keys: S smoothing, M mirroring, B backend, Space pause, Q quit. ``visible=False`` renders
    offscreen. ``screenshot``: save the last picture (PNG + JSON sidecar) at the end. Returns the
    frames shown.
    """
    viewer: Open3DViewer | None = None
    state = {"quit": False, "paused": False}
    shown = 0
    last: LiveResult | None = None
    try:
        while not state["quit"] and (max_frames is None or shown < max_frames):
            if viewer is not None and state["paused"]:
                state["quit"] = not viewer.poll()
                time.sleep(0.03)
                continue
            result = session.next()
            if result is None:
                break
            assert session.intrinsics is not None
            if viewer is not None and viewer.intrinsics.size != session.intrinsics.size:
                viewer.close()  # frames of another size (a folder of photos): a window of the new size
                viewer = None
            if viewer is None:
                viewer = Open3DViewer(session.intrinsics, visible=visible, max_hands=session.config.num_hands)
                viewer.on_key("S", session.toggle_smoothing)
                viewer.on_key("M", session.toggle_mirror)
                viewer.on_key("B", session.cycle_backend)
                viewer.on_key(" ", lambda: state.update(paused=not state["paused"]))
                viewer.on_key("Q", lambda: state.update(quit=True))
            viewer.update(result.image_rgb, result.hands)
            state["quit"] = state["quit"] or not viewer.poll()
            shown += 1
            last = result
        if viewer is not None and screenshot is not None and last is not None:
            info = {
                "frame": last.frame.index,
                "hands": [{"handedness": h.handedness, "keypoints_px": np.asarray(h.keypoints_px).tolist()}
                          for h in last.hands],
                "camera_rect": [0, 0, *viewer.intrinsics.size],
                "camera_scale": 1.0,
                "view3d_rect": [0, 0, *viewer.intrinsics.size],
                "fps": last.fps,
                "settings": session.settings,
            }  # fmt: skip
            save_screenshot(screenshot, viewer.capture(), info)
        if viewer is not None and visible and max_frames is None and screenshot is None:
            while not state["quit"] and viewer.poll():  # the source ended: keep the last view until closed
                time.sleep(0.03)
    finally:
        if viewer is not None:
            viewer.close()
    return shown
