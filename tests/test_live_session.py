"""LiveSession, the engine behind both demo windows: toggles switch real pipelines (kept and reused),
mirroring flips the frame the pipeline sees, and the overlay is drawn on a copy of the frame."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.capture import open_source
from handpose.infer.pipeline import PipelineConfig
from handpose.live.session import LiveSession
from tests.media_fixtures import model_checkpoint, pan_frames, write_video


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("session")
    clip = write_video(folder / "pan.mp4", pan_frames(10, (320, 240)), fps=15.0)
    config = PipelineConfig(checkpoint=model_checkpoint(folder), backend="torch")
    live = LiveSession(open_source(clip), config, backends=("torch", "tensorrt", "onnxruntime"), pace=False)
    yield live
    live.close()


def test_toggles_switch_and_reuse_pipelines(session):
    first = session.next()
    assert first is not None and session.settings == {"backend": "torch", "smoothing": "on", "mirror": "off"}
    original = session.pipeline
    session.toggle_smoothing()
    assert session.settings["smoothing"] == "off" and session.pipeline is original  # switched in place:
    assert session.pipeline.config.smoothing is False  # no second model, no second MediaPipe
    session.toggle_mirror()
    assert session.pipeline is original and session.pipeline.detector.mirrored_input is True
    session.toggle_mirror()
    session.toggle_smoothing()
    assert session.pipeline is original and session.pipeline.config.smoothing is True
    session.cycle_backend()  # TensorRT cannot be built here: skipped, on to ONNX Runtime
    assert session.settings["backend"] == "onnxruntime" and session.pipeline.config.backend == "onnxruntime"
    assert "note" not in session.settings
    assert session.next() is not None


def test_mirroring_flips_what_the_pipeline_sees_and_the_overlay_is_a_copy(session):
    plain = session.next()
    plain_rgb = plain.frame.rgb.copy()
    session.toggle_mirror()
    assert session.settings["mirror"] == "on" and session.pipeline.config.mirrored_input
    mirrored = session.next()
    assert mirrored.frame.index == plain.frame.index + 1
    # neighbouring frames of a slow pan: the mirrored one matches the plain one flipped, not as it is
    flipped_error = np.abs(mirrored.frame.rgb.astype(int) - plain_rgb[:, ::-1]).mean()
    same_error = np.abs(mirrored.frame.rgb.astype(int) - plain_rgb).mean()
    assert flipped_error < 0.5 * same_error
    # the latency text (and any skeleton) is drawn on the display copy, never on the frame itself
    assert not np.array_equal(mirrored.image_rgb, mirrored.frame.rgb)
    assert np.array_equal(mirrored.image_rgb[-20:, -60:], mirrored.frame.rgb[-20:, -60:]) or mirrored.hands
    session.toggle_mirror()
