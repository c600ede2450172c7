"""apps/benchmark: the plot shows the measured numbers, and the command runs end to end (short run)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from apps import benchmark
from handpose.infer.benchmark import BenchmarkResult, ModelLatency, Percentiles, PipelineLatency
from handpose.viz.latency_plot import latency_figure
from tests.media_fixtures import model_checkpoint


def _p(p50: float) -> Percentiles:
    return Percentiles(p50, p50 * 1.5, p50 * 2.0, 100)


def test_plot_bars_are_the_stage_medians():
    stages = (_p(0.01), _p(0.3), _p(0.7), _p(0.25), _p(0.05))
    run = PipelineLatency(backend="onnxruntime", mediapipe_video=_p(5.0), total_all=_p(1.6), total_steady=_p(1.31),
                          stages_steady=stages, detector_calls=5, frames=100, hands_found=100)  # fmt: skip
    models = (ModelLatency("onnxruntime", 1, _p(0.4)), ModelLatency("onnxruntime", 2, _p(0.7)))
    result = BenchmarkResult((640, 480), 100, True, (run,), models)
    left, right = latency_figure(result).axes
    bars = [patch for patch in left.patches if patch.get_width() > 0]
    heights = [b.get_height() for b in bars]
    bottoms = [b.get_y() for b in bars]
    expected = [s.p50 for s in stages]
    np.testing.assert_allclose(heights[:5], expected)
    np.testing.assert_allclose(bottoms[:5], np.concatenate([[0.0], np.cumsum(expected)[:-1]]))
    np.testing.assert_allclose(heights[5:7], [1.6, 5.0])  # all frames, MediaPipe
    (p50_line, p95_line) = right.get_lines()
    np.testing.assert_allclose(p50_line.get_ydata(), [0.4, 0.7])
    np.testing.assert_allclose(p95_line.get_ydata(), [0.6, 1.05])


def test_benchmark_command_writes_table_json_and_plot(tmp_path, capsys):
    checkpoint = model_checkpoint(tmp_path)
    out_json, out_png = tmp_path / "bench.json", tmp_path / "latency.png"
    code = benchmark.main(["--checkpoint", str(checkpoint), "--frames", "16", "--backends", "onnxruntime",
                           "--batches", "1", "2", "--model-iterations", "5", "--json", str(out_json),
                           "--plot", str(out_png), "--rolls", "0", "-20", "20"])  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    assert "MediaPipe HandLandmarker video" in table and "model alone onnxruntime, batch 2" in table
    assert "crops turned by [0.0, -20.0, 20.0] deg" in table
    doc = json.loads(out_json.read_text())
    (run,) = doc["pipelines"]
    assert run["backend"] == "onnxruntime" and run["frames"] == 16 and run["mediapipe_video"]["count"] == 16
    assert [m["batch"] for m in doc["models"]] == [1, 2] and doc["roll_angles_deg"] == [0.0, -20.0, 20.0]
    if not torch.cuda.is_available():  # the GPU engines say why they were not measured
        assert "GPU engines not measured: no CUDA device" in table
        assert doc["gpu_engines"]["unavailable"].startswith("no CUDA device")
    image = cv2.imread(str(out_png))
    assert image.shape == (450, 1100, 3) and image.std() > 10
    assert benchmark.main(["--photo", str(tmp_path / "none.jpg")]) == 2
    for bad in (["--frames", "0"], ["--backends", "cuda-magic"]):  # refused by the parser, exit 2 with one line
        with pytest.raises(SystemExit) as info:
            benchmark.main(bad)
        assert info.value.code == 2
