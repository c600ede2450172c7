"""The video job and apps/process_video on real videos (pans over a real hand photo) with the real pipeline:
the outputs and their formats, corrupt frames, offline smoothing, a folder of videos, and a run killed with
SIGKILL then resumed, which must end with the same files as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from apps import process_video as app
from handpose.errors import InputError
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.io.csv_writer import HEADER
from handpose.io.jsonl_writer import read_jsonl
from handpose.types import HandPose
from handpose.video.job import VideoJobOptions, process_video
from handpose.viz.draw import JOINT_COLORS_RGB
from tests.hand_fixtures import noisy_clip_records, track_error, track_jitter
from tests.media_fixtures import corrupt_mjpg_frames, drop_avi_frames, model_checkpoint, pan_frames, write_video

N = 24
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return model_checkpoint(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def pipeline(checkpoint):
    with HandPosePipeline(PipelineConfig(checkpoint=checkpoint, num_hands=2)) as p:
        yield p


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return pan_frames(N, (320, 240))


@pytest.fixture(scope="module")
def clip(tmp_path_factory, frames) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "pan.mp4", frames, fps=15.0)


def test_outputs_jsonl_csv_coco_and_annotated_video(pipeline, clip, frames, tmp_path):
    out = tmp_path / "out"
    result = process_video(clip, pipeline, out, VideoJobOptions(coco=True, progress=False, checkpoint_every=10))
    assert set(result.outputs) == {"jsonl", "csv", "summary", "coco", "video"}
    assert sorted(p.name for p in out.iterdir()) == ["annotated.mp4", "coco_wholebody.json", "poses.csv",
                                                     "poses.jsonl", "summary.json"]  # fmt: skip
    records = list(read_jsonl(out / "poses.jsonl"))
    assert [r.frame for r in records] == list(range(N))
    np.testing.assert_allclose([r.timestamp_s for r in records], np.arange(N) / 15.0, atol=1e-6)
    assert result.frames_with_hands >= N // 2  # MediaPipe finds the real hand
    hands = [(r, h) for r in records for h in r.hands]
    for _, hand in hands:
        assert hand.keypoints_px.shape == (21, 2) and hand.joints_cam_mm.shape == (21, 3)
        assert hand.handedness in ("left", "right") and 0.0 <= hand.presence <= 1.0
        assert np.all(np.isfinite(hand.joints_cam_mm)) and np.all(np.isfinite(hand.joints_norm))
        assert hand.visibility.shape == (21,) and np.all((hand.visibility >= 0) & (hand.visibility <= 1))
    assert np.ptp([h.visibility for _, h in hands]) > 0  # the model's values, not the all-visible default
    # CSV: one row per hand, the JSONL numbers
    rows = (out / "poses.csv").read_text().splitlines()
    assert rows[0].split(",") == list(HEADER) and len(HEADER) == 8 + 21 * 9 and len(rows) - 1 == len(hands)
    first = rows[1].split(",")
    record, hand = hands[0]
    assert int(first[0]) == record.frame and first[3] == hand.handedness
    assert float(first[HEADER.index("index_tip_u_px")]) == pytest.approx(hand.keypoints_px[8, 0], abs=0.006)
    assert float(first[HEADER.index("wrist_z_mm")]) == pytest.approx(hand.joints_cam_mm[0, 2], abs=0.006)
    for row, (_, row_hand) in zip(rows[1:], hands, strict=True):
        visible = [float(v) for v in row.split(",")[HEADER.index("wrist_visible"):]]
        np.testing.assert_allclose(visible, row_hand.visibility, atol=1e-6)  # 3 decimals in both files
    # COCO-WholeBody: 21 x (x, y, v) per side, valid flags matching the hands
    coco = json.loads((out / "coco_wholebody.json").read_text())
    assert len(coco["images"]) == N and coco["categories"][0]["name"] == "person"
    annotation = next(a for a in coco["annotations"] if a["image_id"] == record.frame)
    side = hand.handedness.replace("left", "lefthand").replace("right", "righthand")
    assert annotation[f"{side}_valid"] and len(annotation[f"{side}_kpts"]) == 63
    kpts = np.array(annotation[f"{side}_kpts"]).reshape(21, 3)
    same_side = [h for h in record.hands if h.handedness == hand.handedness]
    best = max(same_side, key=lambda h: h.presence)
    np.testing.assert_array_equal(kpts[:, 2], np.where(best.visibility >= HandPose.VISIBLE_THRESHOLD, 2, 1))
    assert any(np.allclose(kpts[:, :2], h.keypoints_px, atol=0.01) for h in record.hands if h.handedness == hand.handedness)
    # annotated video: same length, size and rate; the skeleton's colours at the joints drawn as visible
    cap = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == N and cap.get(cv2.CAP_PROP_FPS) == pytest.approx(15.0)
    closer = 0
    checked = 0
    for index in range(N):
        ok, bgr = cap.read()
        assert ok and bgr.shape == (240, 320, 3)
        for hand in records[index].hands:
            for j in (4, 8, 12, 16, 20):
                x, y = np.round(hand.keypoints_px[j]).astype(int)
                if 0 <= x < 320 and 0 <= y < 240 and hand.visibility[j] >= HandPose.VISIBLE_THRESHOLD:
                    colour = np.array(JOINT_COLORS_RGB[j], float)
                    annotated = np.linalg.norm(bgr[y, x, ::-1] - colour)
                    source = np.linalg.norm(frames[index][y, x].astype(float) - colour)
                    closer += annotated < source and annotated < 80
                    checked += 1
    assert checked > 0 and closer >= 0.7 * checked  # (mp4 blurs the 3 px dots; fingers may cross)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_processed"] == N and summary["frames_skipped"] == 0 and summary["hands"] == len(hands)
    assert summary["mean_stage_ms_per_frame_with_hands"]["model"] > 0






def test_corrupt_frames_are_skipped_counted_and_the_video_keeps_its_length(pipeline, frames, tmp_path):
    clip = write_video(tmp_path / "damaged.avi", frames[:12], fps=15.0, fourcc="MJPG")
    corrupt_mjpg_frames(clip, [3, 7])
    result = process_video(clip, pipeline, tmp_path / "out", VideoJobOptions(progress=False, checkpoint_every=5))
    assert result.skipped_frames == (3, 7) and result.frames_processed == 10
    assert [r.frame for r in read_jsonl(result.outputs["jsonl"])] == [0, 1, 2, 4, 5, 6, 8, 9, 10, 11]
    summary = json.loads(result.outputs["summary"].read_text())
    assert summary["frames_skipped"] == 2 and summary["skipped_frames"] == [3, 7]
    cap = cv2.VideoCapture(str(result.outputs["video"]))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12  # skipped frames repeat the previous one


def test_frames_dropped_by_the_recorder_are_reported_and_the_rest_keep_their_index(pipeline, frames, tmp_path):
    """Frames 4-5 of an MJPG AVI are empty chunks: the records after them keep the container's
    index and time, and the summary lists 4 and 5 as skipped and warns about the jump."""
    clip = write_video(tmp_path / "dropped.avi", frames[:12], fps=15.0, fourcc="MJPG")
    drop_avi_frames(clip, [4, 5])
    options = VideoJobOptions(progress=False, checkpoint_every=5, annotate=False, smoothing="none")
    result = process_video(clip, pipeline, tmp_path / "out", options)
    records = list(read_jsonl(result.outputs["jsonl"]))
    assert [r.frame for r in records] == [0, 1, 2, 3, 6, 7, 8, 9, 10, 11]
    np.testing.assert_allclose([r.timestamp_s for r in records], [r.frame / 15.0 for r in records], atol=1e-3)
    summary = json.loads(result.outputs["summary"].read_text())
    assert summary["skipped_frames"] == [4, 5]
    assert any("jump over 2 frames at frame 4" in w for w in summary["warnings"])


def test_offline_smoothing_keeps_frames_and_hands(pipeline, clip, tmp_path):
    raw = process_video(clip, pipeline, tmp_path / "raw", VideoJobOptions(progress=False, annotate=False))
    smooth = process_video(clip, pipeline, tmp_path / "smooth",
                           VideoJobOptions(progress=False, annotate=False, smoothing="offline"))  # fmt: skip
    raw_records, smooth_records = list(read_jsonl(raw.outputs["jsonl"])), list(read_jsonl(smooth.outputs["jsonl"]))
    assert [[h.handedness for h in r.hands] for r in raw_records] == [[h.handedness for h in r.hands] for r in smooth_records]
    moved = [np.abs(a.keypoints_px - b.keypoints_px).max() for r, q in zip(raw_records, smooth_records)
             for a, b in zip(r.hands, q.hands)]  # fmt: skip
    assert max(moved) > 0.01  # the smoother did change the tracks


def test_offline_smoother_brings_noisy_tracks_closer_to_the_truth():
    """The sample clip's true hands plus a per-frame estimate's noise (``noisy_clip_records``):
    smoothing must cut the error and the jitter, and leave frames without a hand without one."""
    from handpose.smooth.offline import smooth_records

    records, truth = noisy_clip_records(REPO / "apps" / "assets" / "sample_clip_gt.npz")
    smoothed = smooth_records(records)
    assert [[h.handedness for h in r.hands] for r in smoothed] == [[h.handedness for h in r.hands] for r in records]
    for key in ("keypoints_px", "joints_cam_mm"):
        assert track_error(smoothed, key, truth[key]) < 0.7 * track_error(records, key, truth[key])
    assert track_jitter(smoothed, "joints_cam_mm") < 0.3 * track_jitter(records, "joints_cam_mm")


def test_fixed_lag_smoothing_is_the_raw_records_streamed(pipeline, clip, tmp_path):
    """``smoothing="fixed-lag"`` writes what the live demo's smoother makes of the raw records."""
    from handpose.smooth.fixed_lag import smooth_stream

    raw = process_video(clip, pipeline, tmp_path / "raw", VideoJobOptions(progress=False, annotate=False))
    lagged = process_video(clip, pipeline, tmp_path / "lag",
                           VideoJobOptions(progress=False, annotate=False, smoothing="fixed-lag", lag_frames=2))
    expected = list(smooth_stream(read_jsonl(raw.outputs["jsonl"]), 2, relabel=pipeline.gesture_fields))
    got = list(read_jsonl(lagged.outputs["jsonl"]))
    assert [r.frame for r in got] == [r.frame for r in expected] == [r.frame for r in read_jsonl(raw.outputs["jsonl"])]
    for a, b in zip(got, expected):
        assert [h.handedness for h in a.hands] == [h.handedness for h in b.hands]
        for x, y in zip(a.hands, b.hands):
            np.testing.assert_allclose(x.joints_cam_mm, y.joints_cam_mm, atol=0.011)
            np.testing.assert_allclose(x.keypoints_px, y.keypoints_px, atol=0.011)
            assert x.gesture == y.gesture
    assert json.loads(lagged.outputs["summary"].read_text())["smoothing"] == "fixed-lag (2 frames)"


def test_folder_of_videos_and_errors(checkpoint, frames, tmp_path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a.mp4", frames[:6])
    write_video(folder / "b.avi", frames[6:12], fourcc="MJPG")
    (folder / "notes.txt").write_text("not a video")
    code = app.main([str(folder), "--out-root", str(tmp_path / "res"), "--checkpoint", str(checkpoint), "--quiet",
                     "--no-video", "--smooth", "none"])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["a", "b"]
    assert len(list(read_jsonl(tmp_path / "res" / "b" / "poses.jsonl"))) == 6
    assert app.main([str(tmp_path / "missing.mp4"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    # one unreadable video in the middle of a batch: the others are processed, the failure reported
    (folder / "a2_broken.mp4").write_bytes(b"\x00not a video" * 100)
    code = app.main([str(folder), "--out-root", str(tmp_path / "res2"), "--checkpoint", str(checkpoint), "--quiet",
                     "--no-video", "--smooth", "none"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1 and sorted(p.name for p in (tmp_path / "res2").iterdir()) == ["a", "b"]  # no empty folder
    assert len(list(read_jsonl(tmp_path / "res2" / "b" / "poses.jsonl"))) == 6
    assert "a2_broken.mp4: FAILED: " in out and "2 of 3 videos done, 1 failed or incomplete" in out
    assert "Traceback" not in out
    with pytest.raises(InputError, match="no video files"):
        app.find_videos([tmp_path / "res"])


@pytest.mark.parametrize("sig,code", [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGKILL", "SIGINT", "SIGTERM"])
def test_killed_run_resumes_to_the_same_files(checkpoint, tmp_path, sig, code):
    """Stopped between two checkpoints by any signal, the run leaves no final output and resumes to
    the bytes of an uninterrupted run; Ctrl-C and SIGTERM also get one line and their exit code."""
    total = 200
    clip = write_video(tmp_path / "long.mp4", pan_frames(total, (240, 180)), fps=30.0)
    args = [str(clip), "--checkpoint", str(checkpoint), "--checkpoint-every", "20", "--quiet", "--coco", "--no-video"]
    killed_root = tmp_path / "killed"
    progress = killed_root / "long" / ".partial" / "progress.json"
    process = subprocess.Popen([sys.executable, "-m", "apps.process_video", *args, "--out-root", str(killed_root)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if progress.exists() and json.loads(progress.read_text())["next_frame"] >= 40:
                break
            time.sleep(0.005)
        os.kill(process.pid, sig)
    finally:
        _, err = process.communicate(timeout=60)
    assert process.returncode == code
    if sig != signal.SIGKILL:
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1] == "interrupted: progress up to the last checkpoint is kept; run again with --resume"
    done = json.loads(progress.read_text())["next_frame"]
    assert 40 <= done < total, "the run must be killed between two checkpoints"
    assert not (killed_root / "long" / "poses.jsonl").exists()  # no final output before the end
    assert app.main([*args, "--out-root", str(killed_root), "--resume"]) == 0
    assert app.main([*args, "--out-root", str(tmp_path / "whole")]) == 0
    for name in ("poses.jsonl", "poses.csv", "coco_wholebody.json"):
        assert (killed_root / "long" / name).read_bytes() == (tmp_path / "whole" / "long" / name).read_bytes(), name
    assert not (killed_root / "long" / ".partial").exists()
    summary = json.loads((killed_root / "long" / "summary.json").read_text())
    assert summary["frames_processed"] == total


def test_output_names_stay_inside_the_root(checkpoint, frames, tmp_path):
    from handpose.video.job import output_name

    assert [output_name(Path(n)) for n in ("...mp4", "..mp4", ".hidden.mp4", "a b/c?.mp4", "ok-1.mp4")] == \
        ["video", "video", "hidden", "c_", "ok-1"]
    root = tmp_path / "root"
    unrelated = tmp_path / ".partial"  # the parent of the root holds a folder that must survive
    unrelated.mkdir()
    clip = write_video(tmp_path / "...mp4", frames[:4])
    assert app.main([str(clip), "--out-root", str(root), "--checkpoint", str(checkpoint), "--quiet", "--no-video",
                     "--smooth", "none"]) == 0  # fmt: skip
    assert sorted(p.name for p in root.iterdir()) == ["video"] and unrelated.is_dir()
    assert (root / "video" / "poses.jsonl").is_file()


def test_a_second_run_on_the_same_folder_is_refused(pipeline, frames, tmp_path):
    """A real second process holds the folder's lock; this run stops at once, naming its pid."""
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from handpose.io.run_lock import RunLock\n"
        f"with RunLock(Path({str(out)!r})):\n    print('locked', flush=True); time.sleep(60)")],
        cwd=REPO, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        clip = write_video(tmp_path / "a.mp4", frames[:4])
        with pytest.raises(InputError, match=rf"being written by another run \(pid {holder.pid}\)"):
            process_video(clip, pipeline, out, VideoJobOptions(annotate=False, progress=False))
        assert not (out / ".partial").exists()  # nothing of the other run's was touched
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # the killed holder's lock is gone with it: the next run goes through, and removes orphans
    (out / ".annotated.x1y2.mp4").write_bytes(b"half a video")
    (out / ".poses.jsonl.abcd.tmp").write_text("half")
    process_video(clip, pipeline, out, VideoJobOptions(annotate=False, progress=False))
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # orphans gone, the lock released


def test_a_bad_output_root_fails_before_the_model_loads(frames, tmp_path, capsys):
    from handpose.video.job import process_many

    clip = write_video(tmp_path / "a.mp4", frames[:4])
    (tmp_path / "taken").write_text("a file")
    built = []
    with pytest.raises(InputError, match="cannot write in .*taken"):
        process_many([clip], lambda: built.append("pipeline"), tmp_path / "taken", VideoJobOptions(progress=False))
    assert built == []  # the pipeline (model, MediaPipe) was never built
    assert app.main([str(clip), "--out-root", str(tmp_path / "taken"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write in") and err.count("\n") == 1


def test_an_existing_file_as_the_output_folder_is_a_one_line_error(pipeline, frames, tmp_path):
    clip = write_video(tmp_path / "a.mp4", frames[:4])
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(InputError, match="cannot create the output folder .*taken"):
        process_video(clip, pipeline, tmp_path / "taken", VideoJobOptions(annotate=False, progress=False))


def test_clip_evaluation_against_the_sample_clips_ground_truth():
    from handpose.eval.clip import evaluate_clip
    from handpose.io.frame_record import FrameRecord
    from handpose.types import HandPose

    gt_path = REPO / "apps" / "assets" / "sample_clip_gt.npz"
    with np.load(gt_path) as gt:
        joints, keypoints, sides = gt["joints_cam_mm"], gt["keypoints_px"], [str(s) for s in gt["sides"]]

    def records(shift_px=(0.0, 0.0), shift_mm=(0.0, 0.0, 0.0), keep=("right", "left")):
        return [FrameRecord(t, t / 24.0, tuple(
            HandPose(side, 0.9, keypoints[t, h] + shift_px, joints[t, h] + shift_mm, np.zeros((21, 3)))
            for h, side in enumerate(sides) if side in keep)) for t in range(len(joints))]  # fmt: skip

    exact = evaluate_clip(records(), gt_path, points="rig")
    assert exact.detection_rate == 1.0 and exact.error_2d_px == 0.0 and exact.palm_position_error_mm == 0.0
    assert exact.epe_mm == pytest.approx(0.0, abs=1e-9) and exact.auc_20_50 == 1.0
    assert exact.jitter_mm_s2 == pytest.approx(exact.gt_jitter_mm_s2)
    shifted = evaluate_clip(records(shift_px=(3.0, 4.0), shift_mm=(0.0, 0.0, 10.0), keep=("right",)), gt_path,
                            points="rig")
    assert shifted.detection_rate == 0.5 and shifted.error_2d_px == pytest.approx(5.0)
    assert shifted.palm_position_error_mm == pytest.approx(10.0) and shifted.epe_mm == pytest.approx(0.0, abs=1e-6)
    # by default the truth is moved onto MediaPipe's points (what the model outputs): the rig's joint
    # centres then score the offsets themselves, and the moved truth scores zero
    from handpose.data.convention import KeypointOffsets
    from handpose.geometry.camera import project

    assert evaluate_clip(records(), gt_path).epe_mm > 1.0
    offsets = KeypointOffsets.load()
    with np.load(gt_path) as gt:
        intrinsics = gt["K"]
    moved = [FrameRecord(r.frame, r.timestamp_s, tuple(
        HandPose(p.handedness, 0.9, project(points, intrinsics[r.frame]), points, np.zeros((21, 3)))
        for p in r.hands for points in [offsets.apply(p.joints_cam_mm, is_left=p.handedness == "left")]))
        for r in records()]  # fmt: skip
    converted = evaluate_clip(moved, gt_path)
    assert converted.epe_mm == pytest.approx(0.0, abs=1e-6) and converted.error_2d_px == pytest.approx(0.0, abs=1e-6)



def test_truncated_videos_are_named_as_such(checkpoint, frames, tmp_path, capsys):
    """An MJPG AVI cut to 30% announces 24 frames and yields 7: outputs are written, a warning says
    it looks truncated, the exit status is 1. An MP4 cut before its index says so in one line."""
    avi = write_video(tmp_path / "cut.avi", frames, fourcc="MJPG")
    avi.write_bytes(avi.read_bytes()[: int(avi.stat().st_size * 0.3)])
    code = app.main([str(avi), "--out-root", str(tmp_path / "res"), "--checkpoint", str(checkpoint), "--quiet",
                     "--no-video", "--smooth", "none"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "looks truncated or damaged" in err
    summary = json.loads((tmp_path / "res" / "cut" / "summary.json").read_text())
    assert summary["incomplete"] and summary["frames_processed"] < N // 2
    mp4 = write_video(tmp_path / "cut.mp4", frames)
    mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    assert app.main([str(mp4), "--out-root", str(tmp_path / "res"), "--checkpoint", str(checkpoint), "--quiet"]) == 1
    assert "looks truncated: an MP4/MOV file without its 'moov' index" in capsys.readouterr().out


def test_a_full_disk_keeps_the_previous_outputs_and_the_run_resumable(pipeline, checkpoint, frames, tmp_path):
    """A real child process whose files may not grow past 100 KB once its pipeline is built
    (RLIMIT_FSIZE: writes then fail with EFBIG, as on a full disk): the poses fit, the annotated
    video does not. The run must end with a one-line error, the previous complete outputs untouched
    (not a mixed set), and a .partial/ that --resume finishes once there is room."""
    clip = write_video(tmp_path / "a.mp4", frames)
    args = [str(clip), "--out-root", str(tmp_path / "res"), "--checkpoint", str(checkpoint), "--quiet",
            "--smooth", "none"]  # fmt: skip
    assert app.main([*args, "--no-video"]) == 0  # a complete earlier result, without the video
    out = tmp_path / "res" / "a"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    child = f"""
import resource, signal, sys
from pathlib import Path
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.video.job import VideoFailure, VideoJobOptions, process_many
pipeline = HandPosePipeline(PipelineConfig(checkpoint=Path({str(checkpoint)!r}), smoothing=False))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
(result,) = process_many([Path({str(clip)!r})], lambda: pipeline, Path({str(tmp_path / "res")!r}),
                         VideoJobOptions(progress=False))
print(result.error if isinstance(result, VideoFailure) else "done")
"""
    run = subprocess.run([sys.executable, "-c", child], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    message = run.stdout.strip().splitlines()[-1]
    assert "annotated.mp4" in message and "disk full" in message, message
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # not a mixed set
    assert (out / ".partial" / "progress.json").is_file()
    # with room again, the interrupted run finishes from its checkpoint (the child's options)
    result = process_video(clip, pipeline, out, VideoJobOptions(progress=False, resume=True))
    assert result.resumed_from == N and (out / "annotated.mp4").stat().st_size > 100_000
    assert not (out / ".partial").exists()
