"""Build MediaPipe's ``hand_landmarker.task`` offline from the tflite files in the mediapipe 0.10.21 wheel.

mediapipe 1.x ships no hand model; the 0.10.21 wheel on PyPI carries the full palm detector and
hand landmark models (Apache-2.0). A ``.task`` file is a zip of ``hand_detector.tflite`` and
``hand_landmarks_detector.tflite``. Usage: ``python scripts/build_mediapipe_model.py OUT.task``.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
import zipfile

MEMBERS = {
    "hand_detector.tflite": "mediapipe/modules/palm_detection/palm_detection_full.tflite",
    "hand_landmarks_detector.tflite": "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
}


def main(out_path: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64",
             "mediapipe==0.10.21", "-d", tmp],
            check=True,
        )
        (wheel,) = glob.glob(os.path.join(tmp, "mediapipe-0.10.21-*.whl"))
        part = out_path + ".part"
        with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as dst:
            for name, member in MEMBERS.items():
                dst.writestr(name, src.read(member))
        os.replace(part, out_path)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_mediapipe_model.py OUT.task")
    main(sys.argv[1])
