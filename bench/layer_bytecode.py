"""Cold start as deployed: the layer without bytecode vs with precompiled bytecode.

A Lambda layer is read-only and SAM zips it without file timestamps. SAM's python
builder ships no .pyc files, so every cold start compiles the layer's packages again;
layers/common/Makefile ships checked-hash .pyc files instead. This builds both kinds
of layer from layers/common/requirements.txt (for this machine's Python, as pip would
for Lambda's), dates every file 1980-01-01 as the zip does, and times importing each
function's handler with no bytecode writes, in fresh interpreters, rounds interleaved.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest date a zip entry holds

PROBE = """
import sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
import app
print(time.perf_counter() - start)
"""


def build_layer(target: Path, *, bytecode: bool) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target",
         str(target), "--requirement", str(ROOT / "layers/common/requirements.txt")],
        check=True,
    )  # fmt: skip
    shutil.copytree(
        ROOT / "layers/common/keyfob",
        target / "keyfob",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    if bytecode:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "-j", "0",
             "--invalidation-mode", "checked-hash", str(target)],
            check=True,
        )  # fmt: skip
    for path in target.rglob("*"):
        os.utime(path, (ZIP_EPOCH, ZIP_EPOCH), follow_symlinks=False)


def sample(layer: Path, function: Path) -> float:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",  # /opt is read-only in Lambda
        "AWS_REGION": "us-east-1",
        "KEYFOB_TABLE": "keyfob",
        "POWERTOOLS_SERVICE_NAME": "keyfob",
    }
    code = PROBE.format(paths=[str(layer), str(function)])
    # -S: the layer alone supplies the packages, as in Lambda (no site-packages).
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    functions = sorted(p.parent for p in (ROOT / "functions").glob("*/app.py"))
    with tempfile.TemporaryDirectory() as tmp:
        layers = {"no bytecode": Path(tmp, "plain"), "checked-hash .pyc": Path(tmp, "pyc")}
        for name, path in layers.items():
            build_layer(path, bytecode=name != "no bytecode")
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(ROUNDS):
            for function in functions:
                for name, path in layers.items():
                    key = (function.name, name)
                    times.setdefault(key, []).append(sample(path, function))
    print(f"handler import from a read-only layer, median of {ROUNDS}, ms")
    print(f"{'function':<22}{'no bytecode':>14}{'with .pyc':>12}{'speed-up':>10}")
    for function in functions:
        plain = statistics.median(times[(function.name, "no bytecode")]) * 1000
        compiled = statistics.median(times[(function.name, "checked-hash .pyc")]) * 1000
        print(f"{function.name:<22}{plain:14.0f}{compiled:12.0f}{plain / compiled:9.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
