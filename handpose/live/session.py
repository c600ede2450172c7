"""The live demo's engine, independent of the window: source -> pipeline -> annotated frame, plus toggles.

:class:`LiveSession` pulls a frame from a :class:`~handpose.capture.base.FrameSource`, mirrors it
when mirroring is on (selfie view; the pipeline is told, so handedness stays the person's), runs
the pipeline and draws the overlay (skeletons, handedness, FPS, per-stage latency) into a reused
buffer. Smoothing, mirroring and the backend can be switched while it runs: each setting
combination gets its own pipeline, built on first use (a second or two) and kept, so switching
back is instant; a pipeline taken up again is reset. Finite sources (files, folders) are played at
their own frame rate unless ``pace=False``.

With smoothing on and ``lag_frames`` > 0 (the live demo's default), the hands are smoothed with that
many frames of look-ahead (:mod:`handpose.smooth.fixed_lag`): each frame is shown ``lag_frames``
frames late, with hands smoothed from the frames after it, so picture and skeleton stay together.
With ``lag_frames`` 0 the pipeline's causal filters smooth and every frame is shown at once.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from handpose.geometry.camera import CameraIntrinsics
from handpose.capture.base import FrameSource
from handpose.errors import HandposeError
from handpose.infer.backends.base import BACKEND_NAMES
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.io.frame_record import FrameRecord
from handpose.smooth.fixed_lag import FixedLagSmoother
from handpose.types import Frame, FrameResult, HandPose, StageTimings
from handpose.viz.draw import annotate

#: weight of the newest frame interval in the FPS estimate
FPS_SMOOTHING = 0.1


@dataclass(frozen=True)
class LiveResult:
    """One processed frame.

    Attributes:
        frame: the frame as the pipeline saw it (mirrored when mirroring is on).
        image_rgb: (H, W, 3) uint8 RGB annotated copy; a reused buffer, valid until the next frame.
        hands: the hands found.
        timings: the pipeline's per-stage times for this frame.
        fps: frames per second of the whole loop (smoothed).
    """

    frame: Frame
    image_rgb: np.ndarray
    hands: list[HandPose]
    timings: StageTimings
    fps: float


class LiveSession:
    """Source + pipeline + toggles.

    Args:
        source: where frames come from (closed by :meth:`close`).
        config: the starting pipeline settings (``mirrored_input`` is the starting mirror state).
        backends: the backends :meth:`cycle_backend` goes through.
        pace: play finite sources at their frame rate (live cameras pace themselves).
        lag_frames: look-ahead of the smoothing in frames (0: the pipeline's causal filters).
    """

    def __init__(
        self,
        source: FrameSource,
        config: PipelineConfig,
        backends: Sequence[str] = BACKEND_NAMES,
        pace: bool = True,
        lag_frames: int = 0,
    ) -> None:
        self.source = source
        self.config = config
        self.lag_frames = lag_frames
        self._smoother = FixedLagSmoother(lag_frames, relabel=lambda pose: self.pipeline.gesture_fields(pose))
        self._held: deque[tuple[Frame, StageTimings]] = deque()  # frames waiting for their smoothed hands
        self._ready: deque[FrameRecord] = deque()  # smoothed records of held frames
        self.backends = tuple(backends)
        self.message = ""
        self._pace = pace and source.num_frames is not None
        self._pipelines: dict[str, HandPosePipeline] = {}
        self.pipeline = self._pipeline_for(config)
        self._frames: Iterator[Frame] = iter(source)
        self._mirror_buffer: np.ndarray | None = None
        self._display: np.ndarray | None = None
        self._fps = 0.0
        self._last_tick: float | None = None
        self._clock_offset: float | None = None
        self.intrinsics: CameraIntrinsics | None = None

    def _pipeline_for(self, config: PipelineConfig) -> HandPosePipeline:
        """One pipeline per backend, built once; smoothing and mirroring switch on it in place
        (:meth:`HandPosePipeline.set_options`: the model is not loaded again)."""
        config = dataclasses.replace(config, smoothing=config.smoothing and not self._looks_ahead_with(config))
        pipeline = self._pipelines.get(config.backend)
        if pipeline is None:
            pipeline = HandPosePipeline(config)
            self._pipelines[config.backend] = pipeline
        else:
            pipeline.set_options(smoothing=config.smoothing, mirrored_input=config.mirrored_input)
        return pipeline

    def _looks_ahead_with(self, config: PipelineConfig) -> bool:
        """Whether ``config`` smooths with look-ahead (smoothing on, a lag, tracking a video)."""
        return config.smoothing and self.lag_frames > 0 and config.detector_mode == "video"

    @property
    def _looks_ahead(self) -> bool:
        return self._looks_ahead_with(self.config)

    def _switch(self, **changes: object) -> None:
        config = dataclasses.replace(self.config, **changes)  # type: ignore[arg-type]
        try:
            self.pipeline = self._pipeline_for(config)
        except HandposeError as exc:
            self.message = f"cannot switch: {exc}"
            return
        self.config = config
        self.message = ""

    def toggle_smoothing(self) -> None:
        self._switch(smoothing=not self.config.smoothing)

    def toggle_mirror(self) -> None:
        self._switch(mirrored_input=not self.config.mirrored_input)

    def cycle_backend(self) -> None:
        """Switch to the next backend that can be built here (TensorRT needs a GPU and the package)."""
        start = self.backends.index(self.config.backend) if self.config.backend in self.backends else -1
        failures = []
        for step in range(1, len(self.backends)):
            name = self.backends[(start + step) % len(self.backends)]
            self._switch(backend=name)
            if self.config.backend == name:
                return
            failures.append(self.message)
        self.message = "; ".join(failures) or "no other backend"

    @property
    def settings(self) -> dict[str, str]:
        """Current settings for display, name -> value."""
        smoothing = "off"
        if self.config.smoothing:
            smoothing = f"on, {self.lag_frames} frame{'' if self.lag_frames == 1 else 's'} late" if self._looks_ahead else "on"
        shown = {
            "backend": self.config.backend,
            "smoothing": smoothing,
            "mirror": "on" if self.config.mirrored_input else "off",
        }
        if self.message:
            shown["note"] = self.message
        return shown

    def next(self) -> LiveResult | None:
        """Process the next frame; None when the source has ended (and every held frame was shown)."""
        while not self._ready:
            frame = next(self._frames, None)
            if frame is None:
                if not self._held:
                    return None
                self._ready.extend(self._smoother.flush())
                continue
            frame, result = self._process(frame)
            record = FrameRecord(frame.index, frame.timestamp_s, result.hands)
            if not self._looks_ahead and not self._held:
                return self._show(frame, list(result.hands), result.timings)
            self._held.append((dataclasses.replace(frame, rgb=frame.rgb.copy()), result.timings))  # the source may reuse its buffer
            if self._looks_ahead:
                self._ready.extend(self._smoother.push(record))
            else:  # smoothing was just switched off: the held frames first
                self._ready.extend(self._smoother.flush())
                self._ready.append(record)
        record = self._ready.popleft()
        frame, timings = self._held.popleft()
        return self._show(frame, list(record.hands), timings)

    def _process(self, frame: Frame) -> tuple[Frame, FrameResult]:
        """Pace, mirror and run the pipeline on one frame: the frame as the pipeline saw it, its result."""
        if self._pace:
            self._wait_for(frame.timestamp_s)
        if self.config.mirrored_input:
            if self._mirror_buffer is None or self._mirror_buffer.shape != frame.rgb.shape:
                self._mirror_buffer = np.empty_like(frame.rgb)
            cv2.flip(frame.rgb, 1, dst=self._mirror_buffer)
            frame = dataclasses.replace(frame, rgb=self._mirror_buffer,
                                        depth_mm=None if frame.depth_mm is None else frame.depth_mm[:, ::-1].copy())  # fmt: skip
        if self.intrinsics is None or self.intrinsics.size != frame.rgb.shape[1::-1]:
            self.intrinsics = self._camera(frame.rgb.shape[1], frame.rgb.shape[0])
        return frame, self.pipeline(frame)

    def _show(self, frame: Frame, hands: list[HandPose], timings: StageTimings) -> LiveResult:
        """The annotated display of one frame, and the loop's frame rate."""
        now = time.perf_counter()
        if self._last_tick is not None:
            rate = 1.0 / max(1e-6, now - self._last_tick)
            self._fps = rate if self._fps == 0.0 else self._fps + FPS_SMOOTHING * (rate - self._fps)
        self._last_tick = now
        if self._display is None or self._display.shape != frame.rgb.shape:
            self._display = np.empty_like(frame.rgb)
        np.copyto(self._display, frame.rgb)
        annotate(self._display, hands, timings, self._fps, in_place=True)
        return LiveResult(frame=frame, image_rgb=self._display, hands=hands, timings=timings, fps=self._fps)

    def _camera(self, width: int, height: int) -> CameraIntrinsics:
        """The intrinsics the pipeline uses for this frame size (its calibration file, or the default)."""
        if self.config.calibration is not None:
            return CameraIntrinsics.load(self.config.calibration).scaled_to(width, height)
        return CameraIntrinsics.default_for(width, height)

    def _wait_for(self, timestamp_s: float) -> None:
        now = time.perf_counter()
        if self._clock_offset is None or now - self._clock_offset > timestamp_s + 0.5:  # first frame, or far behind
            self._clock_offset = now - timestamp_s
        delay = self._clock_offset + timestamp_s - now
        if delay > 0:
            time.sleep(delay)

    def close(self) -> None:
        for pipeline in self._pipelines.values():
            pipeline.close()
        self._pipelines.clear()
        self.source.close()
