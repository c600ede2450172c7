"""Install handpose: ``pip install -e .`` (core) or ``pip install -e '.[all]'``.

Pins follow what installs on the project's build machines: torch 2.13.0 is the CPU build on disk (a
looser range pulls a multi-GB CUDA build); opencv must be the headless build (the GUI builds break
PyQt5); mediapipe is installed with --no-deps by scripts/setup.sh because it requires
opencv-contrib-python.
"""

from pathlib import Path

from setuptools import find_packages, setup

#: the default weights, the gesture classifier, their manifest and MediaPipe's hand model (built by
#: scripts/setup.sh), installed to <prefix>/share/handpose/models, where handpose.paths looks when
#: there is no checkout
MODEL_FILES = [f"models/{n}" for n in ("handpose_default.pt", "MANIFEST.json", "hand_landmarker.task",
                                       "gesture_classifier.npz")
               if Path("models", n).is_file()]

CORE = [
    "numpy>=2.0,<3",
    "torch==2.13.0",
    "opencv-python-headless==5.0.0.93",
    "onnx==1.23.2",
    "onnxscript==0.7.2",
    "onnxruntime==1.32.0",
    "tqdm==4.70.1",
    "matplotlib==3.11.2",
    "absl-py==2.5.1",
    "flatbuffers==25.12.19",
    "moderngl==5.13.0",
]
EXTRAS = {
    # mediapipe itself: pip install --no-deps mediapipe==1.2.3 (see scripts/setup.sh)
    "viewer": ["PyQt5==5.15.11", "pyqtgraph==0.14.0", "PyOpenGL==3.1.10", "open3d-cpu==0.20.0"],
    "depth": ["pyrealsense2==2.59.1.11053"],
    "tensorrt": ["tensorrt>=10", "polygraphy"],
    "train": ["scipy==1.17.1"],
    "dev": ["pytest==9.2.0", "mypy==2.4.1", "scipy==1.17.1"],
    "cluster": ["ray==2.60.0"],  # handpose-video --ray (docs/ray.md)
}
EXTRAS["all"] = sorted({p for k, v in EXTRAS.items() if k != "tensorrt" for p in v})

setup(
    name="handpose",
    version="0.1.0",
    description="Real-time 3D hand pose estimation by cross-modal variational alignment of latent spaces",
    python_requires=">=3.11,<3.13",
    packages=find_packages(include=["handpose", "handpose.*", "apps"]),
    package_data={"handpose.data": ["assets/*"], "handpose.data.synth": ["assets/**/*"], "handpose.infer": ["assets/*"],
                  "apps": ["assets/*.mp4", "assets/*.npz", "assets/*.jpg"]},
    data_files=[("share/handpose/models", MODEL_FILES)],
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": [
            "handpose-video=apps.process_video:main",
            "handpose-demo=apps.live_demo:main",
            "handpose-bench=apps.benchmark:main",
            "handpose-train=apps.train:main",
            "handpose-eval=apps.evaluate:main",
            "handpose-export=apps.export:main",
            "handpose-calibrate=apps.calibrate:main",
            "handpose-contact-sheet=apps.contact_sheet:main",
            "handpose-render=apps.render_dataset:main",
            "handpose-pseudo-label=apps.pseudo_label:main",
            "handpose-adapt=apps.adapt:main",
        ]
    },
)
