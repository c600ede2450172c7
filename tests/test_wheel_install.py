"""A non-editable install works: a wheel built from the checkout, installed into a fresh virtual
environment, runs ``handpose-video`` on the sample clip outside the checkout, finding its weights,
manifest, MediaPipe model and sample clip as installed data (not through the checkout), and writes
the same poses as the checkout does.

The fresh environment gets its third-party packages (torch, mediapipe, ...) from this one through
a path file, so nothing is downloaded; handpose itself comes only from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRAMES = "12"


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command[:3]}: {done.stderr[-3000:]}"
    return done.stdout


def _source_copy(dest: Path) -> None:
    """The files a clean clone has (tracked or not ignored) plus MediaPipe's model, which
    scripts/setup.sh builds into the (ignored) models folder."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], REPO).split("\0")
    for name in [n for n in listed if n] + ["models/hand_landmarker.task"]:
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)


def test_wheel_installs_and_processes_the_sample_clip(tmp_path):
    source, dist, venv, work = (tmp_path / n for n in ("src", "dist", "venv", "work"))
    _source_copy(source)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", str(dist), str(source)], tmp_path)
    wheel = next(dist.glob("handpose-*.whl"))
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
          str(wheel)], tmp_path)

    env = {k: v for k, v in os.environ.items() if k not in ("HANDPOSE_MODELS", "PYTHONPATH")}
    work.mkdir()
    where = _run([str(python), "-c", "import handpose, handpose.paths as p; print(handpose.__file__); print(p.MODELS_DIR)"],
                 work, env).split()
    assert Path(where[0]).is_relative_to(venv) and Path(where[1]) == venv / "share" / "handpose" / "models"

    _run([str(venv / "bin" / "handpose-video"), "--out-root", str(work / "out"), "--max-frames", FRAMES,
          "--no-video", "--quiet"], work, env)
    _run([sys.executable, "-m", "apps.process_video", "--out-root", str(tmp_path / "checkout_out"),
          "--max-frames", FRAMES, "--no-video", "--quiet"], REPO, env)
    installed = next((work / "out").glob("*/poses.jsonl"))
    checkout = next((tmp_path / "checkout_out").glob("*/poses.jsonl"))
    lines = installed.read_text().splitlines()
    assert len(lines) == int(FRAMES) and all('"hands":[{' in line for line in lines)
    assert lines == checkout.read_text().splitlines()
