#!/usr/bin/env bash
# For a machine with an NVIDIA GPU: every GPU engine there is (torch-CUDA fp32/fp16, CUDA graphs
# off/on; TensorRT fp16 when installed) checked against a CPU reference on random and real crops,
# then timed alone at batch 1..256 (one table, outputs/gpu_check.json), then the CUDA tests when
# pytest is there. Needs a CUDA build of torch and numpy; nothing else (no MediaPipe, Qt, network).
# At most ~5 minutes. Without a CUDA device it says so in one line and exits 0.
# Usage: scripts/gpu_check.sh [python]   (default: .venv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
timeout 270 "$PY" scripts/gpu_check.py
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" && "$PY" -c "import pytest" 2>/dev/null; then
    timeout 120 "$PY" -m pytest -q -m cuda tests/
fi
