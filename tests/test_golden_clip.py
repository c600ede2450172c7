"""Golden regression test: the default model on the sample clip keeps the detection rate, EPE and
palm position error the README states, within a stated margin. The numbers live in
``tests/golden_sample_clip.json`` next to the sha256 of the model they were measured with; the
README must quote them, so neither can drift without the other."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from handpose.eval.clip import evaluate_clip
from handpose.gesture.classifier import GestureClassifier
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.io.jsonl_writer import read_jsonl
from handpose.model.checkpoint import DEFAULT_CHECKPOINT
from handpose.video.job import VideoJobOptions, process_video

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "golden_sample_clip.json").read_text())


def test_golden_numbers_belong_to_the_default_model_and_are_in_the_readme():
    sha = hashlib.sha256(DEFAULT_CHECKPOINT.read_bytes()).hexdigest()
    assert sha == GOLDEN["model_sha256"], "the default model changed: measure the sample clip again"
    readme = (ROOT / "README.md").read_text()
    for text in GOLDEN["readme_quotes"]:
        assert text in readme, f"the README no longer says {text!r}"


def test_default_model_on_the_sample_clip_keeps_its_numbers(tmp_path):
    with HandPosePipeline(PipelineConfig(smoothing=False)) as pipeline:  # as apps.process_video runs it
        result = process_video(ROOT / "apps" / "assets" / "sample_clip.mp4", pipeline, tmp_path / "clip",
                               VideoJobOptions(smoothing="offline", annotate=False, progress=False))
    records = list(read_jsonl(result.outputs["jsonl"]))
    scores = evaluate_clip(records, ROOT / "apps" / "assets" / "sample_clip_gt.npz")
    # each written gesture is that of the smoothed pose written next to it, not of the raw one
    classify = GestureClassifier()
    hands = [h for r in records for h in r.hands]
    assert hands and all(h.gesture == classify(h.joints_norm)[0].gesture for h in hands)
    margins = GOLDEN["margins"]
    assert scores.detection_rate >= GOLDEN["hands_found"] - margins["hands_found"]
    assert scores.epe_mm <= GOLDEN["epe_mm"] + margins["epe_mm"]
    assert scores.palm_position_error_mm <= GOLDEN["palm_position_error_mm"] + margins["palm_position_error_mm"]
    assert scores.epe_mm == pytest.approx(GOLDEN["epe_mm"], abs=margins["epe_mm"])  # and not suddenly far better
