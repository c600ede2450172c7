"""Export the model's inference graph to ONNX (dynamic batch) and check it against torch.

    python -m apps.export                                  # the default model -> models/handpose_default.onnx
    python -m apps.export --checkpoint my.pt --out my.onnx

The graph is ``images`` (N, 3, S, S) float32 RGB in [0, 1] -> ``joints_view_norm`` (N, 21, 3),
``keypoints_crop_px`` (N, 21, 2), ``presence`` (N,), ``visibility`` (N, 21)
(``handpose.infer.export``). After writing, ONNX Runtime runs the file on a batch of 3 crops and
every output is compared with torch's; a gap over ``--tolerance`` exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from handpose.errors import HandposeError
from handpose.infer.export import OUTPUT_NAMES, export_onnx
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--out", type=Path, default=None, help="ONNX file (default: the checkpoint's name, .onnx)")
    p.add_argument("--tolerance", type=float, default=1e-3, help="largest torch/ONNX Runtime gap allowed")
    a = p.parse_args(argv)
    out = a.out or a.checkpoint.with_suffix(".onnx")
    try:
        if not out.parent.is_dir():
            raise HandposeError(f"output folder {out.parent} does not exist")
        model = load_model(a.checkpoint)
        data = export_onnx(model, out)
        import onnxruntime as ort

        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        size = model.config.input_size
        images = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            expected = [t.numpy() for t in model(images)]
        got = session.run(list(OUTPUT_NAMES), {"images": images.numpy()})
    except HandposeError as exc:
        sys.exit(f"export: {exc}")
    gaps = {name: float(np.abs(e - g).max()) for name, e, g in zip(OUTPUT_NAMES, expected, got)}
    print(f"wrote {out} ({len(data) / 1e6:.1f} MB, dynamic batch); ONNX Runtime vs torch on 3 crops, max |gap|: "
          + ", ".join(f"{k} {v:.1e}" for k, v in gaps.items()))
    if max(gaps.values()) > a.tolerance:
        sys.exit(f"export: ONNX Runtime differs from torch by more than {a.tolerance}: {gaps}")


if __name__ == "__main__":
    main()
