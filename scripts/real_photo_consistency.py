"""How steady a model is on real photos, which have no labels: each hand's answer for its plain
crop against its answers for the crop turned by +-ANGLE degrees, brought back to the camera
frame through each crop's view rotation (:mod:`handpose.geometry.view_frame`). A model that has learnt
hands rather than renders gives the same hand each time. Gaps are mean joint distances: 3D in
mm at the default hand size (normalised pose x DEFAULT_HAND_SIZE_MM), 2D in crop px. Prints a
table, writes JSON.
``--data`` measures the same on a dataset's stored crops instead (e.g. renders, for comparison).

    python scripts/real_photo_consistency.py --checkpoints models/handpose_default.pt runs/aug/model.pt
    python scripts/real_photo_consistency.py --checkpoints models/handpose_default.pt --data shards:data/synth_test
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from handpose.io.atomic import write_text_atomic
from handpose.geometry.camera import CameraIntrinsics
from handpose.io.images import list_images, read_rgb
from handpose.data.datasets import open_dataset
from handpose.geometry.crop import crop_from_keypoints
from handpose.detect.detector import HandDetector
from handpose.infer.backends.factory import create_backend
from handpose.infer.roll_ensemble import RollEnsemble
from handpose.geometry.lift import DEFAULT_HAND_SIZE_MM
from handpose.model.checkpoint import load_model
from handpose.geometry.view_frame import from_view, view_rotation
from handpose.errors import one_line_errors

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_hand_photos"


def _photo_hands(folder: Path, ensemble: RollEnsemble) -> list[tuple[np.ndarray, np.ndarray]]:
    """(turned crops (A, 128, 128, 3), their view rotations (A, 3, 3)) of the first hand MediaPipe
    finds in each photo."""
    hands = []
    with HandDetector(mode="image") as detector:
        for path in list_images(folder, recursive=True):
            rgb = read_rgb(path)
            found = detector.detect(rgb)
            if found:
                camera = CameraIntrinsics.default_for(rgb.shape[1], rgb.shape[0])
                base = crop_from_keypoints(found[0].keypoints_px, 128, mirrored=found[0].handedness == "left")
                turned = ensemble.transforms(base)
                hands.append((np.stack([t.warp(rgb) for t in turned]),
                              np.stack([view_rotation(t, camera.K) for t in turned])))
    return hands


def _dataset_hands(spec: str, count: int, ensemble: RollEnsemble) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same for the first ``count`` hands of a dataset, from their stored crops."""
    data = open_dataset(spec, "test", 128)
    samples = [s for s in (data[i] for i in range(min(len(data), 2 * count))) if s.present][:count]
    return [(ensemble.turn_crops(s.crop_rgb[None]), ensemble.view_rotations(s.crop, s.intrinsics, 128))
            for s in samples]


@one_line_errors
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", type=Path, nargs="+", required=True)
    p.add_argument("--images", type=Path, default=PHOTOS)
    p.add_argument("--data", default=None, help="a data spec (handpose.data.datasets) instead of --images")
    p.add_argument("--count", type=int, default=400, help="hands of --data used")
    p.add_argument("--angle", type=float, default=30.0)
    p.add_argument("--out", type=Path, default=Path("outputs/real_photo_consistency.json"))
    a = p.parse_args()
    ensemble = RollEnsemble((0.0, a.angle, -a.angle))
    hands = _dataset_hands(a.data, a.count, ensemble) if a.data else _photo_hands(a.images, ensemble)
    rows = {}
    for checkpoint in a.checkpoints:
        backend = create_backend("torch", load_model(checkpoint), max_batch=3)
        gaps_3d, gaps_2d = [], []
        for crops, rotations in hands:
            out = backend.run(np.ascontiguousarray(crops.transpose(0, 3, 1, 2), np.float32) / np.float32(255))
            poses = from_view(out.joints_view_norm, rotations)
            for k, angle in ((1, a.angle), (2, -a.angle)):
                kp = RollEnsemble((angle,)).unturn_keypoints(out.keypoints_crop_px[k : k + 1], 128)[0]
                gaps_3d.append(np.linalg.norm(poses[k] - poses[0], axis=1).mean() * DEFAULT_HAND_SIZE_MM)
                gaps_2d.append(np.linalg.norm(kp - out.keypoints_crop_px[0], axis=1).mean())
        rows[str(checkpoint)] = {
            "hands": len(hands),
            "gap_3d_mm_median": float(np.median(gaps_3d)), "gap_3d_mm_mean": float(np.mean(gaps_3d)),
            "gap_2d_px_median": float(np.median(gaps_2d)), "gap_2d_px_mean": float(np.mean(gaps_2d)),
        }
    print(f"{'checkpoint':<40}{'hands':>6}{'3D gap median':>15}{'mean':>8}{'2D gap median':>15}{'mean':>8}")
    for name, r in rows.items():
        print(f"{name[-40:]:<40}{r['hands']:>6}{r['gap_3d_mm_median']:>12.1f} mm{r['gap_3d_mm_mean']:>8.1f}"
              f"{r['gap_2d_px_median']:>12.1f} px{r['gap_2d_px_mean']:>8.1f}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(a.out, json.dumps({"angle_deg": a.angle, "checkpoints": rows}, indent=2))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
