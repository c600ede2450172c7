"""Frame sources on real files: videos written by cv2.VideoWriter (one corrupted on purpose), image and
RGB-D folders, a RealSense recording made through a librealsense software device, and the webcam
source's missing-camera error, newest-frame-only hand-off and reconnection (a real cv2 capture of a file).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from handpose.geometry.camera import CameraIntrinsics
from handpose.capture import open_source
from handpose.capture.image_folder import ImageFolderSource
from handpose.capture.rgbd_folder import RgbdFolderSource
from handpose.capture.video_file import VideoFileSource
from handpose.capture.webcam import WebcamSource
from handpose.errors import InputError
from handpose.types import Frame
from tests.media_fixtures import corrupt_mjpg_frames, pan_frames, write_video

N = 12


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return pan_frames(N, (160, 120))


@pytest.fixture(scope="module")
def mp4(tmp_path_factory, frames) -> Path:
    return write_video(tmp_path_factory.mktemp("v") / "clip.mp4", frames, fps=15.0)


def _close_rgb(decoded: np.ndarray, original: np.ndarray) -> bool:
    """Decoded frame matches the original in RGB order (and clearly not in BGR order)."""
    err = np.abs(decoded.astype(int) - original).mean()
    swapped = np.abs(decoded[..., ::-1].astype(int) - original).mean()
    return bool(err < 6.0 and swapped > 2 * err)


def test_video_file_frames_indices_timestamps_and_rgb_order(mp4, frames):
    with VideoFileSource(mp4) as source:
        assert source.size == (160, 120) and source.fps == pytest.approx(15.0) and source.num_frames == N
        got = list(source)
    assert [f.index for f in got] == list(range(N))
    np.testing.assert_allclose([f.timestamp_s for f in got], np.arange(N) / 15.0, atol=1e-6)
    assert all(_close_rgb(f.rgb, frames[f.index]) for f in got)
    with VideoFileSource(mp4, start=4, max_frames=5) as source:
        assert [f.index for f in source] == [4, 5, 6, 7, 8]


def test_corrupt_frames_are_skipped_and_counted(tmp_path, frames):
    path = write_video(tmp_path / "clip.avi", frames, fourcc="MJPG")
    corrupt_mjpg_frames(path, [3, 7])
    with VideoFileSource(path) as source:
        got = list(source)
        assert source.skipped == 2
    assert [f.index for f in got] == [i for i in range(N) if i not in (3, 7)]
    assert all(_close_rgb(f.rgb, frames[f.index]) for f in got)
    with VideoFileSource(path, start=5) as source:  # a skip before start was counted by the earlier run
        assert [f.index for f in source][:3] == [5, 6, 8] and source.skipped == 1


def test_missing_and_non_video_files_raise_clear_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        VideoFileSource(tmp_path / "nope.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(InputError, match="cannot open .* as a video"):
        VideoFileSource(text)
    with pytest.raises(InputError, match="does not exist; expected 'webcam"):
        open_source(tmp_path / "missing.avi")


def test_image_folder_natural_order_and_unreadable_files(tmp_path, frames):
    for i in (0, 2, 10, 1):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR))
    (tmp_path / "img5.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    with ImageFolderSource(tmp_path, fps=10) as source:
        assert [p.name for p in source.files] == ["img0.png", "img1.png", "img2.png", "img5.jpg", "img10.png"]
        got = list(source)
        assert source.skipped == 1 and source.size == (160, 120)
    assert [f.index for f in got] == [0, 1, 2, 4]
    assert [f.timestamp_s for f in got] == [0.0, 0.1, 0.2, 0.4]
    for frame, original in zip(got, [0, 1, 2, 10], strict=True):
        np.testing.assert_array_equal(frame.rgb, frames[original])  # PNG is lossless: exact RGB
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no images found"):
        ImageFolderSource(empty)


def _rgbd_folder(root: Path, frames: list[np.ndarray], depths: list[np.ndarray]) -> CameraIntrinsics:
    (root / "color").mkdir(parents=True)
    (root / "depth").mkdir()
    for i, (rgb, depth) in enumerate(zip(frames, depths, strict=True)):
        cv2.imwrite(str(root / "color" / f"{i:04d}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "depth" / f"{i:04d}.png"), depth)
    intrinsics = CameraIntrinsics.default_for(160, 120)
    intrinsics.save(root / "intrinsics.json")
    return intrinsics


def test_rgbd_folder_reads_exact_depth_in_mm(tmp_path, frames):
    rng = np.random.default_rng(1)
    depths = [rng.integers(200, 5000, (120, 160)).astype(np.uint16) for _ in range(4)]
    intrinsics = _rgbd_folder(tmp_path / "seq", frames[:4], depths)
    cv2.imwrite(str(tmp_path / "seq" / "depth" / "0002.png"), (depths[2] // 20).astype(np.uint8))  # 8-bit: wrong
    with open_source(tmp_path / "seq") as source:
        assert isinstance(source, RgbdFolderSource)
        np.testing.assert_allclose(source.intrinsics.K, intrinsics.K)
        got = list(source)
        assert source.skipped == 1
    assert [f.index for f in got] == [0, 1, 3]
    for frame in got:
        np.testing.assert_array_equal(frame.depth_mm, depths[frame.index])
        assert _close_rgb(frame.rgb, frames[frame.index])
    os.remove(tmp_path / "seq" / "depth" / "0003.png")
    with pytest.raises(InputError, match="unpaired: \\['0003.jpg'\\]"):
        RgbdFolderSource(tmp_path / "seq")


def test_realsense_recording_round_trip(tmp_path, frames):
    rs = pytest.importorskip("pyrealsense2")
    from handpose.capture.realsense import RealSenseSource
    from handpose.capture.realsense_recorder import record_realsense

    rng = np.random.default_rng(2)
    depths = [rng.integers(300, 3000, (120, 160)).astype(np.uint16) for _ in range(6)]
    intrinsics = CameraIntrinsics.default_for(160, 120)
    recorded = [Frame(rgb=frames[i], index=i, depth_mm=depths[i]) for i in range(6)]
    path = tmp_path / "hand.db3"
    assert record_realsense(path, recorded, intrinsics, fps=30) == 6
    with open_source(path) as source:
        assert isinstance(source, RealSenseSource) and source.fps == 30 and source.size == (160, 120)
        np.testing.assert_allclose(source.intrinsics.K, intrinsics.K, atol=1e-4)
        got = list(source)
    assert [f.index for f in got] == list(range(6))  # playback is not real time: no frame lost
    np.testing.assert_allclose([f.timestamp_s for f in got], np.arange(6) / 30, atol=1e-6)
    for frame in got:
        np.testing.assert_array_equal(frame.rgb, frames[frame.index])
        np.testing.assert_array_equal(frame.depth_mm, depths[frame.index])
    with pytest.raises(InputError, match=r"\.db3"):
        record_realsense(tmp_path / "x.bag", recorded, intrinsics)
    assert rs.__version__


def test_realsense_alignment_keeps_a_flat_depth(tmp_path, frames):
    pytest.importorskip("pyrealsense2")
    from handpose.capture.realsense import RealSenseSource
    from handpose.capture.realsense_recorder import record_realsense

    intrinsics = CameraIntrinsics.default_for(160, 120)
    flat = np.full((120, 160), 800, np.uint16)
    record_realsense(tmp_path / "flat.db3", [Frame(rgb=frames[0], depth_mm=flat)] * 2, intrinsics)
    with RealSenseSource(tmp_path / "flat.db3", align=True) as source:
        got = list(source)
    assert len(got) == 2
    inner = got[0].depth_mm[10:-10, 10:-10]
    assert np.median(inner) == 800 and np.mean(inner == 800) > 0.9


def test_no_camera_gives_a_clear_error():
    if Path("/dev/video7").exists():
        pytest.skip("a camera exists at /dev/video7")
    with pytest.raises(InputError, match=r"no camera at index 7: /dev/video7 does not exist"):
        WebcamSource(7)
    with pytest.raises(InputError, match="no camera at index 7"):
        open_source("webcam:7")
    if not Path("/dev/video0").exists():  # this machine: no camera at all, so the default webcam is missing
        with pytest.raises(InputError, match=r"no camera at index 0: /dev/video0 does not exist"):
            open_source("webcam")


def test_webcam_keeps_only_the_newest_frame_and_reconnects(mp4):
    # A file opened by cv2.VideoCapture plays the camera: it delivers frames, then stops (the
    # "camera" drops out at the end of the file) and is reopened by the grabber thread.
    source = WebcamSource(str(mp4), reconnect_delay_s=0.01, give_up_s=5.0)
    try:
        assert source.size == (160, 120)
        seen: list[Frame] = []
        deadline = time.monotonic() + 20
        for frame in source:
            seen.append(frame)
            time.sleep(0.02)  # a slow consumer
            if frame.index >= 2 * N or time.monotonic() > deadline:
                break
        # frames kept coming after the file ended twice: the source reopened it each time
        assert seen[-1].index >= 2 * N and source.reconnects >= 2
        indices = [f.index for f in seen]
        assert indices == sorted(set(indices))  # newest first: never an old or repeated frame
        assert source.dropped > 0  # the slow consumer skipped frames instead of queueing them
    finally:
        source.close()
    assert not source._thread.is_alive()


def test_open_source_dispatch(tmp_path, mp4, frames):
    cv2.imwrite(str(tmp_path / "a.png"), frames[0])
    with open_source(mp4) as source:
        assert isinstance(source, VideoFileSource)
    with open_source(tmp_path) as source:
        assert isinstance(source, ImageFolderSource)


def test_a_stream_url_is_a_live_source_and_an_unreachable_one_says_so(tmp_path, frames):
    """The spec is the URL as written: a clip served over HTTP on loopback (an MJPG AVI, which
    plays without seeking) is read as a live source; a URL nobody answers gives a message about the
    stream, not about a device."""
    import functools
    import http.server
    import threading

    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for rgb in frames * 20:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # no request lines in the test output
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with open_source(f"http://127.0.0.1:{server.server_address[1]}/clip.avi") as source:
            assert isinstance(source, WebcamSource) and source.size == (160, 120)
            frame = next(iter(source))
            assert frame.rgb.shape == (120, 160, 3)
            assert min(np.abs(frame.rgb.astype(int) - f).mean() for f in frames) < 8  # one of the clip's pictures
    finally:
        server.shutdown()
    with pytest.raises(InputError, match=r"cannot open the stream rtsp://127\.0\.0\.1:9/none: it could not be reached"):
        open_source("rtsp://127.0.0.1:9/none")


def test_frames_a_recorder_dropped_keep_the_frames_after_at_their_index_and_time(tmp_path, frames):
    """An MJPG AVI whose frames 5-7 are empty chunks (dropped by the recorder): the demuxer returns
    no picture for them and numbers the next ones on as if nothing were missing; the source takes
    index and time from the timestamps, counts the three and reports the jump."""
    from tests.media_fixtures import drop_avi_frames

    clip = write_video(tmp_path / "dropped.avi", [frames[i % len(frames)] for i in range(20)], fps=10.0, fourcc="MJPG")
    drop_avi_frames(clip, [5, 6, 7])
    with VideoFileSource(clip) as source:
        got = list(source)
    assert [f.index for f in got] == [0, 1, 2, 3, 4, *range(8, 20)]
    np.testing.assert_allclose([f.timestamp_s for f in got], [f.index / 10.0 for f in got], atol=1e-6)
    assert _close_rgb(got[5].rgb, frames[8 % len(frames)])  # the picture of frame 8, not of frame 5
    assert source.skipped == 3 and source.gaps == [(5, 3)]
    with VideoFileSource(clip, start=6) as resumed:  # a resume inside the gap
        assert [f.index for f in resumed][:2] == [8, 9] and resumed.gaps == [(6, 2)]
