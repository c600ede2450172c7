"""Camera intrinsics and chessboard calibration, checked on boards rendered with a known camera.

The renderer traces every output pixel back through the lens (OpenCV's distortion model,
inverted iteratively), intersects its ray with the board plane and samples the board pattern, so
the images follow the camera model exactly; blur and noise are added on top.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from apps import calibrate as calibrate_app
from handpose.geometry.chessboard import Chessboard, calibrate, find_corners, images_in_folder, video_frames
from handpose.geometry.camera import CameraIntrinsics
from handpose.errors import InputError

WIDTH, HEIGHT = 640, 480
TRUE_K = np.array([[620.0, 0.0, 326.0], [0.0, 612.0, 236.5], [0.0, 0.0, 1.0]])
TRUE_DIST = np.array([-0.12, 0.06, 0.0008, -0.0005, 0.0])
BOARD = Chessboard(cols=9, rows=6, square_mm=25.0)
PX_PER_SQUARE = 24  # board texture resolution


def board_texture(board: Chessboard) -> np.ndarray:
    """(H, W) uint8 board with a one-square white margin; texture px centre i is at
    X = -2 * square + (i + 0.5) * square / PX_PER_SQUARE mm (same for Y)."""
    n_x, n_y = board.cols + 3, board.rows + 3  # cols + 1 squares, plus a margin square each side
    i = np.arange(n_x * PX_PER_SQUARE) // PX_PER_SQUARE
    j = np.arange(n_y * PX_PER_SQUARE) // PX_PER_SQUARE
    inside = ((i >= 1) & (i <= n_x - 2))[None, :] & ((j >= 1) & (j <= n_y - 2))[:, None]
    black = ((i[None, :] + j[:, None]) % 2 == 0) & inside
    return np.where(black, 20, 235).astype(np.uint8)


def render_view(rvec: np.ndarray, tvec: np.ndarray, rng: np.random.Generator, dist: np.ndarray = TRUE_DIST) -> np.ndarray:
    """(HEIGHT, WIDTH) uint8 grey image of BOARD at pose (rvec, tvec in mm) through TRUE_K, dist."""
    u, v = np.meshgrid(np.arange(WIDTH, dtype=np.float64), np.arange(HEIGHT, dtype=np.float64))
    pixels = np.stack([u, v], -1).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-10)
    rays = cv2.undistortPoints(pixels, TRUE_K, dist, criteria=criteria).reshape(-1, 2)
    rot = cv2.Rodrigues(rvec)[0]
    d = np.concatenate([rays, np.ones((len(rays), 1))], 1) @ rot  # R^T d, row-wise
    t_board = rot.T @ tvec
    lam = t_board[2] / d[:, 2]
    xy_mm = lam[:, None] * d[:, :2] - t_board[:2]
    tex_px = (xy_mm + 2 * BOARD.square_mm) * (PX_PER_SQUARE / BOARD.square_mm) - 0.5
    maps = tex_px.reshape(HEIGHT, WIDTH, 2).astype(np.float32)
    image = cv2.remap(board_texture(BOARD), maps[..., 0], maps[..., 1], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=128)
    image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 0.8)
    image += rng.normal(0.0, 3.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def board_poses(n: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` tilted board poses whose whole board (with margin) projects inside the image."""
    centre = np.array([(BOARD.cols - 1) / 2, (BOARD.rows - 1) / 2, 0.0]) * BOARD.square_mm
    margin = np.array([[-2, -2, 0], [BOARD.cols + 1, -2, 0], [-2, BOARD.rows + 1, 0],
                       [BOARD.cols + 1, BOARD.rows + 1, 0]], np.float64) * BOARD.square_mm
    poses: list[tuple[np.ndarray, np.ndarray]] = []
    while len(poses) < n:
        angles = np.radians([rng.uniform(-35, 35), rng.uniform(-35, 35), rng.uniform(-20, 20)])
        rvec = cv2.Rodrigues(
            cv2.Rodrigues(np.array([angles[0], 0, 0]))[0] @ cv2.Rodrigues(np.array([0, angles[1], 0]))[0]
            @ cv2.Rodrigues(np.array([0, 0, angles[2]]))[0]
        )[0].reshape(3)
        z = rng.uniform(420, 650)
        target = np.array([rng.uniform(-0.25, 0.25) * z, rng.uniform(-0.2, 0.2) * z, z])
        tvec = target - cv2.Rodrigues(rvec)[0] @ centre
        outline, _ = cv2.projectPoints(margin, rvec, tvec, TRUE_K, TRUE_DIST)
        outline = outline.reshape(-1, 2)
        if np.all(outline > 2) and np.all(outline[:, 0] < WIDTH - 3) and np.all(outline[:, 1] < HEIGHT - 3):
            poses.append((rvec, tvec))
    return poses


@pytest.fixture(scope="module")
def views() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    return [(f"view{i}", render_view(r, t, rng)) for i, (r, t) in enumerate(board_poses(12, rng))]


def assert_recovers_camera(cam: CameraIntrinsics) -> None:
    for got, want in [(cam.fx, 620.0), (cam.fy, 612.0), (cam.cx, 326.0), (cam.cy, 236.5)]:
        assert abs(got - want) < 0.01 * want, (got, want)
    assert abs(cam.dist[0] - TRUE_DIST[0]) < 0.03 and abs(cam.dist[1] - TRUE_DIST[1]) < 0.1, cam.dist
    assert cam.rms_px is not None and cam.rms_px < 0.5
    assert cam.size == (WIDTH, HEIGHT)


def test_calibration_recovers_known_camera(views: list[tuple[str, np.ndarray]]) -> None:
    result = calibrate(views, BOARD)
    assert result.views_total == 12 and len(result.used) == 12
    assert_recovers_camera(result.intrinsics)
    # much tighter than the 1% the issue asks for: the renderer follows the model exactly
    cam = result.intrinsics
    assert np.allclose([cam.fx, cam.fy, cam.cx, cam.cy], [620.0, 612.0, 326.0, 236.5], rtol=2e-3)


def test_corners_found_at_their_true_positions(views: list[tuple[str, np.ndarray]]) -> None:
    rng = np.random.default_rng(3)
    rvec, tvec = board_poses(1, rng)[0]
    image = render_view(rvec, tvec, rng)
    truth, _ = cv2.projectPoints(BOARD.object_points().astype(np.float64), rvec, tvec, TRUE_K, TRUE_DIST)
    corners = find_corners(image, BOARD)
    assert corners is not None
    assert np.abs(corners - truth.reshape(-1, 2)).max() < 0.3


def test_app_writes_calibration_from_images_and_from_video(
    views: list[tuple[str, np.ndarray]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    for name, image in views:
        cv2.imwrite(str(folder / f"{name}.png"), image)
    out = tmp_path / "calib" / "cam.json"
    assert calibrate_app.main(["--images", str(folder), "--board", "9x6", "--square-mm", "25", "--out", str(out)]) == 0
    assert "found in 12 of 12" in capsys.readouterr().out
    assert_recovers_camera(CameraIntrinsics.load(out))

    video = tmp_path / "board.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (WIDTH, HEIGHT))
    for _, image in views:
        for _ in range(3):  # every third frame is used: each view once
            writer.write(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    writer.release()
    names = [name for name, _ in video_frames(video, every=3)]
    assert names == [f"frame {3 * i}" for i in range(12)]
    out_video = tmp_path / "video.json"
    assert calibrate_app.main(["--video", str(video), "--every", "3", "--out", str(out_video)]) == 0
    assert_recovers_camera(CameraIntrinsics.load(out_video))


def test_no_boards_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"noise{i}.png"), rng.integers(0, 255, (240, 320), dtype=np.uint8))
    with pytest.raises(InputError, match=r"in 0 of 4 views; at least 5 needed"):
        calibrate(images_in_folder(tmp_path), BOARD)
    out = tmp_path / "never.json"
    assert calibrate_app.main(["--images", str(tmp_path), "--out", str(out)]) == 2
    assert "0 of 4 views" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(InputError, match="no images"):
        list(images_in_folder(_empty_dir(tmp_path)))
    with pytest.raises(InputError, match="not a directory"):
        list(images_in_folder(tmp_path / "missing"))
    with pytest.raises(InputError, match="COLSxROWS"):
        Chessboard.parse("9by6", 25.0)


def _empty_dir(parent: Path) -> Path:
    empty = parent / "empty"
    empty.mkdir()
    return empty


def test_default_for_is_a_60_degree_centred_pinhole() -> None:
    cam = CameraIntrinsics.default_for(640, 480)
    assert cam.fx == cam.fy == pytest.approx(320.0 / math.tan(math.radians(30.0)))
    assert (cam.cx, cam.cy) == (319.5, 239.5)
    # the image's left and right edges (x = -0.5 and 639.5) lie 30 degrees off the axis
    assert math.degrees(math.atan((cam.cx + 0.5) / cam.fx)) == pytest.approx(30.0)
    assert not cam.has_distortion and cam.rms_px is None
    assert CameraIntrinsics.default_for(1280, 720, hfov_deg=90.0).fx == pytest.approx(640.0)
    with pytest.raises(InputError, match="positive image size"):
        CameraIntrinsics.default_for(0, 480)


def test_save_load_round_trip(tmp_path: Path) -> None:
    cam = CameraIntrinsics(K=TRUE_K, dist=TRUE_DIST, width=WIDTH, height=HEIGHT, rms_px=0.123)
    path = tmp_path / "sub" / "cam.json"
    cam.save(path)
    back = CameraIntrinsics.load(path)
    assert np.array_equal(back.K, cam.K) and np.array_equal(back.dist, cam.dist)
    assert (back.width, back.height, back.rms_px) == (WIDTH, HEIGHT, 0.123)
    assert [p.name for p in path.parent.iterdir()] == ["cam.json"]  # no temporary left behind
    default = CameraIntrinsics.default_for(320, 240)
    default.save(path)
    assert CameraIntrinsics.load(path).rms_px is None


def _write(path: Path, **changes: object) -> Path:
    doc: dict[str, object] = {"format": "handpose-camera-intrinsics", "version": 1, "width": 640, "height": 480,
                              "K": TRUE_K.tolist(), "dist": TRUE_DIST.tolist(), "rms_px": 0.2}
    doc.update(changes)
    for key in [k for k, v in doc.items() if v is _DROP]:
        del doc[key]
    path.write_text(json.dumps(doc))
    return path


_DROP = object()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"K": _DROP}, r"missing \['K'\]"),
        ({"extra": 1}, r"unexpected \['extra'\]"),
        ({"K": [[-600.0, 0, 320], [0, 600, 240], [0, 0, 1]]}, "positive focal lengths"),
        ({"K": [[600.0, 0, 320], [0, 600, 240]]}, r"shape \(3, 3\)"),
        ({"dist": [0.1, 0.2, 0.3]}, "distortion coefficients expected, got 3"),
        ({"width": 640.5}, "integer width"),
        ({"version": 2}, "version 1 expected"),
        ({"rms_px": "low"}, "rms_px must be a number"),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    path = _write(tmp_path / "bad.json", **changes)
    with pytest.raises(InputError, match=message) as info:
        CameraIntrinsics.load(path)
    assert str(path) in str(info.value)


def test_load_missing_or_garbage_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        CameraIntrinsics.load(tmp_path / "nope.json")
    (tmp_path / "garbage.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        CameraIntrinsics.load(tmp_path / "garbage.json")


def test_scaled_to_projects_like_the_resized_image() -> None:
    cam = CameraIntrinsics(K=TRUE_K, dist=TRUE_DIST, width=WIDTH, height=HEIGHT, rms_px=0.4)
    half = cam.scaled_to(320, 240)
    points = np.array([[30.0, -20.0, 500.0], [-100.0, 80.0, 700.0], [0.0, 0.0, 300.0]])
    full_px = cv2.projectPoints(points, np.zeros(3), np.zeros(3), cam.K, cam.dist)[0].reshape(-1, 2)
    half_px = cv2.projectPoints(points, np.zeros(3), np.zeros(3), half.K, half.dist)[0].reshape(-1, 2)
    # pixel centres: full-res px u covers [u - 0.5, u + 0.5]; in the half image it is (u + 0.5) / 2 - 0.5
    assert np.allclose(half_px, (full_px + 0.5) / 2 - 0.5, atol=1e-9)
    assert half.rms_px == pytest.approx(0.2)
    assert cam.scaled_to(WIDTH, HEIGHT) is cam
    with pytest.raises(InputError, match="aspect ratio differs"):
        cam.scaled_to(640, 360)


def test_undistort_points_inverts_the_lens() -> None:
    cam = CameraIntrinsics(K=TRUE_K, dist=TRUE_DIST, width=WIDTH, height=HEIGHT)
    rng = np.random.default_rng(1)
    points = np.column_stack([rng.uniform(-250, 250, 200), rng.uniform(-180, 180, 200), np.full(200, 500.0)])
    observed = cv2.projectPoints(points, np.zeros(3), np.zeros(3), cam.K, cam.dist)[0].reshape(10, 20, 2)
    ideal = cv2.projectPoints(points, np.zeros(3), np.zeros(3), cam.K, None)[0].reshape(10, 20, 2)
    assert np.abs(observed - ideal).max() > 5.0  # the lens matters at these points
    assert np.abs(cam.undistort_points(observed) - ideal).max() < 1e-3
    plain = CameraIntrinsics.default_for(WIDTH, HEIGHT)
    assert np.array_equal(plain.undistort_points(observed), observed)
    with pytest.raises(InputError, match=r"\(\.\.\., 2\)"):
        cam.undistort_points(np.zeros((4, 3)))


def test_undistorter_straightens_a_rendered_board() -> None:
    rng = np.random.default_rng(11)
    rvec, tvec = board_poses(1, rng)[0]
    cam = CameraIntrinsics(K=TRUE_K, dist=TRUE_DIST, width=WIDTH, height=HEIGHT)
    undistort = cam.undistorter()
    straight = undistort(render_view(rvec, tvec, rng))
    truth, _ = cv2.projectPoints(BOARD.object_points().astype(np.float64), rvec, tvec, TRUE_K, None)
    corners = find_corners(straight, BOARD)
    assert corners is not None
    assert np.abs(corners - truth.reshape(-1, 2)).max() < 0.3
    assert not undistort.intrinsics.has_distortion and np.array_equal(undistort.intrinsics.K, cam.K)
    with pytest.raises(InputError, match="640x480 px expected"):
        undistort(np.zeros((240, 320, 3), np.uint8))


@pytest.mark.parametrize("k, message", [
    ([[1e-9, 0, 320], [0, 1e-9, 240], [0, 0, 1]], r"fx = 1e-09 px gives a 180 degree .* 1-170 degrees expected"),
    ([[2000, 0, 320], [0, 555, 240], [0, 0, 1]], r"fx / fy = 3.6.*0.5-2"),
    ([[555, 0, 900], [0, 555, 240], [0, 0, 1]], r"principal point \(900, 240\) px lies outside the 640x480 image"),
])
def test_implausible_cameras_are_refused_naming_the_value(k, message):
    with pytest.raises(InputError, match=message):
        CameraIntrinsics(np.array(k, float), width=640, height=480)


def test_a_doubtful_calibration_is_named_with_its_values():
    from handpose.geometry.chessboard import CalibrationResult

    camera = CameraIntrinsics.default_for(640, 480)
    good = CalibrationResult(CameraIntrinsics(K=camera.K, dist=camera.dist, width=640, height=480, rms_px=0.3),
                             used=tuple(f"v{i}" for i in range(15)), views_total=15)
    assert good.warnings == ()
    poor = CalibrationResult(CameraIntrinsics(K=camera.K, dist=camera.dist, width=640, height=480, rms_px=2.0),
                             used=("a", "b", "c", "d", "e"), views_total=9)
    rms, views = poor.warnings
    assert "RMS reprojection error 2.00 px is high" in rms and "below ~0.5 px is good" in rms
    assert "only 5 views" in views


def test_the_calibration_app_checks_its_output_before_the_search(tmp_path, capsys):
    from apps.calibrate import main

    (tmp_path / "taken").write_text("a file")
    assert main(["--images", str(tmp_path), "--board", "9x6", "--square-mm", "25",
                 "--out", str(tmp_path / "taken" / "cam.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "taken is a file, where a folder is expected" in err  # not "no images"
