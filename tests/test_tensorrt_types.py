"""Type-check the TensorRT backend against tensorrt-stubs (TensorRT itself cannot be installed here).

``scripts/fix_tensorrt_stubs.py`` writes a patched copy of the stubs; mypy runs with it on
MYPYPATH and ``--follow-imports=silent``, and only the lines of our own files are judged (the
generated stubs themselves produce hundreds of errors). A deliberately wrong snippet checked in the
same run proves the check can fail.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "handpose" / "infer" / "backends" / "tensorrt_backend.py"

WRONG_SNIPPET = '''
import tensorrt as trt


def enqueue(context: trt.IExecutionContext, stream: int) -> bool:
    context.set_tensor_address("images", 0)
    return context.execute_async_v4(stream)


def configure(config: trt.IBuilderConfig) -> None:
    config.set_flag(trt.BuilderFlag.FP17)
'''


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory) -> dict[Path, list[str]]:
    if importlib.util.find_spec("tensorrt_stubs") is None:
        pytest.skip("tensorrt-stubs not installed (pip install --no-deps 'tensorrt-stubs==10.13.*')")
    tmp = tmp_path_factory.mktemp("trt_types")
    stubs = tmp / "stubs"
    subprocess.run([sys.executable, str(REPO / "scripts" / "fix_tensorrt_stubs.py"), str(stubs)], check=True,
                   capture_output=True)
    wrong = tmp / "wrong_tensorrt_use.py"
    wrong.write_text(WRONG_SNIPPET)
    env = {**os.environ, "MYPYPATH": str(stubs)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--show-error-codes", "--no-error-summary",
         "--cache-dir", str(tmp / "cache"), str(MODULE), str(wrong)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    report: dict[Path, list[str]] = {MODULE: [], wrong: []}
    for line in result.stdout.splitlines():
        path = Path(line.split(":", 1)[0]).resolve() if ":" in line else None
        if path in report and ": error:" in line:
            report[path].append(line)
    assert "error: Cannot find implementation or library stub for module named \"tensorrt\"" not in result.stdout
    return report


def test_tensorrt_backend_type_checks_against_the_stubs(mypy_report):
    assert mypy_report[MODULE] == []


def test_the_check_catches_wrong_tensorrt_calls(mypy_report):
    errors = [line for lines in mypy_report.values() for line in lines if "wrong_tensorrt_use" in line]
    assert any("execute_async_v4" in line for line in errors), errors
    assert any("FP17" in line for line in errors), errors


def test_backend_without_tensorrt_raises_a_clear_error():
    from handpose.errors import MissingDependencyError
    from handpose.infer.backends.tensorrt_backend import TensorRTBackend, tensorrt_available

    if tensorrt_available():
        pytest.skip("real TensorRT is installed: scripts/gpu_check.sh tests it")
    with pytest.raises(MissingDependencyError, match="tensorrt"):
        TensorRTBackend(b"not used", 128)
