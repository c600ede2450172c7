"""LiveSession, the engine behind both demo windows: toggles switch real pipelines (kept and reused),
mirroring flips the frame the pipeline sees, and the overlay is drawn on a copy of the frame."""

from __future__ import annotations

import dataclasses

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


def test_look_ahead_shows_every_frame_once_with_the_smoothed_hands_of_that_frame(tmp_path):
    """With ``lag_frames`` 2 each frame is shown two frames late, with the hands the fixed-lag
    smoother makes of the raw results; the source's end shows the frames still held."""
    from handpose.io.frame_record import FrameRecord
    from handpose.smooth.fixed_lag import smooth_stream

    clip = write_video(tmp_path / "pan.mp4", pan_frames(12, (320, 240)), fps=15.0)
    config = PipelineConfig(checkpoint=model_checkpoint(tmp_path), backend="onnxruntime")

    def play(session):
        shown = []
        while (result := session.next()) is not None:
            shown.append((result.frame.index, result.frame.rgb.copy(), result.hands))
        session.close()
        return shown

    raw = play(LiveSession(open_source(clip), dataclasses.replace(config, smoothing=False), pace=False))
    lagged_session = LiveSession(open_source(clip), config, pace=False, lag_frames=2)
    assert lagged_session.settings["smoothing"] == "on, 2 frames late"
    assert lagged_session.pipeline.config.smoothing is False  # the look-ahead smooths, not the pipeline
    lagged = play(lagged_session)
    assert [index for index, _, _ in lagged] == [index for index, _, _ in raw] == list(range(12))
    assert sum(len(hands) for _, _, hands in raw) > 0, "the pan clip shows a hand"
    expected = list(smooth_stream((FrameRecord(i, i / 15.0, tuple(h)) for i, _, h in raw), 2,
                                  relabel=lagged_session.pipeline.gesture_fields))  # fmt: skip
    for (index, rgb, hands), (_, raw_rgb, _), record in zip(lagged, raw, expected):
        assert np.array_equal(rgb, raw_rgb)  # the picture shown is the frame the hands are of
        assert [h.handedness for h in hands] == [h.handedness for h in record.hands]
        for got, want in zip(hands, record.hands):
            np.testing.assert_allclose(got.joints_cam_mm, want.joints_cam_mm, atol=1e-4)
