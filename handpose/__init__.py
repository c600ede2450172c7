"""handpose: real-time 3D hand pose estimation by cross-modal variational alignment.

The front door (each name is imported on first use, so ``import handpose`` stays light)::

    import handpose

    with handpose.HandPosePipeline() as pipeline:        # default model, ONNX Runtime on the CPU
        result = pipeline(rgb)                            # (H, W, 3) uint8 RGB array or a handpose.Frame
        for hand in result:                               # handpose.HandPose: 2D px, 3D mm, visibility
            print(hand.handedness, hand.joints_cam_mm[8])  # the index fingertip, camera frame
        print(result.timings.total_ms)

    for result in handpose.HandPosePipeline().run("webcam:0"):   # any source spec: a video, a folder, a .bag
        ...

    handpose.process_video("clip.mp4")                    # outputs/clip/: poses.jsonl, poses.csv, annotated.mp4
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "HandPosePipeline": "handpose.infer.pipeline",
    "PipelineConfig": "handpose.infer.pipeline",
    "Frame": "handpose.types",
    "FrameResult": "handpose.types",
    "HandPose": "handpose.types",
    "StageTimings": "handpose.types",
    "open_source": "handpose.capture.open_source",
    "process_video": "handpose.video.job",
    "VideoJobOptions": "handpose.video.job",
    "load_model": "handpose.model.checkpoint",
    "HandposeError": "handpose.errors",
    "InputError": "handpose.errors",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from handpose.capture.open_source import open_source
    from handpose.errors import HandposeError, InputError
    from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
    from handpose.model.checkpoint import load_model
    from handpose.types import Frame, FrameResult, HandPose, StageTimings
    from handpose.video.job import VideoJobOptions, process_video


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'handpose' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
