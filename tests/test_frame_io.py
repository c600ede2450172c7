"""Result files carry each joint's visibility: JSONL round trip (and old records without it), CSV columns,
COCO-WholeBody flags, offline smoothing."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from handpose.errors import InputError
from handpose.io.coco_export import coco_wholebody
from handpose.io.csv_writer import HEADER, write_csv
from handpose.io.frame_record import FrameRecord
from handpose.io.jsonl_writer import JsonlWriter, read_jsonl
from handpose.skeleton import JOINT_NAMES
from handpose.smooth.offline import smooth_records
from handpose.types import Handedness, HandPose


def _hand(side: Handedness, seed: int, visibility: np.ndarray | None = None) -> HandPose:
    """A seeded random hand; ``visibility`` None leaves HandPose's default."""
    rng = np.random.default_rng(seed)
    hand = HandPose(side, 0.9, rng.uniform(20, 300, (21, 2)).astype(np.float32),
                    rng.normal(0, 50, (21, 3)).astype(np.float32), rng.normal(0, 1, (21, 3)).astype(np.float32))
    return hand if visibility is None else replace(hand, visibility=visibility)


def _visibility(seed: int) -> np.ndarray:
    """(21,) float32 in [0, 1] with joints on both sides of 0.5, and the edges 0, 0.5 and 1 themselves."""
    values = np.random.default_rng(seed).uniform(0, 1, 21).astype(np.float32)
    values[:3] = (0.0, 0.5, 1.0)
    return values


def test_jsonl_round_trip_keeps_visibility_and_bytes(tmp_path):
    records = [FrameRecord(t, t / 30.0, (_hand("right", t, _visibility(t)), _hand("left", 10 + t, _visibility(9))))
               for t in range(4)]
    path = tmp_path / "poses.jsonl"
    with JsonlWriter(path) as writer:
        for record in records:
            writer.write(record)
    back = list(read_jsonl(path))
    for record, read in zip(records, back, strict=True):
        for hand, hand_back in zip(record.hands, read.hands, strict=True):
            assert hand_back.visibility.shape == (21,) and hand_back.visibility.dtype == np.float32
            np.testing.assert_allclose(hand_back.visibility, hand.visibility, atol=5e-4 + 1e-7)  # 3 decimals
    line = json.loads(path.read_text().splitlines()[0])
    assert len(line["hands"][0]["visibility"]) == 21
    assert all(round(v, 3) == v for v in line["hands"][0]["visibility"])
    # written again, the records read back give the same bytes
    assert "".join(r.to_json() + "\n" for r in back) == path.read_text()


def test_old_records_without_visibility_read_as_all_visible_and_bad_ones_are_refused():
    doc = json.loads(FrameRecord(3, 0.1, (_hand("right", 0, _visibility(1)),)).to_json())
    del doc["hands"][0]["visibility"]
    (hand,) = FrameRecord.from_json(json.dumps(doc)).hands
    np.testing.assert_array_equal(hand.visibility, np.ones(21, np.float32))
    for bad, message in (([0.5] * 20, r"visibility of shape \(21,\)"), ([0.5] * 20 + [1.5], r"\[0, 1\]"),
                         ([0.5] * 20 + [float("nan")], r"\[0, 1\]")):
        doc["hands"][0]["visibility"] = bad
        with pytest.raises(InputError, match=message):
            FrameRecord.from_json(json.dumps(doc))


def test_csv_has_one_visibility_column_per_joint(tmp_path):
    hands = (_hand("right", 0, _visibility(2)), _hand("left", 1))
    assert write_csv(tmp_path / "poses.csv", [FrameRecord(0, 0.0, hands)]) == 2
    with open(tmp_path / "poses.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == HEADER and HEADER[-21:] == tuple(f"{name}_visible" for name in JOINT_NAMES)
    assert rows[0]["index_tip_visible"] == str(round(float(hands[0].visibility[8]), 3))
    np.testing.assert_allclose([float(rows[0][f"{n}_visible"]) for n in JOINT_NAMES], hands[0].visibility, atol=5e-4)
    assert [float(rows[1][f"{n}_visible"]) for n in JOINT_NAMES] == [1.0] * 21  # the default: all visible


def test_coco_flag_is_2_for_visible_joints_and_1_for_occluded_ones():
    visibility = _visibility(3)
    doc = coco_wholebody([FrameRecord(0, 0.0, (_hand("right", 0, visibility), _hand("left", 1)))], "clip", (320, 240))
    (annotation,) = doc["annotations"]
    flags = np.array(annotation["righthand_kpts"]).reshape(21, 3)[:, 2]
    np.testing.assert_array_equal(flags, np.where(visibility >= 0.5, 2, 1))
    assert set(flags) == {1, 2} and flags[1] == 2  # visibility exactly 0.5 counts as visible
    assert np.all(np.array(annotation["lefthand_kpts"]).reshape(21, 3)[:, 2] == 2)


def test_offline_smoothing_keeps_each_hands_visibility():
    records = [FrameRecord(t, t / 30.0, (_hand("right", t, _visibility(t)),)) for t in range(6)]
    smoothed = smooth_records(records)
    assert any(np.abs(a.hands[0].keypoints_px - b.hands[0].keypoints_px).max() > 0 for a, b in zip(records, smoothed))
    for record, after in zip(records, smoothed, strict=True):
        np.testing.assert_array_equal(after.hands[0].visibility, record.hands[0].visibility)


def test_gesture_fields_in_jsonl_and_csv(tmp_path):
    """JSONL and CSV carry each hand's gesture, its score and the extended-finger count; old lines
    without them read as not classified; bad values are refused."""
    hands = (replace(_hand("right", 0), gesture="thumb_up", gesture_score=0.87654, finger_count=1), _hand("left", 1))
    record = FrameRecord(5, 0.2, hands)
    doc = json.loads(record.to_json())
    assert [(h["gesture"], h["gesture_score"], h["finger_count"]) for h in doc["hands"]] == [
        ("thumb_up", 0.8765, 1), ("none", 0.0, -1)]
    back = FrameRecord.from_json(record.to_json()).hands
    assert (back[0].gesture, back[0].gesture_score, back[0].finger_count) == ("thumb_up", 0.8765, 1)
    for key in ("gesture", "gesture_score", "finger_count"):
        del doc["hands"][0][key]
    (old,) = FrameRecord.from_json(json.dumps({**doc, "hands": doc["hands"][:1]})).hands
    assert (old.gesture, old.gesture_score, old.finger_count) == ("none", 0.0, -1)
    for key, bad, message in (("gesture", "wave", "gesture one of"), ("gesture_score", 1.5, r"\[0, 1\]"),
                              ("finger_count", 6, "finger_count"), ("finger_count", 2.5, "finger_count")):
        line = json.loads(record.to_json())
        line["hands"][0][key] = bad
        with pytest.raises(InputError, match=message):
            FrameRecord.from_json(json.dumps(line))
    assert write_csv(tmp_path / "poses.csv", [record]) == 2
    with open(tmp_path / "poses.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert HEADER[:8] == ("frame", "timestamp_s", "hand", "handedness", "presence", "gesture", "gesture_score",
                          "finger_count")
    assert [(r["gesture"], r["gesture_score"], r["finger_count"]) for r in rows] == [("thumb_up", "0.8765", "1"),
                                                                                     ("none", "0.0", "-1")]
