"""Cold-start import cost of the Lambda handler module (`app`) against its dependency floor.

Run: `cd /work/main && .venv/bin/python -m bench.import_time [--runs 9] [--from-source]`

Each sample is a fresh interpreter, the way a Lambda cold start pays for imports. The child
times only its import statement, with `time.perf_counter()` (wall) and `time.process_time()`
(CPU of the process) around it: interpreter start-up is left out, and no `-X importtime`
bookkeeping is added. It also reports the top-level packages it loaded. Three rows, measured
the same way:

- `boto3`: `import boto3` alone;
- `floor`: one interpreter importing every dependency the app cannot start without
  (`FLOOR`, together, so modules they share are paid once, as in the app);
- `app`: `import app`, in the test environment with AWS pointed at a closed port, so the
  run fails if the import touches AWS.

The rows are interleaved (floor, app, boto3, floor, app, ...) so that machine load, which is
shared and noisy, falls on all three alike. Printed: median, min and max wall time of each
row and its median CPU time, in ms; the ratios app ÷ floor and app ÷ boto3 of the wall
medians, and of the CPU medians (a loaded machine delays a process without charging it CPU,
so on a shared machine the CPU ratio is the steadier one; on an idle one they agree); and the
packages `app` loads beyond the floor, which is where its extra cost lives.

Bytecode: every child reads and writes its .pyc files in a cache directory of this run
(PYTHONPYCACHEPREFIX), filled by one untimed warm-up round, so the app's modules and the
dependencies are both timed from bytecode, whatever PYTHONDONTWRITEBYTECODE says, and the
working tree gets no __pycache__. `--from-source` times every row compiling from source
instead (an empty cache nobody writes): a deployment package without .pyc files pays that on
every cold start, since Lambda's code directory is read-only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.environment import TEST_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
FLOOR = ("boto3", "pydantic", "pynamodb.models", "chalice.app", "pydantic_settings", "jwt")
ROWS: dict[str, tuple[str, ...]] = {
    "floor": FLOOR,
    "app": ("app",),
    "boto3": ("boto3",),
    # A worker's cold start: app.py, then the worker module its handler imports on first event.
    "media": ("app", "chalicelib.workers.media"),
    "caption": ("app", "chalicelib.workers.captions"),
    "export": ("app", "chalicelib.workers.exports"),
    "sweeper": ("app", "chalicelib.workers.dead_letters"),
}
WORKERS = ("media", "caption", "export", "sweeper")
GOAL = 1.2
# Only built-in modules are loaded before the timed import (json would otherwise be free to
# the app); what the interpreter already held is not reported as imported.
_CHILD = """\
import sys, time
before = set(sys.modules)
start, cpu_start = time.perf_counter(), time.process_time()
import {modules}
wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
import json
packages = sorted({{m.split(".")[0] for m in set(sys.modules) - before}})
print(json.dumps({{"wall": wall, "cpu": cpu, "modules": packages}}))
"""


@dataclass
class Row:
    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    packages: set[str] = field(default_factory=set)

    @property
    def wall_ms(self) -> float:
        return statistics.median(self.wall) * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000


def child_environment(pycache: Path | None = None, write_bytecode: bool = True) -> dict[str, str]:
    """The test environment; with `pycache`, bytecode read from (and written to) that directory."""
    env = {**os.environ, **TEST_ENVIRONMENT}
    # Nothing listens on port 9: an AWS call at import fails the run instead of being timed.
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    for name in ("MEDIA_BASE_URL", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Sample:
    wall: float
    cpu: float
    packages: set[str]


def sample(modules: Sequence[str], env: dict[str, str]) -> Sample:
    """Seconds (wall, CPU) of `import <modules>` in a fresh interpreter, and the packages it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(modules=", ".join(modules))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"import {', '.join(modules)} failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(float(report["wall"]), float(report["cpu"]), set(report["modules"]))


def measure(runs: int, from_source: bool = False) -> dict[str, Row]:
    rows = {name: Row(name) for name in ROWS}
    with tempfile.TemporaryDirectory(prefix="import-time-pycache-") as pycache:
        env = child_environment(Path(pycache), write_bytecode=not from_source)
        for modules in ROWS.values():
            sample(modules, env)  # warm-up, not timed: bytecode (unless from source), file caches
        for _ in range(runs):
            for name, modules in ROWS.items():
                one = sample(modules, env)
                rows[name].wall.append(one.wall)
                rows[name].cpu.append(one.cpu)
                rows[name].packages |= one.packages
    return rows


def render(rows: dict[str, Row], runs: int, from_source: bool = False) -> str:
    floor, app, boto3 = rows["floor"], rows["app"], rows["boto3"]
    code = "compiled from source" if from_source else "from bytecode"
    lines = [
        f"import time, {code}: median of {runs} fresh interpreters per row, interleaved",
        f"{'row':<7} {'wall ms':>8} {'min':>8} {'max':>8} {'CPU ms':>8}  import",
    ]
    for name, row in rows.items():
        lo, hi = min(row.wall) * 1000, max(row.wall) * 1000
        lines.append(f"{name:<7} {row.wall_ms:>8.1f} {lo:>8.1f} {hi:>8.1f} {row.cpu_ms:>8.1f}  {', '.join(ROWS[name])}")
    lines.append(
        f"app ÷ floor  {app.wall_ms / floor.wall_ms:.2f} wall, {app.cpu_ms / floor.cpu_ms:.2f} CPU"
        f"   (goal: at most {GOAL:.2f})"
    )
    lines.append(f"app ÷ boto3  {app.wall_ms / boto3.wall_ms:.2f} wall, {app.cpu_ms / boto3.cpu_ms:.2f} CPU")
    beyond = sorted(rows["app"].packages - rows["floor"].packages)
    lines.append(f"app beyond the floor: {', '.join(beyond) or '(nothing)'}")
    for name in WORKERS:
        if name in rows:
            worker = rows[name]
            extra = sorted(worker.packages - rows["app"].packages)
            lines.append(
                f"{name} worker ÷ floor  {worker.wall_ms / floor.wall_ms:.2f} wall, "
                f"{worker.cpu_ms / floor.cpu_ms:.2f} CPU; beyond app: {', '.join(extra) or '(nothing)'}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_time")
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per row (default 9)")
    parser.add_argument("--from-source", action="store_true", help="time compiling from source (no .pyc)")
    args = parser.parse_args(argv)
    print(render(measure(args.runs, args.from_source), args.runs, args.from_source))
    print(package_size())
    return 0


def package_size(package: Path = ROOT / "build" / "deployment.zip") -> str:
    """The zipped deployment package `make package` built (what every cold start downloads)."""
    if not package.exists():
        return f"deployment package: {package.relative_to(ROOT)} not built (run make package)"
    size = package.stat().st_size
    return f"deployment package: {size / 1024 / 1024:.1f} MiB zipped ({package.relative_to(ROOT)})"


if __name__ == "__main__":
    sys.exit(main())
