#!/usr/bin/env bash
# Set-up (idempotent) and the main job: the video app on the built-in sample clip with the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m apps.process_video "$@"
