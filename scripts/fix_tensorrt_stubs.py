"""Copy the installed ``tensorrt-stubs`` into a folder and patch them so that mypy parses them.

The stubs of tensorrt-stubs 10.13 are generated and do not all parse: a parameter named ``in``
(a Python keyword), a parameter without a default after ones with defaults (``add_scale_nd``),
and an import of ``tensorrt_libs`` (a runtime-only package). This script copies the two stub
packages (``tensorrt``, ``tensorrt_bindings``) out of site-packages into ``DEST`` and fixes
those three things, so that ``MYPYPATH=DEST mypy --follow-imports=silent ...`` can check our
TensorRT code against them. The stubs stay otherwise untouched.

Usage: ``python scripts/fix_tensorrt_stubs.py DEST`` (prints DEST). Re-running overwrites DEST.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

STUB_PACKAGES = ("tensorrt", "tensorrt_bindings")

_KEYWORD_PARAM = re.compile(r"(?<=[(,])(\s*)in(?=\s*:)")
_LIBS_IMPORT = re.compile(r"^import tensorrt_libs as tensorrt_libs$", re.MULTILINE)


def find_installed_stubs() -> Path:
    """The site-packages folder that holds the ``tensorrt`` stub package (``__init__.pyi``)."""
    for entry in sys.path:
        candidate = Path(entry) / "tensorrt" / "__init__.pyi"
        if candidate.is_file() and (Path(entry) / "tensorrt_stubs").is_dir():
            return Path(entry)
    spec = importlib.util.find_spec("tensorrt_stubs")
    raise SystemExit(
        "tensorrt-stubs are not installed (found: "
        f"{spec.origin if spec else None}); install with: pip install --no-deps 'tensorrt-stubs==10.13.*'"
    )


def _defaults_in_order(signature: str) -> str:
    """Give ``= ...`` to every parameter that follows a defaulted one in a one-line ``def``."""
    head, sep, rest = signature.partition("(")
    params_text, close, tail = rest.rpartition(")")
    params, depth, current = [], 0, ""
    for char in params_text:
        depth += char in "[(" and 1 or (char in "])" and -1 or 0)
        if char == "," and depth == 0:
            params.append(current)
            current = ""
        else:
            current += char
    params.append(current)
    seen_default, fixed = False, []
    for param in params:
        name = param.strip()
        if "=" in name:
            seen_default = True
        elif seen_default and name and not name.startswith("*") and name != "/":
            param = f"{param} = ..."
        elif name.startswith("*"):
            seen_default = False  # keyword-only parameters may follow without defaults
        fixed.append(param)
    return head + sep + ",".join(fixed) + close + tail


def patch_text(text: str) -> str:
    """Apply the three fixes to the text of one ``.pyi`` file."""
    text = _LIBS_IMPORT.sub("tensorrt_libs: object", text)
    lines = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("def "):
            line = _KEYWORD_PARAM.sub(r"\1in_", line)
            line = _defaults_in_order(line)
        lines.append(line)
    return "".join(lines)


def write_fixed_stubs(dest: Path) -> Path:
    """Copy and patch the stubs into ``dest`` (created or replaced); returns ``dest``."""
    source = find_installed_stubs()
    dest.mkdir(parents=True, exist_ok=True)
    for package in STUB_PACKAGES:
        target = dest / package
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source / package, target, ignore=shutil.ignore_patterns("__pycache__"))
        for stub in target.rglob("*.pyi"):
            stub.write_text(patch_text(stub.read_text(encoding="utf-8")), encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit(__doc__)
    print(write_fixed_stubs(Path(args[0])))


if __name__ == "__main__":
    main()
