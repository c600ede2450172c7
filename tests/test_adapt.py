"""handpose-adapt: a real clip (a real hand photo, panned and zoomed, written by a real VideoWriter)
labelled by the real MediaPipe teacher, a few real fine-tuning steps, interrupted by SIGTERM in a
real process and resumed; the report, the checkpoint, the hand size and the manifest checked. The
stages' own rules (temporal check, split, depth hand size) on their own."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from handpose.adapt.consistency import consistent
from handpose.adapt.footage import LabelledFrame
from handpose.adapt.hand_size import depth_hand_size_mm, footage_hand_size
from handpose.adapt.split import split_by_time
from handpose.data.real.pseudo_label import Teacher, TeacherLabel, teacher_sample
from handpose.detect.detector import HandDetector
from handpose.errors import InputError
from handpose.geometry.camera import CameraIntrinsics
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model, stored_hand_size_mm
from handpose.model.manifest import sha256_of
from tests.media_fixtures import pan_frames, write_video
from tests.real_photos import ONE_HAND_PHOTOS, load_rgb

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="adapts the trained default model")


def _adapt(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "apps.adapt", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_adaptation_of_a_real_clip_interrupted_and_resumed(tmp_path):
    clip = write_video(tmp_path / "me.mp4", pan_frames(30))
    out = tmp_path / "models" / "me.pt"
    args = [str(clip), "--out", str(out), "--min-steps", "80", "--max-steps", "80", "--batch-size", "8",
            "--renders", "16", "--hand-size-mm", "37.5", "--quiet"]
    first = _adapt(*args)
    state_path = out.with_suffix(".adapt") / "train_state.pt"
    deadline = time.monotonic() + 400
    while first.poll() is None and time.monotonic() < deadline:  # SIGTERM after the first checkpoint (step 50)
        if state_path.is_file():
            first.send_signal(signal.SIGTERM)
            break
        time.sleep(0.2)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 143, err[-2000:]
    assert "--resume" in err and not out.exists()
    assert 50 <= torch.load(state_path, weights_only=True)["step"] < 80

    other = _adapt(*args[:-1], "--lr", "1e-3", "--resume", "--quiet")  # other settings: refused, nothing mixed
    _, err = other.communicate(timeout=600)
    assert other.returncode == 2 and err.strip().startswith("error:") and "settings" in err
    assert len(err.strip().splitlines()) == 1

    done = _adapt(*args, "--resume")
    stdout, err = done.communicate(timeout=1500)
    assert done.returncode == 0, err[-2000:]
    assert "check frames" in stdout and not out.with_suffix(".adapt").exists()
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["steps"] == 80 and report["hands_adapt"] > 0 and report["hands_check"] > 0
    for part in ("before", "after"):
        for key in ("kp_error", "kp_error_median", "pa_mpjpe_mm", "spread_ratio", "fingers_off", "jitter",
                    "teacher_jitter"):
            assert math.isfinite(report["check"][part][key]), (part, key)
    assert out.with_suffix(".report.png").stat().st_size > 1000
    # the checkpoint loads, differs from the default where it trained, and carries the hand size
    adapted, base = load_model(out).state_dict(), load_model(DEFAULT_CHECKPOINT).state_dict()
    key = "image_vae.encoder.keypoints.logits.weight"
    assert not torch.equal(adapted[key], base[key])
    assert torch.equal(adapted["image_vae.encoder.backbone.features.0.weight"],
                       base["image_vae.encoder.backbone.features.0.weight"])  # frozen under "encoder"
    assert torch.equal(adapted["pose_vae.decoder.net.0.weight"], base["pose_vae.decoder.net.0.weight"])  # the prior kept
    assert stored_hand_size_mm(out) == 37.5 and report["hand_size"] == {"mm": 37.5, "source": "given", "frames": 0,
                                                                        "spread_mm": 0.0}
    from handpose.infer.pipeline import HandPosePipeline, PipelineConfig

    with HandPosePipeline(PipelineConfig(checkpoint=out, backend="torch")) as pipeline:
        assert pipeline.hand_size_mm == 37.5
    with HandPosePipeline(PipelineConfig(checkpoint=out, backend="torch", hand_size_mm=44.0)) as pipeline:
        assert pipeline.hand_size_mm == 44.0  # the command line still wins
    entry = json.loads((out.parent / "MANIFEST.json").read_text())["me.pt"]
    assert entry["sha256"] == sha256_of(out) and entry["footage"][0]["sha256"] == sha256_of(clip)


@pytest.mark.parametrize("argv,expected", [
    (["missing.mp4", "--out", "x.pt"], "does not exist"),
    (["{clip}", "--out", "x.onnx"], "ending in .pt"),
    (["{clip}", "--out", "x.pt", "--user-share", "1.5"], "user_share"),
    (["{clip}", "--out", "x.pt", "--teacher-3d", "-1"], "weights >= 0"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, expected):
    from apps.adapt import main

    clip = write_video(tmp_path / "c.mp4", pan_frames(3))
    argv = [a.replace("{clip}", str(clip)).replace("x.", str(tmp_path / "x.")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and expected in err and len(err.splitlines()) == 1


def _hand(frame: int, shift: float = 0.0, source: int = 0) -> LabelledFrame:
    points = np.stack([np.linspace(100, 200, 21), np.linspace(50, 150, 21)], axis=1) + [frame + shift, 0.0]
    label = TeacherLabel(points, np.zeros((21, 3)), "right", 0.9, 0.01)
    return LabelledFrame(source, frame, frame / 25.0, "right", label, None)  # type: ignore[arg-type]


def test_a_label_that_jumps_away_from_its_neighbours_is_refused():
    hands = [_hand(0), _hand(1), _hand(2, shift=40.0), _hand(3), _hand(4), _hand(5, shift=40.0), _hand(20)]
    # frames 5 and 20: no neighbour on both sides (which of 4 and 5 is wrong?), kept
    assert consistent(hands) == [True, True, False, True, True, True, True]
    fast = [_hand(f, shift=30.0 * f) for f in range(4)]  # fast, smooth motion: nothing refused
    assert consistent(fast) == [True] * 4


def test_split_by_time_keeps_each_inputs_end_for_the_check():
    hands = [_hand(f) for f in range(10)] + [_hand(f, source=1) for f in range(20)]
    split = split_by_time(hands, [10, 20], 0.3)
    assert split.first_check_frame == (7, 14)
    assert [(h.source, h.frame) for h in split.check] == [(0, 7), (0, 8), (0, 9)] + [(1, f) for f in range(14, 20)]
    with pytest.raises(InputError, match="labelled hands"):
        split_by_time(hands[:2], [10], 0.3)


def test_depth_hand_size_follows_the_depth_reading():
    """A hand the depth camera reads 25% further away, at the same 2D size, is 25% bigger; no reading,
    no estimate."""
    rgb = load_rgb(ONE_HAND_PHOTOS[2])  # the first two ('call'): their mirror disagrees
    with HandDetector(mode="image") as detector:
        ((label, why),) = Teacher(detector).label(rgb)
    assert why == "ok"
    camera = CameraIntrinsics.default_for(rgb.shape[1], rgb.shape[0])
    def at(depth_mm: int) -> float | None:
        return depth_hand_size_mm(label, camera, np.full(rgb.shape[:2], depth_mm, np.uint16))

    near = next(d for d in range(100, 5000, 10) if (at(d) or 0.0) > 38.0)  # where the size reads ~40 mm
    assert 38.0 < at(near) < 43.0 and at(int(near * 1.25)) / at(near) == pytest.approx(1.25, abs=0.05)
    assert at(near * 3) is None  # 120 mm: not a hand's bone
    assert depth_hand_size_mm(label, camera, np.zeros(rgb.shape[:2], np.uint16)) is None
    size = footage_hand_size([at(near)] * 12 + [None] * 5)
    assert size.source == "depth" and size.frames == 12 and size.mm == pytest.approx(at(near))
    assert footage_hand_size([at(near)] * 3).mm is None  # too few depth frames to trust
    assert teacher_sample(rgb, label, 128).world_mm is not None


def test_a_recorded_clip_holds_the_seconds_asked_for(tmp_path):
    from handpose.adapt.record import parse_duration_s, record_clip
    from handpose.capture.video_file import VideoFileSource

    assert parse_duration_s("20s") == 20.0 and parse_duration_s("1.5m") == 90.0 and parse_duration_s("7") == 7.0
    with pytest.raises(InputError, match="duration"):
        parse_duration_s("soon")
    source_clip = write_video(tmp_path / "long.mp4", pan_frames(30), fps=15.0)
    with VideoFileSource(source_clip) as source:
        clip = record_clip(source, 1.0, tmp_path / "rec.mp4")
    assert clip.frames == 15 and clip.seconds == pytest.approx(14 / 15)
    with VideoFileSource(clip.path) as again:
        assert sum(1 for _ in again) == 15 and again.fps == pytest.approx(15.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4", "rec.mp4"]  # no temporary file left


def test_live_demo_records_a_clip_adapts_and_runs_with_the_result(tmp_path, capsys):
    pytest.importorskip("open3d")
    from apps import live_demo

    source = write_video(tmp_path / "cam.mp4", pan_frames(45), fps=15.0)
    out = tmp_path / "me.pt"
    code = live_demo.main(["--viewer", "open3d", "--headless", "--source", str(source), "--record-adaptation", "2s",
                           "--adapt-out", str(out), "--adapt-minutes", "0.01", "--max-frames", "3", "--no-pace",
                           "--detect-every-frame"])
    assert code == 0
    printed = capsys.readouterr().out  # recorded blind (no window), the hands still counted
    assert "recorded 30 frames (1.9 s)" in printed and "a hand in 30 of 30 frames (100%)" in printed
    assert "warning" not in printed
    assert out.with_suffix(".clip.mp4").is_file() and out.with_suffix(".report.json").is_file()
    meta = torch.load(out, weights_only=True)["meta"]
    assert meta["adaptation"]["frames"] == [30] and meta["adaptation"]["steps"] >= 1


def test_the_real_check_leaves_out_the_users_own_hands(tmp_path):
    """Hands the labeller cut from the footage's own files (an image folder reached through links,
    a video's frames) are left out of the real check set; other hands and other splits stay."""
    from handpose.adapt.real_check import without_footage

    shared = tmp_path / "shared" / "real_hands"
    (shared / "cam").mkdir(parents=True)
    for name in ("u_1.jpg", "u_2.jpg", "other.jpg"):
        (shared / "cam" / name).write_bytes(b"x")
    (shared / "clip.mp4").write_bytes(b"x")
    user = tmp_path / "user"
    user.mkdir()
    for name in ("u_1.jpg", "u_2.jpg"):
        (user / name).symlink_to(shared / "cam" / name)
    entries = [("real_hands/cam/u_1.jpg", "val", [0, 1]), ("real_hands/cam/other.jpg", "val", [2]),
               ("real_hands/cam/u_2.jpg", "train", [0]), ("real_hands/clip.mp4#7", "val", [3]),
               ("real_hands/cam/u_2.jpg", "val", [4])]
    (tmp_path / "labels" / "val").mkdir(parents=True)
    (tmp_path / "labels" / "labels.jsonl").write_text("".join(json.dumps(
        {"key": key, "split": split, "hands": [{"outcome": "ok", "split_index": i} for i in idx]}) + "\n"
        for key, split, idx in entries))
    data = ["h0", "h1", "h2", "h3", "h4", "h5"]
    spec = f"shards:{tmp_path / 'labels' / 'val'}"
    kept, left_out = without_footage(spec, data, [str(user)])
    assert (list(kept), left_out) == (["h2", "h3", "h5"], 3)
    kept, left_out = without_footage(spec, data, [str(user), str(shared / "clip.mp4")])
    assert (list(kept), left_out) == (["h2", "h5"], 4)
    assert without_footage(spec, data, [str(shared / "cam" / "other.jpg")])[1] == 1
    assert without_footage("synthetic:3:10", data, [str(user)]) == (data, 0)


def test_blending_keeps_the_asked_share_of_the_change():
    from handpose.adapt.blend import blend_towards_base

    base, tuned = load_model(DEFAULT_CHECKPOINT), load_model(DEFAULT_CHECKPOINT)
    with torch.no_grad():
        for p in tuned.parameters():
            p.add_(1.0)
    name, start = next(iter(base.state_dict().items()))
    blend_towards_base(tuned, base, 0.25)
    np.testing.assert_allclose(tuned.state_dict()[name].numpy(), start.numpy() + 0.25, atol=1e-6)
    assert blend_towards_base(tuned, base, 1.0) is tuned
    np.testing.assert_allclose(tuned.state_dict()[name].numpy(), start.numpy() + 0.25, atol=1e-6)
    with pytest.raises(InputError, match=r"blend share in \(0, 1\]"):
        blend_towards_base(tuned, base, 0.0)


def test_the_recipes_3d_weights_reach_the_losses():
    from handpose.adapt.finetune import AdaptConfig, train_config

    losses = train_config(AdaptConfig(teacher_3d=1.5, image_plane=4.0), 10).losses
    assert (losses.teacher_3d, losses.image_plane) == (1.5, 4.0)
    default = train_config(AdaptConfig(), 10).losses  # the default model's 3D weight, no image-plane term
    assert (default.teacher_3d, default.image_plane) == (2.0, 0.0)
