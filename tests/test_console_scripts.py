"""Every console script in setup.py starts and answers --help; bad input to a command or script
ends in one ``error:`` line and exit status 2; handpose-export writes an ONNX file with a dynamic
batch that agrees with torch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = re.findall(r'"(handpose-[a-z-]+)=([\w.]+):main"', (REPO / "setup.py").read_text())


def test_setup_lists_the_scripts():
    assert len(SCRIPTS) >= 8 and ("handpose-export", "apps.export") in SCRIPTS


@pytest.mark.parametrize("name,module", SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_script_answers_help(name, module):
    installed = Path(sys.executable).parent / name
    command = [str(installed)] if installed.is_file() else [sys.executable, "-m", module]
    done = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


@pytest.mark.parametrize("command,names", [
    (["-m", "apps.render_dataset", "--out", "/proc/no-such-folder/x", "--count", "4"], "/proc/no-such-folder"),
    (["scripts/compare_models.py", "--checkpoints", "models/handpose_default.pt", "--real", "shards:no_such_folder",
      "--out", "x.json"], "no_such_folder"),
    (["scripts/choose_gesture_photos.py", "--poses", "missing.pkl"], "missing.pkl"),
], ids=["render", "compare_models", "choose_gesture_photos"])
def test_bad_input_is_one_line_error(command, names):
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("error: ") and names in done.stderr and len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_export_writes_a_dynamic_batch_graph_that_matches_torch(tmp_path):
    import onnxruntime as ort
    import torch

    from apps.export import main
    from handpose.model.checkpoint import load_default_model

    main(["--out", str(tmp_path / "m.onnx")])
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    model = load_default_model()
    for n in (1, 5):
        images = torch.rand(n, 3, 128, 128, generator=torch.Generator().manual_seed(n))
        with torch.no_grad():
            expected = [t.numpy() for t in model(images)]
        got = session.run(None, {"images": images.numpy()})
        assert [g.shape[0] for g in got] == [n] * 4
        for e, g in zip(expected, got):
            np.testing.assert_allclose(g, e, atol=1e-4)
    with pytest.raises(SystemExit, match="does not exist"):
        main(["--out", str(tmp_path / "missing" / "m.onnx")])
