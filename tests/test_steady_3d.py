"""Steady 3D: a track keeps its side through MediaPipe's label flips, the depth-aware translation
filter beats the One Euro filter it replaced, the fixed-lag smoother steadies a track and keeps its
records, bones keep their lengths, the palm's depth reading ignores holes and fingers, and a track's
hand size comes from depth frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from handpose.detect.detector import HandDetector
from handpose.detect.handedness_vote import HandednessVote
from handpose.detect.tracker import HandTracker, TrackerConfig
from handpose.io.frame_record import FrameRecord
from handpose.geometry.lift import palm_depth_mm
from handpose.smooth.bones import bone_lengths
from handpose.smooth.filters import MILLIMETRE_DEFAULTS, OneEuroFilter
from handpose.smooth.hand_size import ESTIMATE_FRAMES, TrackHandSize
from handpose.smooth.fixed_lag import FixedLagSmoother, smooth_stream
from handpose.smooth.offline import smooth_records
from handpose.smooth.translation import LIVE_ACCEL_MM_S2, TranslationFilter, TranslationNoise, smooth_translations
from handpose.types import HandPose
from tests.hand_fixtures import noisy_clip_records, track_error, track_jitter

SAMPLE_CLIP = Path(__file__).resolve().parents[1] / "apps" / "assets" / "sample_clip.mp4"
FPS = 30.0


def test_vote_known_answers():
    vote = HandednessVote.first("right", 0.9)
    assert vote.add("left", 0.9) == "right"  # one flip right after the first detection: kept
    assert vote.add("left", 0.9) == "left"  # two in a row that early: re-decided
    long_run = HandednessVote.first("right", 1.0)
    for _ in range(20):
        long_run.add("right", 1.0)
    sides = [long_run.add("left", 1.0) for _ in range(6)]
    assert sides == ["right"] * 4 + ["left"] * 2  # strong evidence only: five detections in a row


class FlippingDetector(HandDetector):
    """The real detector, whose hand labels are swapped on the calls in ``flip_calls`` (fault injection)."""

    def __init__(self, flip_calls: set[int]) -> None:
        super().__init__(mode="video", num_hands=2)
        self.flip_calls = flip_calls

    def detect(self, rgb, timestamp_s=None):
        boxes = super().detect(rgb, timestamp_s)
        if self.calls - 1 in self.flip_calls:
            from dataclasses import replace

            boxes = [replace(b, handedness="left" if b.handedness == "right" else "right") for b in boxes]
        return boxes


def test_tracks_keep_their_side_through_injected_label_flips():
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 10)  # a frame where MediaPipe finds both hands
    ok, bgr = capture.read()
    capture.release()
    assert ok, f"cannot read {SAMPLE_CLIP}"
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    size = (rgb.shape[1], rgb.shape[0])
    with FlippingDetector(flip_calls={2, 4, 6}) as detector:  # every other detection flipped
        tracker = HandTracker(detector, TrackerConfig(redetect_every=1))
        seen: dict[int, set[str]] = {}
        for k in range(8):
            hands = tracker.hands(rgb, k / FPS)
            assert len(hands) == 2, "MediaPipe finds both hands of the sample clip's frame 10"
            for hand in hands:
                seen.setdefault(hand.track_id, set()).add(hand.box.handedness)
                tracker.update(hand.track_id, hand.box.keypoints_px, 0.9, size, k / FPS)
        assert detector.calls == 8
    assert len(seen) == 2  # the same two tracks throughout, never a new id for a flipped label
    assert sorted(s for sides in seen.values() for s in sides) == ["left", "right"]  # each one side


def _step_trajectory(rng):
    """A wrist still at 650 mm for 4 s, then a 100 mm step nearer, with the noise the model assumes."""
    times = np.arange(240) / FPS
    truth = np.tile([50.0, -20.0, 650.0], (len(times), 1))
    truth[120:, 2] = 550.0
    noise = TranslationNoise()
    side_px = 150.0 * 650.0 / truth[:, 2]
    covariances = np.array([noise.covariance(p, s, p[2] / 554.0) for p, s in zip(truth, side_px)])
    measured = np.array([rng.multivariate_normal(p, c) for p, c in zip(truth, covariances)])
    return times, truth, measured, covariances


def _jitter_and_lag(track, times):
    jitter = np.linalg.norm(np.diff(track[:115], 2, axis=0), axis=1).mean() * FPS**2
    settled = np.argmax(track[120:, 2] < 560.0)  # 90% of the step
    return jitter, times[120 + settled] - times[120]


def test_translation_filter_beats_one_euro_on_a_noisy_step():
    """At the One Euro filter's lag (a fast setting) the Kalman filter trembles less; the live
    default trades some lag for much less tremble; the offline smoother beats both."""
    times, truth, measured, covariances = _step_trajectory(np.random.default_rng(3))
    one_euro = OneEuroFilter(MILLIMETRE_DEFAULTS)
    o_jitter, o_lag = _jitter_and_lag(np.array([one_euro(m[None], t)[0] for m, t in zip(measured, times)]), times)
    raw_jitter, _ = _jitter_and_lag(measured, times)

    def kalman(accel):
        f = TranslationFilter(accel)
        return np.array([f(m, c, t) for m, c, t in zip(measured, covariances, times)])

    fast_jitter, fast_lag = _jitter_and_lag(kalman(5000.0), times)
    assert fast_jitter < 0.95 * o_jitter < raw_jitter and fast_lag <= o_lag
    live = kalman(LIVE_ACCEL_MM_S2)
    live_jitter, _ = _jitter_and_lag(live, times)
    assert live_jitter < 0.5 * o_jitter
    offline = smooth_translations(measured, covariances, times)
    assert np.abs(offline[:110] - truth[:110]).mean() < np.abs(live[:110] - truth[:110]).mean()


def test_depth_noise_grows_with_depth_and_falls_with_pixel_size():
    pixel_only = TranslationNoise(size_fraction=0.0)
    near = pixel_only.covariance(np.array([0.0, 0.0, 400.0]), 200.0, 0.4)
    far = pixel_only.covariance(np.array([0.0, 0.0, 800.0]), 200.0, 0.4)
    big = pixel_only.covariance(np.array([0.0, 0.0, 800.0]), 400.0, 0.4)
    assert far[2, 2] == pytest.approx(4 * near[2, 2], rel=1e-3)
    assert big[2, 2] == pytest.approx(far[2, 2] / 4, rel=1e-3)
    noise = TranslationNoise()  # with the share of the size: the same directions, a floor
    small, large = (noise.covariance(np.array([0.0, 0.0, 800.0]), side, 0.4)[2, 2] for side in (50.0, 400.0))
    assert small > large >= (800.0 * noise.size_fraction) ** 2
    off_axis = noise.covariance(np.array([300.0, 0.0, 600.0]), 200.0, 0.4)
    assert off_axis[0, 2] > 0  # a depth error moves the hand along its ray


def _wobbly_hand(rng, frames):
    from handpose.data.synth import rig

    rest = rig.joints21_mm(rig.forward_kinematics(rig.load_rig("right"), np.tile(np.eye(3), (25, 1, 1))))
    return rest, rest + rng.normal(0.0, 3.0, (frames, 21, 3))


def test_offline_smoothing_keeps_bone_lengths_and_steadies_depth():
    rng = np.random.default_rng(6)
    rest, noisy = _wobbly_hand(rng, 60)
    depth = 600.0 + rng.normal(0.0, 8.0, 60)  # a still hand whose depth is noisy
    records = []
    for t in range(60):
        joints = noisy[t] + np.array([0.0, 0.0, depth[t]])
        keypoints = 554.0 * joints[:, :2] / joints[:, 2:] + np.array([320.0, 240.0])
        hand = HandPose(handedness="right", presence=0.9, keypoints_px=keypoints.astype(np.float32),
                        joints_cam_mm=joints.astype(np.float32), joints_norm=(noisy[t] / 46.9).astype(np.float32))
        records.append(FrameRecord(t, t / FPS, (hand,)))
    smoothed = np.array([r.hands[0].joints_cam_mm for r in smooth_records(records)], np.float64)
    lengths = bone_lengths(smoothed)
    assert np.ptp(lengths, axis=0).max() < 1e-3  # float32 outputs
    assert np.std(smoothed[:, 0, 2] - rest[0, 2]) < 0.4 * np.std(depth)


def test_palm_depth_ignores_holes_fingers_and_background():
    keypoints = np.zeros((21, 2))
    keypoints[[0, 5, 9, 13, 17]] = [[100, 160], [70, 100], [95, 95], [120, 97], [140, 105]]
    depth = np.full((240, 240), 2000, np.uint16)  # background
    cv2.fillConvexPoly(depth, np.array([[60, 170], [60, 90], [150, 90], [150, 170]], np.int32), 600)  # the palm
    rng = np.random.default_rng(7)
    holes = rng.random(depth.shape) < 0.3
    depth[holes] = 0
    depth[110:118, 80:140] = 450  # a finger across the palm
    assert palm_depth_mm(depth, keypoints) == pytest.approx(600.0)
    depth[:] = 0
    assert palm_depth_mm(depth, keypoints) is None


def test_track_hand_size_from_depth_is_fixed_after_its_first_frames():
    size = TrackHandSize(41.0)
    rng = np.random.default_rng(8)
    for _ in range(ESTIMATE_FRAMES - 1):  # a hand 10% smaller than configured: depth says 10% nearer
        size.observe_depth(540.0 * (1 + rng.normal(0, 0.01)), 600.0)
        assert not size.fixed and size.size_mm == 41.0
    size.observe_depth(540.0, 600.0)
    assert size.fixed and size.size_mm == pytest.approx(36.9, abs=0.3)
    size.observe_depth(900.0, 600.0)
    assert size.size_mm == pytest.approx(36.9, abs=0.3)  # fixed for the track


def test_live_smoothing_keeps_the_hands_metric_size():
    """Live, the smoothed pose is placed at its own scale: every frame's hand has the track's size
    (the median of its stable bones against the rigged hand's is the configured hand size). Lifted
    at the raw frame's scale instead, the smoothed hand's size flickered by the model's 2-3% per-frame
    scale noise, which on the real ASL video was a quarter of the live 3D jitter relative to the wrist."""
    from handpose.geometry.lift import STABLE_BONE_RATIOS, STABLE_BONES
    from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
    from handpose.capture.video_file import VideoFileSource

    parents, children = np.array(STABLE_BONES).T
    sizes = []
    with HandPosePipeline(PipelineConfig(hand_size_mm=45.0, smoothing=True)) as pipeline:
        for result in pipeline.run(VideoFileSource(SAMPLE_CLIP, max_frames=30)):
            for hand in result:
                joints = hand.joints_cam_mm.astype(np.float64)
                sizes.append(np.median(np.linalg.norm(joints[children] - joints[parents], axis=-1) / STABLE_BONE_RATIOS))
    assert len(sizes) >= 30
    np.testing.assert_allclose(sizes, 45.0, rtol=1e-3)


def test_fixed_lag_smoother_keeps_the_records_and_steadies_noisy_tracks():
    """Noisy true hands of the sample clip (``noisy_clip_records``) through the live demo's smoother:
    every record comes out once, in order, with the same hands (the left hand's gap stays a gap);
    one frame of look-ahead trembles less and errs less than none (the causal models alone), and
    the hands keep the bone lengths of their track."""
    records, truth = noisy_clip_records(SAMPLE_CLIP.with_name("sample_clip_gt.npz"))
    out = {lag: list(smooth_stream(records, lag)) for lag in (0, 1)}
    smoother = FixedLagSmoother(1)
    assert smoother.push(records[0]) == []  # one frame held back
    assert [r.frame for r in smoother.push(records[1])] == [0]
    assert [r.frame for r in smoother.flush()] == [1]
    for lagged in out.values():
        assert [r.frame for r in lagged] == [r.frame for r in records]
        assert [[h.handedness for h in r.hands] for r in lagged] == [[h.handedness for h in r.hands] for r in records]
    assert track_jitter(out[1], "joints_cam_mm") < 0.9 * track_jitter(out[0], "joints_cam_mm")  # measured 0.77-0.81
    for key in ("keypoints_px", "joints_cam_mm"):
        assert track_error(out[1], key, truth[key]) < track_error(out[0], key, truth[key]) < track_error(records, key, truth[key])
    def spread(recs):  # of each bone's length over the last 60 frames, mm
        return np.ptp([bone_lengths(np.asarray(r.hands[0].joints_cam_mm, np.float64)) for r in recs[-60:]], axis=0)

    assert np.all(spread(out[1]) < 0.1 * spread(records))  # the track's median lengths: 0.4-2.2 mm against 20-33
