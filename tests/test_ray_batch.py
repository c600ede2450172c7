"""handpose-video --ray on a real local Ray (started here on 127.0.0.1, 2 CPUs, stopped after) with
real worker processes and the real pipeline: three clips (the sample clip, a cut of it and a mirrored
copy, written here with OpenCV) give the files of the single-process run; a corrupt video is
reported after its second try while the others finish; a worker killed with SIGKILL mid-video is
restarted and the video resumed to the same files; --resume skips finished videos."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

from apps import process_video as app
from handpose.video.cluster import LOOPBACK_ENV
from tests.media_fixtures import model_checkpoint

os.environ.setdefault(LOOPBACK_ENV, "0")  # read when Ray is imported: every Ray process of this test on 127.0.0.1
ray = pytest.importorskip("ray", reason="Ray is the optional extra: pip install -e '.[cluster]'")

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "apps" / "assets" / "sample_clip.mp4"
FRAMES = 16  # per video (--max-frames): short runs on a CPU shared with other work
EVERY = 8  # frames per checkpoint: a kill after the first one lands mid-video


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        assert [n["NodeManagerAddress"] for n in ray.nodes()] == ["127.0.0.1"]
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """The sample clip, frames 40-59 of it, and its first 20 frames mirrored (mp4v, 24 fps)."""
    folder = tmp_path_factory.mktemp("clips")
    capture = cv2.VideoCapture(str(SAMPLE))
    frames = [capture.read()[1] for _ in range(60)]
    capture.release()
    derived = {"cut.mp4": frames[40:60], "mirrored.mp4": [cv2.flip(f, 1) for f in frames[:20]]}
    for name, bgr in derived.items():
        writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter_fourcc(*"mp4v"), 24.0, bgr[0].shape[1::-1])
        for image in bgr:
            writer.write(image)
        writer.release()
    return [SAMPLE, folder / "cut.mp4", folder / "mirrored.mp4"]


@pytest.fixture(scope="module")
def job_args(tmp_path_factory) -> list[str]:
    checkpoint = model_checkpoint(tmp_path_factory.mktemp("model"))
    return ["--checkpoint", str(checkpoint), "--rolls", "0", "--max-frames", str(FRAMES), "--checkpoint-every",
            str(EVERY), "--coco", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def reference(clips, job_args, tmp_path_factory) -> Path:
    """The single-process run of the three clips (no Ray)."""
    root = tmp_path_factory.mktemp("single")
    assert app.main([*map(str, clips), "--out-root", str(root), *job_args]) == 0
    return root


def outputs(folder: Path) -> dict[str, bytes | dict]:
    """Every file of an output folder; summary.json without its measured stage latencies (timings)."""
    files: dict[str, bytes | dict] = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "summary.json"}
    summary = json.loads((folder / "summary.json").read_text())
    summary.pop("mean_stage_ms_per_frame_with_hands")
    return {**files, "summary.json": summary}


def assert_same_outputs(got: Path, expected: Path, names: list[str]) -> None:
    assert sorted(p.name for p in got.iterdir()) == sorted(names)
    for name in names:
        assert outputs(got / name) == outputs(expected / name), name
        assert sorted(p.name for p in (got / name).iterdir()) == ["annotated.mp4", "coco_wholebody.json",
                                                                  "poses.csv", "poses.jsonl", "summary.json"]  # fmt: skip


def test_three_clips_on_two_workers_match_the_single_process_run(local_ray, clips, job_args, reference, tmp_path,
                                                                 capsys):  # fmt: skip
    root = tmp_path / "ray"
    args = [*map(str, clips), "--out-root", str(root), *job_args, "--ray", "--num-workers", "2"]
    assert app.main(args) == 0
    out = capsys.readouterr().out
    assert_same_outputs(root, reference, ["cut", "mirrored", "sample_clip"])
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.endswith(tuple("0123456789"))}
    assert [rows[c.name][1:4] for c in clips] == [["done", str(FRAMES), "1"]] * 3
    assert len({rows[c.name][5] for c in clips}) == 2  # both workers took videos
    assert "3 of 3 videos done, 0 failed or incomplete" in out
    # --resume: complete outputs of the same settings are not processed again
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert app.main([*args, "--resume"]) == 0
    assert [line.split()[1:3] for line in capsys.readouterr().out.splitlines()[1:4]] == [["finished", "before"]] * 3
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_a_corrupt_video_is_reported_and_the_others_finish(clips, job_args, reference, tmp_path):
    """In a real child process: `--ray` alone starts its own local Ray, and stops it."""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 100)
    root = tmp_path / "ray"
    videos = [str(clips[1]), str(broken), str(clips[2])]
    run = subprocess.run([sys.executable, "-m", "apps.process_video", *videos, "--out-root", str(root), *job_args,
                          "--ray", "--num-workers", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr
    row = next(line.split() for line in run.stdout.splitlines() if line.startswith("broken.mp4 "))
    assert row[1:4] == ["failed", "-", "2"]  # tried twice
    assert f"{broken}: FAILED: " in run.stdout
    assert "2 of 3 videos done, 1 failed or incomplete" in run.stdout
    assert_same_outputs(root, reference, ["cut", "mirrored"])  # no folder for the broken one


def _worker_pids() -> list[int]:
    """Processes of live Ray workers of handpose.video.cluster.VideoWorker (Ray names them ray::VideoWorker...)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::VideoWorker"):
                pids.append(int(entry.name))
        except OSError:  # the process ended meanwhile
            continue
    return pids


def test_a_worker_killed_mid_video_is_replaced_and_the_result_is_the_same(local_ray, clips, job_args, reference,
                                                                           tmp_path, capsys):  # fmt: skip
    root = tmp_path / "ray"
    progress = root / "sample_clip" / ".partial" / "progress.json"
    codes: list[int] = []
    run = threading.Thread(target=lambda: codes.append(app.main(
        [str(clips[0]), "--out-root", str(root), *job_args, "--ray", "--num-workers", "1"])))  # fmt: skip
    run.start()
    killed = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and run.is_alive():
            try:
                at_checkpoint = json.loads(progress.read_text())["next_frame"] >= EVERY
            except (OSError, ValueError):
                at_checkpoint = False
            if at_checkpoint:
                (killed,) = _worker_pids()
                os.kill(killed, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        run.join(timeout=300)
    assert killed is not None, "the worker must be killed after the first checkpoint, before the video is done"
    assert codes == [0]
    row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("sample_clip.mp4 "))
    assert row[1:4] == ["done", str(FRAMES), "2"] and not row[5].endswith(f":{killed}")  # another process finished it
    assert_same_outputs(root, reference, ["sample_clip"])


def test_bad_ray_arguments_are_one_line_errors(clips, tmp_path, capsys):
    assert app.main([str(clips[0]), "--out-root", str(tmp_path), "--ray", "not an address", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --ray ADDRESS must be") and err.count("\n") == 1
    assert app.main([str(clips[0]), "--out-root", str(tmp_path), "--ray", "127.0.0.1:1", "--quiet"]) == 2
    err = capsys.readouterr().err  # nothing listens there: a one-line error in seconds, not Ray's minutes of retries
    assert err.startswith("error: cannot reach a Ray cluster at 127.0.0.1:1") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_:
        app.main([str(clips[0]), "--num-workers", "2"])
    assert exit_.value.code == 2 and "need --ray" in capsys.readouterr().err
