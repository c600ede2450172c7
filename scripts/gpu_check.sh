#!/usr/bin/env bash
# For a user with an NVIDIA GPU: build the TensorRT engine of the default model (cached under
# models/engines/), compare TensorRT and torch-CUDA (fp16, CUDA graphs) with ONNX Runtime at fp16
# tolerance on random and real crops, run the CUDA tests, and print the latency table.
# Needs: scripts/setup.sh done, a CUDA build of torch, and TensorRT 10+ (pip install -e '.[tensorrt]'
# with NVIDIA's package index reachable). Usage: scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch sees no CUDA GPU: install a CUDA build of torch')"
$PY -c "import tensorrt, sys; sys.exit(0 if hasattr(tensorrt, 'Builder') else 'TensorRT is not installed: pip install -e .[tensorrt]')"
$PY scripts/gpu_check.py
$PY -m pytest -q tests/test_backends.py tests/test_tensorrt_types.py
