"""GPU check (run by scripts/gpu_check.sh on a machine with an NVIDIA GPU and TensorRT 10+).

1. Builds (or loads from models/engines/) the FP16 TensorRT engine of the default model.
2. Compares TensorRT and torch-CUDA (fp16, CUDA graphs) with ONNX Runtime on random and real crops at
   fp16 tolerance, for every batch size 1..8.
3. Prints the latency table of ``handpose.infer.benchmark`` with all backends.
Exits non-zero when a comparison fails.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch

from handpose.detect.crop import crop_from_keypoints
from handpose.detect.detector import HandDetector, appears_left
from handpose.infer.backend import ModelOutputs
from handpose.infer.benchmark import format_table, run_benchmark
from handpose.infer.export import export_onnx
from handpose.infer.ort_backend import OrtBackend
from handpose.infer.tensorrt_backend import TensorRTBackend
from handpose.infer.torch_backend import TorchBackend
from handpose.model.checkpoint import load_default_model

MAX_BATCH = 8
#: fp16 tolerances (max abs): normalised pose units (bone = 1), crop px, probabilities
TOLERANCES = {"pose_norm": 2e-2, "keypoints_crop_px": 0.5, "presence": 1e-2, "visibility": 1e-2}
PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_hand_photos"


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def real_crops(size: int) -> np.ndarray:
    crops = []
    with HandDetector(mode="image", num_hands=2) as detector:
        for path in sorted(PHOTOS.glob("*/*/*.jpg"))[:40]:
            rgb = read_rgb(path)
            for box in detector.detect(rgb):
                t = crop_from_keypoints(box.keypoints_px, size, mirrored=appears_left(box.handedness, False))
                crops.append(t.warp(rgb).transpose(2, 0, 1).astype(np.float32) / 255.0)
    return np.ascontiguousarray(np.stack(crops)) if crops else np.zeros((0, 3, size, size), np.float32)


def compare(name: str, got: ModelOutputs, ref: ModelOutputs) -> bool:
    ok = True
    for field, tol in TOLERANCES.items():
        diff = float(np.abs(getattr(got, field) - getattr(ref, field)).max())
        good = diff <= tol
        ok &= good
        print(f"  {name:<28} {field:<18} max abs diff {diff:.2e} (<= {tol:.0e}) {'ok' if good else 'FAIL'}")
    return ok


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA GPU visible to torch", file=sys.stderr)
        return 1
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = load_default_model().eval()
    size = model.config.input_size
    onnx_bytes = export_onnx(model)
    start = time.perf_counter()
    trt_backend = TensorRTBackend(onnx_bytes, size, max_batch=MAX_BATCH)
    what = "built" if trt_backend.built else "loaded from cache"
    print(f"TensorRT {trt_backend.key.tensorrt_version}: engine {what} in {time.perf_counter() - start:.1f} s")
    reference = OrtBackend(onnx_bytes, size, max_batch=MAX_BATCH, providers=["CPUExecutionProvider"])
    torch_cuda = TorchBackend(model, max_batch=MAX_BATCH, device="cuda", fp16=True, cuda_graphs=True)
    rng = np.random.default_rng(0)
    inputs = [("random", rng.random((MAX_BATCH, 3, size, size), dtype=np.float32))]
    crops = real_crops(size)
    if len(crops):
        inputs.append(("real", np.ascontiguousarray(crops[:MAX_BATCH])))
    ok = True
    for label, images in inputs:
        for n in range(1, len(images) + 1):
            batch = np.ascontiguousarray(images[:n])
            ref = reference.run(batch)
            ref = ModelOutputs(ref.pose_norm.copy(), ref.keypoints_crop_px.copy(), ref.presence.copy(),
                               ref.visibility.copy())
            ok &= compare(f"tensorrt {label} batch {n}", trt_backend.run(batch), ref)
            ok &= compare(f"torch-cuda {label} batch {n}", torch_cuda.run(batch), ref)
    photo = sorted(PHOTOS.glob("mediapipe_gesture_testdata/four/*.jpg"))[3]
    result = run_benchmark(read_rgb(photo), threads=0)
    print(format_table(result))
    print("GPU CHECK", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
