"""Tracker: when MediaPipe runs (counted on the real detector), where the next crop goes, track ids."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.detect.detector import HandDetector
from handpose.detect.tracker import HandTracker, TrackerConfig
from handpose.errors import InputError
from tests.real_photos import ONE_HAND_PHOTOS, load_rgb

FPS = 30.0


@pytest.fixture(scope="module")
def photo():
    return load_rgb(ONE_HAND_PHOTOS[2])


@pytest.fixture
def detector():
    with HandDetector(mode="video", num_hands=1) as det:
        yield det


def _run(tracker, rgb, presences, shift_px=0.0):
    """Track ``rgb`` as a video; the 'model' predicts the tracked keypoints (+ shift) with the given presences."""
    sources = []
    size = (rgb.shape[1], rgb.shape[0])
    for k, presence in enumerate(presences):
        hands = tracker.hands(rgb, k / FPS)
        sources.append([h.box.source for h in hands])
        for hand in hands:
            tracker.update(hand.track_id, hand.box.keypoints_px + shift_px, presence, size, k / FPS)
    return sources


def test_steady_state_frames_do_not_run_the_detector(detector, photo):
    tracker = HandTracker(detector, TrackerConfig(redetect_every=5, presence_threshold=0.5))
    sources = _run(tracker, photo, [0.9] * 12)
    assert detector.calls == 3  # frames 0, 5 and 10
    assert [s[0] for s in sources] == ["detector"] + ["tracker"] * 4 + ["detector"] + ["tracker"] * 4 + ["detector", "tracker"]


def test_low_presence_triggers_redetection_on_the_next_frame(detector, photo):
    tracker = HandTracker(detector, TrackerConfig(redetect_every=100, presence_threshold=0.5))
    presences = [0.9, 0.9, 0.9, 0.2, 0.9, 0.9]
    sources = _run(tracker, photo, presences)
    assert detector.calls == 2
    assert [s[0] for s in sources] == ["detector", "tracker", "tracker", "tracker", "detector", "tracker"]


def test_hand_leaving_the_frame_is_lost(detector, photo):
    tracker = HandTracker(detector, TrackerConfig(redetect_every=100))
    (hand,) = tracker.hands(photo, 0.0)
    outside = hand.box.keypoints_px + np.array([photo.shape[1], 0.0])
    assert tracker.update(hand.track_id, outside, 0.99, (photo.shape[1], photo.shape[0]), 0.0) is False
    (hand_again,) = tracker.hands(photo, 1 / FPS)
    assert hand_again.box.source == "detector" and detector.calls == 2
    assert hand_again.track_id == hand.track_id + 1  # a lost hand comes back as a new track


def test_next_crop_follows_the_prediction_and_keeps_its_id(detector, photo):
    tracker = HandTracker(detector, TrackerConfig(redetect_every=100))
    (first,) = tracker.hands(photo, 0.0)
    size = (photo.shape[1], photo.shape[0])
    moved = first.box.keypoints_px + np.array([12.0, -6.0])
    tracker.update(first.track_id, moved, 0.9, size, 1 / FPS)
    (second,) = tracker.hands(photo, 2 / FPS)
    shift = (second.box.keypoints_px - first.box.keypoints_px).mean(axis=0)
    assert second.box.source == "tracker" and second.track_id == first.track_id
    assert 0.3 * 12 < shift[0] <= 12 and -6 <= shift[1] < -0.3 * 6  # towards the prediction, lightly smoothed


@pytest.mark.parametrize(("scale", "detected_again"), [(0.55, True), (1.8, True), (0.8, False), (1.2, False)])
def test_a_box_rescaled_since_its_detection_is_detected_again(detector, photo, scale, detected_again):
    """A crop collapsing onto part of the hand (or trailing a hand that comes closer) keeps a confident
    presence; a box side changed by more than rescale_factor (1.5) since the model's first answer on
    the detector's crop sends the next frame to MediaPipe. The first answer sets the reference, so
    the model's box may differ steadily from MediaPipe's (here 0.7x) without a detection."""
    tracker = HandTracker(detector, TrackerConfig(redetect_every=100))
    size = (photo.shape[1], photo.shape[0])
    (hand,) = tracker.hands(photo, 0.0)
    centre = hand.box.keypoints_px.mean(axis=0)
    kp = centre + 0.7 * (hand.box.keypoints_px - centre)
    assert tracker.update(hand.track_id, kp, 0.9, size, 0.0)
    (hand,) = tracker.hands(photo, 0.5 / FPS)
    assert hand.box.source == "tracker"
    for k in (1, 2, 3):  # the same rescaled prediction a few times, so the crop filter settles on it
        assert tracker.update(hand.track_id, centre + scale * (kp - centre), 0.9, size, k / FPS)
        (hand,) = tracker.hands(photo, (k + 1) / FPS)
        if hand.box.source == "detector":
            break
    assert (hand.box.source == "detector") is detected_again
    assert detector.calls == (2 if detected_again else 1)
    with pytest.raises(InputError, match="rescale_factor"):
        TrackerConfig(rescale_factor=1.0)


def test_redetection_keeps_the_track_id(detector, photo):
    tracker = HandTracker(detector, TrackerConfig(redetect_every=2))
    ids = []
    for k in range(5):
        (hand,) = tracker.hands(photo, k / FPS)
        ids.append(hand.track_id)
        tracker.update(hand.track_id, hand.box.keypoints_px, 0.9, (photo.shape[1], photo.shape[0]), k / FPS)
    assert detector.calls == 3 and len(set(ids)) == 1


def test_no_hand_runs_the_detector_every_frame(detector):
    tracker = HandTracker(detector, TrackerConfig(redetect_every=30))
    blank = np.zeros((240, 320, 3), np.uint8)
    assert all(tracker.hands(blank, k / FPS) == [] for k in range(4))
    assert detector.calls == 4


def test_bad_config_and_ids(detector, photo):
    with pytest.raises(InputError, match="redetect_every"):
        TrackerConfig(redetect_every=0)
    tracker = HandTracker(detector)
    with pytest.raises(InputError, match="unknown track id"):
        tracker.update(99, np.zeros((21, 2)), 1.0, (640, 480), 0.0)


@pytest.mark.parametrize("retry_frames, calls", [(5, 4), (1, 2)])
def test_a_lost_hand_is_looked_for_on_the_next_frames(photo, retry_frames, calls):
    """Two hands; one is lost and MediaPipe misses it on the next two frames (blacked out), then
    sees it again. With retries the detector keeps looking and gets it back; with a single retry
    it stops after one miss and the hand stays lost until the next periodic detection."""
    both = load_rgb("hamer_examples/test5.jpg")
    size = (both.shape[1], both.shape[0])
    with HandDetector(mode="video", num_hands=2) as detector:
        tracker = HandTracker(detector, TrackerConfig(redetect_every=100, lost_retry_frames=retry_frames))
        first = tracker.hands(both, 0.0)
        assert len(first) == 2
        lost = first[0]
        hidden = both.copy()
        lo = np.floor(lost.box.keypoints_px.min(axis=0) - 20).astype(int).clip(0)
        hi = np.ceil(lost.box.keypoints_px.max(axis=0) + 20).astype(int)
        hidden[lo[1]:hi[1], lo[0]:hi[0]] = 0
        for hand in first:
            tracker.update(hand.track_id, hand.box.keypoints_px, 0.2 if hand is lost else 0.9, size, 0.0)
        counts = []
        for k, rgb in enumerate([hidden, hidden, both, both], start=1):
            hands = tracker.hands(rgb, k / FPS)
            counts.append(len(hands))
            for hand in hands:
                tracker.update(hand.track_id, hand.box.keypoints_px, 0.9, size, k / FPS)
        assert detector.calls == calls
        assert counts == ([1, 1, 2, 2] if retry_frames > 1 else [1, 1, 1, 1])
    with pytest.raises(InputError, match="lost_retry_frames"):
        TrackerConfig(lost_retry_frames=0)


def test_fewer_hands_than_wanted_are_searched_for_more_often(photo):
    """One hand in view, two wanted: MediaPipe looks for the second every ``search_every`` frames;
    with one wanted it runs only every ``redetect_every``."""
    for wanted, expected_calls in ((2, 3), (1, 1)):
        with HandDetector(mode="video", num_hands=wanted) as det:
            tracker = HandTracker(det, TrackerConfig(redetect_every=100, search_every=4))
            sources = _run(tracker, photo, [0.9] * 10)
            assert det.calls == expected_calls
            assert all(len(s) == 1 for s in sources)  # still the one hand, one track
