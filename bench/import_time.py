"""Cold-start import cost of the Lambda handler module against bare boto3.

Run: `cd /work/main && .venv/bin/python -m bench.import_time [--runs 7]`

Each measurement is a fresh interpreter (`python -X importtime -c "import X"`), the way a
Lambda cold start pays for imports; the cumulative time of the top-level import is read from
its report, and the median of the runs is printed with the ratio to `import boto3`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("boto3", "pynamodb.models", "pydantic", "chalicelib.schemas.products", "chalicelib.api.deps", "app")


def import_microseconds(module: str) -> int:
    """Cumulative microseconds of `import module` in a fresh interpreter."""
    report = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in reversed(report.splitlines()):
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"no import time reported for {module}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_time")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    medians = {m: statistics.median(import_microseconds(m) for _ in range(args.runs)) for m in MODULES}
    base = medians["boto3"]
    print(f"import cost, median of {args.runs} fresh interpreters (cumulative, -X importtime)")
    print(f"{'module':<32} {'ms':>8} {'÷ boto3':>8}")
    for module, micros in medians.items():
        print(f"{module:<32} {micros / 1000:>8.1f} {micros / base:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
