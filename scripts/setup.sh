#!/usr/bin/env bash
# All set-up on a fresh machine (Debian 12, Python 3.11, no GPU): Debian packages, a virtual
# environment in .venv with every pinned package, and MediaPipe's hand model built offline.
# Idempotent: a second run only checks. Used by the README's two commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="libusb-1.0-0 xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0"
missing=$(for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages: $missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
stamp=.venv/.handpose-setup-$(sha256sum setup.py scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: creating .venv and installing packages"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  # torch first, alone, so that pip takes the CPU build from local disk
  .venv/bin/pip install -q torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/pip install -q -e '.[all]' 2>&1 | grep -v "^WARNING: Location" || true
  # mediapipe requires opencv-contrib-python, whose Qt plugin path breaks PyQt5: no deps
  .venv/bin/pip install -q --no-deps mediapipe==1.2.3 sounddevice==0.5.6 certifi 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/pip install -q --no-deps tensorrt-stubs==10.13.* 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import torch, cv2, onnxruntime, mediapipe, PyQt5, open3d, moderngl" \
    || { echo "setup: the installed packages do not import" >&2; exit 1; }
  touch "$stamp"
fi

if [ ! -f models/hand_landmarker.task ]; then
  echo "setup: building models/hand_landmarker.task from the mediapipe 0.10.21 wheel"
  .venv/bin/python scripts/build_mediapipe_model.py models/hand_landmarker.task
fi
