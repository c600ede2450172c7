"""The front door: ``import handpose`` gives the public API, lazily; the README's quick start runs
as written; ``pipeline.run(source)`` and ``handpose.process_video(path)`` work on the sample clip."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CLIP = ROOT / "apps" / "assets" / "sample_clip.mp4"


def test_import_is_light_and_names_resolve():
    code = ("import sys, handpose; heavy = [m for m in ('torch', 'cv2', 'mediapipe') if m in sys.modules]; "
            "print(heavy, sorted(handpose.__all__)); handpose.HandPosePipeline; handpose.FrameResult")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    heavy, names = done.stdout.strip().split("] ")
    assert heavy == "[" and "'process_video'" in names and "'HandPosePipeline'" in names


def test_readme_quick_start_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"## Quick start.*?```python\n(.*?)```", readme, re.S)
    assert match, "the README has a 'Quick start' section with a python block"
    import cv2

    bgr = cv2.imread(str(ROOT / "apps" / "assets" / "benchmark_hand.jpg"))
    namespace = {"rgb": cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "np": np}
    exec(compile(match.group(1), "README quick start", "exec"), namespace)  # noqa: S102 - our own README
    assert len(namespace["result"]) == 1  # the photo's one hand


def test_run_over_a_source_spec_and_process_video(tmp_path):
    import handpose

    with handpose.HandPosePipeline() as pipeline:
        results = list(pipeline.run(str(SAMPLE_CLIP)))
    assert [r.index for r in results] == list(range(120)) and all(r.timings.total_ms > 0 for r in results)
    assert sum(len(r) for r in results) > 150  # two hands on most frames
    job = handpose.process_video(SAMPLE_CLIP, out_dir=tmp_path / "clip",
                                 options=handpose.VideoJobOptions(annotate=False, progress=False))
    assert job.frames_processed == 120 and job.outputs["jsonl"].is_file()
