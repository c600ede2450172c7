"""The per-frame engine: ``HandPosePipeline(config)(frame) -> FrameResult``.

    >>> from handpose import HandPosePipeline
    >>> with HandPosePipeline() as pipeline:              # the default model, ONNX Runtime on the CPU
    ...     result = pipeline(rgb)                          # (H, W, 3) uint8 RGB, or a handpose.Frame
    ...     for hand in result:                             # result.hands, result.timings, result.index
    ...         hand.handedness, hand.keypoints_px, hand.joints_cam_mm
    >>> for result in HandPosePipeline().run("clip.mp4"):  # any source spec: webcam:0, a folder, a .bag
    ...     print(result.index, len(result), result.timings.total_ms)

Stages per frame (timed in :class:`handpose.types.StageTimings`):

1. detect - :class:`handpose.detect.tracker.HandTracker`: MediaPipe on the first frame, after a loss
   and every ``redetect_every`` frames; otherwise boxes from the previous predictions;
2. crop - square crop around each hand (left-looking hands mirrored) into a preallocated batch,
   once per angle of the roll ensemble (:mod:`handpose.infer.roll_ensemble`);
3. model - one backend call for all crops (ONNX Runtime, torch or TensorRT); each answer taken
   from its crop's view frame (:mod:`handpose.geometry.view_frame`) into the camera frame, the ensemble's
   averaged per hand;
4. lift - 2D keypoints back to frame px; camera-space joints in mm from the normalised pose, the
   track's hand size (:mod:`handpose.smooth.hand_size`) and the intrinsics (translation from the 2D
   keypoints, or from the depth image);
5. smooth - per tracked hand (optional): One Euro filters on the 2D keypoints and the normalised
   pose, and a constant-velocity Kalman filter on the translation whose measurement noise grows
   with depth and falls with the hand's pixel size (:mod:`handpose.smooth.translation`); then the
   gesture classifier (:mod:`handpose.gesture.classifier`, under a millisecond) on the normalised pose.

Everything that costs time to set up (model, ONNX export, sessions, MediaPipe, intrinsics file,
buffers) happens in the constructor; a frame only does the work above. Intrinsics: the calibration
file, rescaled to the frame size, or :meth:`CameraIntrinsics.default_for` the frame size (computed
again only when the frame size changes).

Handedness and mirroring follow :mod:`handpose.detect.detector`: ``HandPose.handedness`` is the
person's actual hand; with ``mirrored_input`` the frames are selfie-mirrored and 3D is in the frame
of that mirrored image.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from handpose import skeleton
from handpose.geometry.camera import CameraIntrinsics
from handpose.geometry.crop import CropTransform, crop_from_keypoints, square_box
from handpose.detect.detector import DEFAULT_MODEL_PATH, DetectorMode, HandDetector, appears_left
from handpose.detect.tracker import HandTracker, TrackedHand, TrackerConfig
from handpose.errors import InputError
from handpose.gesture.classifier import DEFAULT_GESTURE_FILE, GestureClassifier
from handpose.infer.backends.base import BACKEND_NAMES, Backend, BackendName
from handpose.infer.backends.factory import create_backend
from handpose.infer.roll_ensemble import DEFAULT_ROLL_ANGLES_DEG, RollEnsemble
from handpose.geometry.lift import DEFAULT_HAND_SIZE_MM, pose_scale, solve_translation, translation_from_depth
from handpose.smooth.filters import NORMALISED_DEFAULTS, PIXEL_DEFAULTS, OneEuroFilter
from handpose.smooth.hand_size import TrackHandSize
from handpose.smooth.translation import TranslationFilter, TranslationNoise
from handpose.types import Frame, FrameResult, HandPose, StageTimings, check_rgb_frame
from handpose.geometry.view_frame import view_rotation

if TYPE_CHECKING:
    from handpose.capture.base import FrameSource
    from handpose.model.hand_model import HandModel

#: frame interval assumed when timestamps do not increase (e.g. a folder of stills), seconds
FALLBACK_FRAME_INTERVAL_S = 1.0 / 30.0


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline needs; fixed for its lifetime.

    Attributes:
        backend: "onnxruntime" (default, fastest on the CPU), "torch" or "tensorrt".
        checkpoint: model weights; None = the default checkpoint (an untrained model with a warning
            when it does not exist yet).
        num_hands: most hands per frame (also the backend's batch size).
        redetect_every: run MediaPipe at least every this many frames (video mode).
        presence_threshold: tracked hands whose presence falls below are dropped and re-detected.
        smoothing: One Euro smoothing of the outputs per tracked hand (video mode only: unrelated
            stills are never smoothed together).
        mirrored_input: frames are selfie-mirrored (see ``handpose.detect.detector``).
        hand_size_mm: middle-finger MCP->PIP length of the user's hand (sets metric depth); None =
            the size the checkpoint carries (an adapted one, ``handpose-adapt``), else
            ``DEFAULT_HAND_SIZE_MM``; with depth frames each track measures its own from its first frames.
        calibration: camera intrinsics file (``handpose.geometry.camera``); None = default for the frame size.
        detector_mode: "video" for streams (tracking), "image" for unrelated stills (MediaPipe every frame).
        detector_model: MediaPipe ``hand_landmarker.task``.
        use_depth: take the hand's depth from ``Frame.depth_mm`` when a frame has one.
        threads: CPU threads of the backend (0 = its default).
        roll_angles_deg: the turns each hand's crop is seen at (test-time roll ensemble);
            ``(0.0,)`` = one plain crop per hand.
        gesture_classifier: the gesture classifier's weights (``HandPose.gesture``, ``finger_count``);
            None = no gestures (every hand "none", finger count -1).
    """

    backend: BackendName = "onnxruntime"
    checkpoint: Path | None = None
    num_hands: int = 2
    redetect_every: int = 30
    presence_threshold: float = 0.5
    smoothing: bool = True
    mirrored_input: bool = False
    hand_size_mm: float | None = None
    calibration: Path | None = None
    detector_mode: DetectorMode = "video"
    detector_model: Path = field(default=DEFAULT_MODEL_PATH)
    use_depth: bool = True
    threads: int = 0
    roll_angles_deg: tuple[float, ...] = DEFAULT_ROLL_ANGLES_DEG
    gesture_classifier: Path | None = field(default=DEFAULT_GESTURE_FILE)

    def __post_init__(self) -> None:
        if self.backend not in BACKEND_NAMES:
            raise InputError(f"backend must be one of {BACKEND_NAMES}, got {self.backend!r}")
        if self.num_hands < 1:
            raise InputError(f"num_hands >= 1 expected, got {self.num_hands}")
        if self.hand_size_mm is not None and not 10.0 <= self.hand_size_mm <= 100.0:
            raise InputError(f"hand_size_mm (middle MCP->PIP bone) in 10..100 mm expected, got {self.hand_size_mm}")
        if self.detector_mode not in ("video", "image"):
            raise InputError(f"detector_mode must be 'video' or 'image', got {self.detector_mode!r}")
        TrackerConfig(self.redetect_every, self.presence_threshold)  # validates both
        RollEnsemble(self.roll_angles_deg)  # validates the angles


@dataclass(frozen=True)
class _Prediction:
    """The model's output for one hand, keypoints already in frame px; joints_norm (21, 3) float64 in
    the normalised camera frame (the roll ensemble has brought it out of the crop's view frame);
    visibility (21,) float32 in [0, 1]."""

    hand: TrackedHand
    presence: float
    keypoints_px: np.ndarray
    joints_norm: np.ndarray
    visibility: np.ndarray


@dataclass
class _TrackState:
    """What the pipeline keeps per tracked hand between frames."""

    hand_size: TrackHandSize
    keypoints_px: OneEuroFilter = field(default_factory=lambda: OneEuroFilter(PIXEL_DEFAULTS))
    joints_norm: OneEuroFilter = field(default_factory=lambda: OneEuroFilter(NORMALISED_DEFAULTS))
    translation: TranslationFilter = field(default_factory=TranslationFilter)


@dataclass(frozen=True)
class _Translation:
    """A measured root position (3,) mm, its (3, 3) mm^2 measurement covariance, and the mm per
    normalised unit the hand was lifted with."""

    t_mm: np.ndarray
    covariance: np.ndarray
    mm_per_unit: float


def resolved_hand_size_mm(config: PipelineConfig) -> float:
    """The hand size the pipeline lifts with: the configured one, else the checkpoint's, else the default."""
    from handpose.model.checkpoint import stored_hand_size_mm

    if config.hand_size_mm is not None:
        return config.hand_size_mm
    stored = None if config.checkpoint is None else stored_hand_size_mm(config.checkpoint)
    return DEFAULT_HAND_SIZE_MM if stored is None else stored


def load_pipeline_model(checkpoint: Path | None) -> HandModel:
    """The model of ``checkpoint``, or the default one (untrained, with a warning, if it is absent)."""
    from handpose.model.checkpoint import load_default_model, load_model

    return (load_default_model() if checkpoint is None else load_model(checkpoint)).eval()


class HandPosePipeline:
    """Frames in, hands out. Use as a context manager or call :meth:`close`."""

    def __init__(self, config: PipelineConfig = PipelineConfig()) -> None:
        self.config = config
        model = load_pipeline_model(config.checkpoint)
        self.input_size = model.config.input_size
        self.hand_size_mm = resolved_hand_size_mm(config)
        self.ensemble = RollEnsemble(tuple(config.roll_angles_deg))
        self.backend: Backend = create_backend(config.backend, model,
                                               max_batch=config.num_hands * self.ensemble.count, threads=config.threads)
        self.detector = HandDetector(config.detector_model, num_hands=config.num_hands, mode=config.detector_mode,
                                     mirrored_input=config.mirrored_input)
        redetect_every = 1 if config.detector_mode == "image" else config.redetect_every
        self.tracker = HandTracker(self.detector, TrackerConfig(redetect_every, config.presence_threshold))
        self._calibration = CameraIntrinsics.load(config.calibration) if config.calibration is not None else None
        self._gestures = None if config.gesture_classifier is None else GestureClassifier(config.gesture_classifier)
        self._camera: CameraIntrinsics | None = None
        s, n = self.input_size, config.num_hands * self.ensemble.count
        self._crops = np.zeros((n, s, s, 3), np.uint8)
        self._batch = np.zeros((n, 3, s, s), np.float32)
        self._rotations = np.zeros((n, 3, 3))  # each slot's view rotation
        self._smoothing = config.smoothing and config.detector_mode == "video"
        self._tracks: dict[int, _TrackState] = {}
        self._noise = TranslationNoise()
        self._last_time = -np.inf
        self._arrays = 0  # bare arrays numbered so far
        self._clock_start = time.monotonic()

    # ------------------------------------------------------------------ per frame

    def __call__(self, frame: Frame | np.ndarray) -> FrameResult:
        """Hands in ``frame``: a :class:`Frame` (RGB uint8 (H, W, 3), optional aligned depth in mm)
        or a bare (H, W, 3) uint8 RGB array, which is numbered by the pipeline and timed by the
        wall clock (video mode needs increasing timestamps)."""
        if isinstance(frame, np.ndarray):
            check_rgb_frame(frame)
            frame = Frame(frame, self._arrays, time.monotonic() - self._clock_start)
            self._arrays += 1
        elif not isinstance(frame, Frame):
            raise InputError(f"an RGB uint8 (H, W, 3) array or a handpose.Frame expected, got {type(frame).__name__}")
        rgb = frame.rgb
        height, width = rgb.shape[:2]
        camera = self._camera_for(width, height)
        now = frame.timestamp_s if frame.timestamp_s > self._last_time else self._last_time + FALLBACK_FRAME_INTERVAL_S
        self._last_time = now

        t0 = time.perf_counter()
        hands = self.tracker.hands(rgb, now)[: self.config.num_hands]
        t1 = time.perf_counter()
        transforms = [self._crop_into_batch(rgb, i, hand, camera.K) for i, hand in enumerate(hands)]
        t2 = time.perf_counter()
        found: list[_Prediction] = []
        if hands:
            slots = len(hands) * self.ensemble.count
            outputs = self.ensemble.combine(self.backend.run(self._batch[:slots]), self._rotations[:slots],
                                            self.input_size)
            for i, (hand, transform) in enumerate(zip(hands, transforms)):
                keypoints_px = transform.to_frame(outputs.keypoints_crop_px[i])
                found.append(_Prediction(hand, float(outputs.presence[i]), keypoints_px,
                                         outputs.joints_norm[i].astype(np.float64),
                                         outputs.visibility[i].astype(np.float32)))  # a copy: the buffer is reused
        t3 = time.perf_counter()
        kept = [p for p in found if self._keep(p, (width, height), now)]
        translations = [self._translation(p, camera, frame.depth_mm) for p in kept]
        t4 = time.perf_counter()
        poses = [self._finish(p, translation, now) for p, translation in zip(kept, translations)]
        for stale in set(self._tracks) - {p.hand.track_id for p in kept}:
            del self._tracks[stale]
        t5 = time.perf_counter()

        timings = StageTimings(detect_ms=(t1 - t0) * 1e3, crop_ms=(t2 - t1) * 1e3, model_ms=(t3 - t2) * 1e3,
                               lift_ms=(t4 - t3) * 1e3, smooth_ms=(t5 - t4) * 1e3)
        return FrameResult(frame.index, frame.timestamp_s, tuple(poses), timings)

    def run(self, source: str | FrameSource) -> Iterator[FrameResult]:
        """Results of every frame of ``source``: a source spec for
        :func:`handpose.capture.open_source.open_source` (``webcam:0``, a video file, a folder of
        images, a RealSense ``.bag``, ...) or an open :class:`FrameSource` (closed at the end either way)."""
        from handpose.capture.open_source import open_source

        frames = open_source(source) if isinstance(source, str) else source
        self.reset()
        try:
            for frame in frames:
                yield self(frame)
        finally:
            frames.close()

    def set_options(self, smoothing: bool | None = None, mirrored_input: bool | None = None) -> None:
        """Switch smoothing or selfie-mirroring while running, without rebuilding the model
        (the tracks start afresh, as after a lost hand)."""
        changes = {k: v for k, v in (("smoothing", smoothing), ("mirrored_input", mirrored_input)) if v is not None}
        self.config = replace(self.config, **changes)  # type: ignore[arg-type]
        self._smoothing = self.config.smoothing and self.config.detector_mode == "video"
        self.detector.mirrored_input = self.config.mirrored_input
        self.reset()

    def _crop_into_batch(self, rgb: np.ndarray, index: int, hand: TrackedHand, intrinsics: np.ndarray) -> CropTransform:
        """Warp hand ``index``'s square crop, once per ensemble angle, into its preallocated batch
        slots, with each crop's view rotation for the frame's camera matrix ``intrinsics`` (3, 3);
        returns the plain crop's transform."""
        transform = crop_from_keypoints(hand.box.keypoints_px, self.input_size,
                                        mirrored=appears_left(hand.box.handedness, self.config.mirrored_input))
        for a, t in enumerate(self.ensemble.transforms(transform)):
            slot = index * self.ensemble.count + a
            cv2.warpAffine(rgb, t.matrix, (self.input_size, self.input_size), dst=self._crops[slot],
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            np.multiply(self._crops[slot].transpose(2, 0, 1), np.float32(1.0 / 255.0), out=self._batch[slot])
            self._rotations[slot] = view_rotation(t, intrinsics)
        return transform

    def _keep(self, prediction: _Prediction, frame_size: tuple[int, int], now: float) -> bool:
        """Feed the tracker; a hand lost while tracked is dropped, a detector-found one is reported even when unsure."""
        tracked = self.tracker.update(prediction.hand.track_id, prediction.keypoints_px, prediction.presence,
                                      frame_size, now)
        return tracked or prediction.hand.box.source == "detector"

    def _track(self, track_id: int) -> _TrackState:
        if track_id not in self._tracks:  # a new track: new state, once
            self._tracks[track_id] = _TrackState(TrackHandSize(self.hand_size_mm))
        return self._tracks[track_id]

    def _translation(self, prediction: _Prediction, camera: CameraIntrinsics,
                     depth_mm: np.ndarray | None) -> _Translation:
        """Root (wrist) position: from the depth image at the palm when there is one (which also
        measures the track's hand size until it is fixed), else from the 2D keypoints. The pose is
        lifted at the track's hand size over the pose's own scale (:func:`handpose.geometry.lift.pose_scale`)."""
        state = self._track(prediction.hand.track_id)
        left = appears_left(prediction.hand.box.handedness, self.config.mirrored_input)
        mm_per_unit = state.hand_size.size_mm / pose_scale(prediction.joints_norm)
        pose_rel = skeleton.denormalize(prediction.joints_norm, mm_per_unit, is_left=left)
        side_px = float(square_box(prediction.keypoints_px)[1])
        t_mm = None
        if depth_mm is not None and self.config.use_depth:
            t_mm = translation_from_depth(prediction.keypoints_px, pose_rel, camera, depth_mm)
        if t_mm is not None:
            if not state.hand_size.fixed:
                from_2d = solve_translation(prediction.keypoints_px, pose_rel, camera)
                state.hand_size.observe_depth(float(t_mm[2]), float(from_2d[2]))
            covariance = self._noise.covariance(t_mm, side_px, float(t_mm[2]) / camera.fx, from_depth=True)
        else:
            t_mm = solve_translation(prediction.keypoints_px, pose_rel, camera)
            covariance = self._noise.covariance(t_mm, side_px, float(t_mm[2]) / camera.fx)
        return _Translation(t_mm, covariance, mm_per_unit)

    def _finish(self, prediction: _Prediction, translation: _Translation, now: float) -> HandPose:
        """Smooth (per track) and assemble the hand's outputs."""
        keypoints_px, joints_norm, t_mm = prediction.keypoints_px, prediction.joints_norm, translation.t_mm
        track_id = prediction.hand.track_id
        state = self._track(track_id)
        if self._smoothing:
            keypoints_px = state.keypoints_px(keypoints_px, now)
            joints_norm = state.joints_norm(joints_norm, now)
            t_mm = state.translation(t_mm, translation.covariance, now)
        mm_per_unit = translation.mm_per_unit
        if self._smoothing:  # the smoothed pose at its own scale: the hand keeps its metric size
            mm_per_unit = state.hand_size.size_mm / pose_scale(joints_norm)
        left = appears_left(prediction.hand.box.handedness, self.config.mirrored_input)
        joints_cam = skeleton.denormalize(joints_norm, mm_per_unit, t_mm, is_left=left)
        gesture = self.gesture_fields(joints_norm)
        return HandPose(handedness=prediction.hand.box.handedness, presence=prediction.presence,
                        keypoints_px=keypoints_px.astype(np.float32), joints_cam_mm=joints_cam.astype(np.float32),
                        joints_norm=joints_norm.astype(np.float32), track_id=track_id,
                        visibility=prediction.visibility, **gesture)

    def gesture_fields(self, joints_norm: np.ndarray) -> dict[str, object]:
        """HandPose's gesture fields (``gesture``, ``gesture_score``, ``finger_count``) for a
        normalised pose (21, 3) (right-hand frame, camera-oriented); {} without a classifier."""
        if self._gestures is None:
            return {}
        (result,) = self._gestures(joints_norm)
        return {"gesture": result.gesture, "gesture_score": result.score, "finger_count": result.finger_count}

    def _camera_for(self, width: int, height: int) -> CameraIntrinsics:
        if self._camera is None or self._camera.size != (width, height):
            if self._calibration is not None:
                self._camera = self._calibration.scaled_to(width, height)
            else:
                self._camera = CameraIntrinsics.default_for(width, height)
        return self._camera

    # ------------------------------------------------------------------ lifetime

    @property
    def detector_calls(self) -> int:
        """How many frames MediaPipe has processed so far."""
        return self.detector.calls

    def reset(self) -> None:
        """Start a new sequence: forget tracks, filters, the last timestamp and MediaPipe's own state."""
        self.detector.reset()
        self.tracker.reset()
        self._tracks.clear()
        self._last_time = -np.inf

    def close(self) -> None:
        self.detector.close()
        self.backend.close()

    def __enter__(self) -> HandPosePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["HandPosePipeline", "PipelineConfig", "load_pipeline_model"]
