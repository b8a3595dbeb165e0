"""The export worker on moto: its peak memory at two archive sizes, and its throughput against zipfile.

Run: `cd /work/main && .venv/bin/python -m bench.exports [--quick]`

Exports of about 50 MB and about 500 MB of images (10 and 100 incompressible PNGs of 5 MB;
`--quick`: 5 and 20 of 1 MB). Every process that touches AWS is a child of this one, which only
orchestrates (so it holds no S3 object, and a test process's in-process moto never sees a call):

- the moto server (`serve-moto`): moto's werkzeug app with ops.local.moto_transactions,
  on a loopback port it picks itself. It holds every S3 object, so it is not the worker: the
  worker's memory is the worker's alone. It stops when its stdin closes (this process ending,
  however it ends) and is killed on the way out anyway;
- `setup`: the table, buckets and queues (ops.local.resources), a superuser, one shooting
  with one look per product, each look `small` approved shots of one image (built by
  ShootingService, no HTTP), and two export tasks: the first product (`small` images) and every
  product (`large` images). The images are then downloaded to a temporary directory, for the
  baseline;
- `worker`, once per task, each in a fresh interpreter so that `ru_maxrss` is that run's peak
  alone: `ExportRunner().run(task_id)` timed, RSS before (after imports and a first table read)
  and after. Then, outside the measurement, the archive is downloaded and checked: `testzip()`,
  the member names (the images and the manifest), every manifest row `ok` with the member's
  SHA-256;
- `baseline`, once per size, in a fresh interpreter: plain `zipfile` (ZIP_STORED) writing the same
  files, from the local copies (read from the page cache), under the same names in the same
  order, to a file on local disk (closed, not fsynced); the median of three writes.

Printed: per size, the images, the archive's bytes, the worker's peak RSS, the export's and
zipfile's MB/s (payload bytes, 1 MB = 10^6 bytes, over the run's wall time) and their ratio;
then the peak-RSS ratio large/small (PASS when at most 1.2). Times are reported, never
asserted; the export's time includes moto's HTTP round trips (and its writes to its own temp
files), so the ratio is a floor of what real S3 would give, not a prediction.

Disk: moto keeps every object over 5 MiB in a temporary file (the images, the parts, the
archives), and the baseline has its copies and archive: about 6x the large size in the temp
directory (about 3 GB for the default run); checked before starting.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RSS_LIMIT = 1.2
MB = 1_000_000
MIB = 1024 * 1024
# Temp space needed, as a multiple of the large export's payload (see the module's docstring).
DISK_FACTOR = 6
BASELINE_REPEAT = 3
SERVER_START_SECONDS = 60


@dataclass(frozen=True)
class Sizes:
    image_bytes: int
    small: int
    large: int

    def __post_init__(self) -> None:
        if self.large % self.small or self.small > 100:
            raise ValueError("large must be a multiple of small, and small at most 100 (shots per look)")


FULL = Sizes(image_bytes=5 * MB, small=10, large=100)
QUICK = Sizes(image_bytes=1 * MB, small=5, large=20)


@dataclass
class Row:
    label: str
    images: int
    payload_bytes: int
    archive_bytes: int
    state: str
    verified: bool
    members: int
    rss_before_kib: int
    rss_peak_kib: int
    export_seconds: float
    zipfile_seconds: float
    zipfile_rss_kib: int
    problems: list[str] = field(default_factory=list)

    @property
    def export_mbps(self) -> float:
        return self.payload_bytes / MB / self.export_seconds

    @property
    def zipfile_mbps(self) -> float:
        return self.payload_bytes / MB / self.zipfile_seconds

    @property
    def ratio(self) -> float:
        return self.export_mbps / self.zipfile_mbps


@dataclass
class BenchResult:
    sizes: Sizes
    small: Row
    large: Row

    @property
    def rss_ratio(self) -> float:
        return self.large.rss_peak_kib / self.small.rss_peak_kib

    @property
    def growth_ratio(self) -> float:
        """The runs' own growth (peak minus the RSS before the run), large over small."""
        small = max(self.small.rss_peak_kib - self.small.rss_before_kib, 1)
        return (self.large.rss_peak_kib - self.large.rss_before_kib) / small

    @property
    def flat(self) -> bool:
        return self.rss_ratio <= RSS_LIMIT

    @property
    def verified(self) -> bool:
        return self.small.verified and self.large.verified


# -- the orchestrating process -------------------------------------------------------------


def _child_env() -> dict[str, str]:
    from tests.support.environment import TEST_ENVIRONMENT

    env = {**os.environ, **TEST_ENVIRONMENT}
    for name in ("AWS_ENDPOINT_URL", "MEDIA_BASE_URL", "AWS_PROFILE"):
        env.pop(name, None)
    return env


def _child(mode: str, *args: str) -> dict[str, Any]:
    """Run `python -m bench.exports <mode> ...` in a fresh interpreter; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.exports", mode, *args],
        cwd=ROOT,
        env=_child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.exports {mode} exited with {done.returncode}: {done.stdout[-2000:]}")
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


class MotoServer:
    """The moto server in its own process (see `serve-moto`)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def __enter__(self) -> MotoServer:
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.exports", "serve-moto"],
                cwd=ROOT,
                env=_child_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                # Its own session: a terminal's Ctrl-C reaches us only, and we stop it.
                start_new_session=True,
            )
        try:
            assert self.process.stdout is not None
            ready, _, _ = select.select([self.process.stdout], [], [], SERVER_START_SECONDS)
            line = self.process.stdout.readline() if ready else ""
            if not line.startswith("port "):
                raise RuntimeError(f"the moto server did not start: {line!r} {self.log.read_text()[-2000:]}")
            self.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        try:
            if process.stdin is not None:
                process.stdin.close()  # it exits on EOF
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _row(label: str, images: list[list[str]], worker: dict[str, Any], baseline: dict[str, Any]) -> Row:
    expected = sorted([name for name, _ in images] + ["manifest.csv"])
    check = worker["verify"]
    problems = []
    if worker["state"] != "completed":
        problems.append(f"state {worker['state']}")
    if check["testzip"] is not None:
        problems.append(f"testzip: bad member {check['testzip']}")
    if sorted(check["names"]) != expected:
        problems.append("members differ from the approved shots")
    if not check["manifest_ok"]:
        problems.append("manifest rows not all ok with matching checksums")
    payload = sum(Path(path).stat().st_size for _, path in images)
    return Row(
        label=label,
        images=len(images),
        payload_bytes=payload,
        archive_bytes=int(worker["archive_bytes"]),
        state=str(worker["state"]),
        verified=not problems,
        members=len(check["names"]),
        rss_before_kib=int(worker["rss_before_kib"]),
        rss_peak_kib=int(worker["rss_peak_kib"]),
        export_seconds=float(worker["seconds"]),
        zipfile_seconds=float(baseline["seconds"]),
        zipfile_rss_kib=int(baseline["rss_peak_kib"]),
        problems=problems,
    )


def disk_needed(sizes: Sizes) -> int:
    return DISK_FACTOR * sizes.large * sizes.image_bytes


def measure(sizes: Sizes = FULL, tmp: str | None = None) -> BenchResult:
    """Everything: the moto server, the world, the two exports and their baselines."""
    with tempfile.TemporaryDirectory(prefix="bench-exports-", dir=tmp) as workdir:
        work = Path(workdir)
        with MotoServer(work / "moto.log") as moto:
            endpoint = ["--endpoint", moto.endpoint]
            world = _child(
                "setup",
                *endpoint,
                "--dir",
                str(work / "images"),
                "--image-bytes",
                str(sizes.image_bytes),
                "--small",
                str(sizes.small),
                "--large",
                str(sizes.large),
            )
            rows = {}
            for label in ("small", "large"):
                worker = _child("worker", *endpoint, "--task", world[label]["task_id"], "--dir", str(work))
                members = work / f"{label}.members.json"
                members.write_text(json.dumps(world[label]["images"]))
                baseline = _child("baseline", "--members", str(members), "--out", str(work / f"{label}.zip"))
                rows[label] = _row(label, world[label]["images"], worker, baseline)
    return BenchResult(sizes, rows["small"], rows["large"])


def render(result: BenchResult) -> str:
    head = (
        f"{'size':>6} {'images':>6} {'archive bytes':>14} {'worker peak RSS':>16} {'run growth':>11}"
        f" {'export MB/s':>12} {'zipfile MB/s':>13} {'ratio':>7}  archive"
    )
    lines = [head, "-" * len(head)]
    for row in (result.small, result.large):
        growth = (row.rss_peak_kib - row.rss_before_kib) * 1024 / MIB
        lines.append(
            f"{row.payload_bytes / MB:>4.0f}MB {row.images:>6} {row.archive_bytes:>14,}"
            f" {row.rss_peak_kib * 1024 / MIB:>12.1f} MiB {growth:>7.1f} MiB"
            f" {row.export_mbps:>12.1f} {row.zipfile_mbps:>13.1f} {row.ratio:>7.3f}"
            f"  {'verified' if row.verified else 'BAD: ' + '; '.join(row.problems)} ({row.members} members)"
        )
    lines.append("")
    lines.append(
        f"Worker peak RSS, large/small: {result.rss_ratio:.3f} (at most {RSS_LIMIT}: "
        f"{'PASS' if result.flat else 'FAIL'}); the runs' own growth, large/small: {result.growth_ratio:.2f}"
    )
    lines.append(
        f"Throughput, export / plain zipfile to local disk: {result.small.ratio:.3f} ({result.small.label}),"
        f" {result.large.ratio:.3f} ({result.large.label})"
    )
    lines.append(
        f"(plain zipfile's own peak RSS: {result.small.zipfile_rss_kib / 1024:.1f} MiB,"
        f" {result.large.zipfile_rss_kib / 1024:.1f} MiB)"
    )
    return "\n".join(lines)


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exports")
    parser.add_argument("--quick", action="store_true", help="5 and 20 images of 1 MB")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    tmp = tempfile.gettempdir()
    free = shutil.disk_usage(tmp).free
    needed = disk_needed(sizes)
    print(f"temp directory {tmp}: {free / 1e9:.1f} GB free, about {needed / 1e9:.1f} GB needed", flush=True)
    if free < needed:
        print("not enough temporary space", file=sys.stderr)
        return 1
    # Set, not inherited: a shell starting us in the background without job control makes us
    # inherit SIGINT ignored. Raised here, the clean-up (moto server, temp directory) runs.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    started = time.monotonic()
    result = measure(sizes, tmp)
    print(render(result))
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0 if result.verified else 1


# -- the children ---------------------------------------------------------------------------


def _aws(endpoint: str) -> None:
    from tests.support import environment

    environment.apply()
    os.environ["AWS_ENDPOINT_URL"] = endpoint


def _print_json(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def serve_moto() -> int:
    """moto's server app with the item-level transactions, on a free loopback port (printed), until stdin closes."""
    import logging
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from ops.local import moto_transactions

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_transactions.install()
    server = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    threading.Thread(target=server.serve_forever, name="moto-server", daemon=True).start()
    sys.stdout.write(f"port {server.server_port}\n")
    sys.stdout.flush()
    # The bench reads only that line: anything written later goes to the log, never into a pipe
    # nobody drains (a full pipe would block the server).
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdin.read()  # EOF: the bench closed it, or ended
    server.shutdown()
    return 0


def noise_png(side: int) -> bytes:
    """An image that does not compress: side x side random RGB pixels, stored uncompressed."""
    from PIL import Image

    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def setup(endpoint: str, directory: str, image_bytes: int, small: int, large: int) -> int:
    _aws(endpoint)
    import uuid

    import boto3

    from chalicelib.config import get_settings
    from chalicelib.schemas.common import iso, utcnow
    from chalicelib.schemas.enums import ShotStatus
    from chalicelib.schemas.products import ProductCreate
    from chalicelib.schemas.shootings import (
        RevisionImageInput,
        ShootingCreate,
        ShootingLookCreate,
        ShotCreate,
        ShotRevisionCreate,
        ShotUpdate,
    )
    from chalicelib.services.access import Caller
    from chalicelib.services.export_runs import OwnerAccess, resolve_items
    from chalicelib.services.products import ProductService
    from chalicelib.services.shootings import ShootingService
    from chalicelib.services.users import UserService
    from chalicelib.store.exports import ExportRepository
    from chalicelib.store.models import ExportTaskItem
    from chalicelib.store.products import ProductRepository
    from chalicelib.store.shootings import ShootingRepository
    from ops.local.resources import create_resources

    settings = get_settings()
    create_resources()
    caller = Caller(user=UserService().ensure_first_superuser())
    shootings = ShootingService()
    products = ProductService()
    side = int((image_bytes / 3) ** 0.5)
    shooting = shootings.create_shooting(caller, ShootingCreate(name="Export bench"), None)
    product_ids = []
    for p in range(large // small):
        product = products.create(
            caller,
            ProductCreate(name=f"Bench {p}", sku=f"BENCH-{p:03d}", cover_image="https://example.com/cover.jpg"),
            organization_id=None,
        )
        product_ids.append(product.id)
        look = shootings.create_look(caller, shooting.id, ShootingLookCreate.model_validate({"product_id": product.id}))
        for n in range(small):
            _, shot = shootings.add_shot(caller, look.id, ShotCreate(shot_type=f"view-{n}"))
            image = base64.b64encode(noise_png(side)).decode()
            shootings.add_revision(caller, shot["id"], ShotRevisionCreate(images=[RevisionImageInput(image=image)]))
            shootings.update_shot(caller, shot["id"], ShotUpdate(status=ShotStatus.APPROVED))

    s3 = boto3.client("s3", region_name=settings.aws_region)
    local = Path(directory)
    local.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    out: dict[str, Any] = {}
    for label, ids in (("small", product_ids[:1]), ("large", product_ids)):
        request = {"product_ids": ids}
        items, skipped = resolve_items(
            request, ProductRepository().batch_get(ids), ShootingRepository().looks_of_product, OwnerAccess(caller)
        )
        assert skipped == 0, skipped
        images = []
        for item in items:
            assert item.image_key, item
            if item.image_key not in paths:
                path = local / f"{len(paths):04d}.{item.image_key.rsplit('.', 1)[-1]}"
                s3.download_file(settings.images_bucket, item.image_key, str(path))
                paths[item.image_key] = str(path)
            images.append([item.file, paths[item.image_key]])
        now = iso(utcnow())
        task = ExportTaskItem(
            id=str(uuid.uuid4()),
            owner_id=caller.id,
            task_type="APPROVED_SHOTS",
            status="PENDING",
            request=request,
            created_at=now,
            updated_at=now,
        )
        ExportRepository().create(task)
        out[label] = {"task_id": task.id, "images": images}
    _print_json(out)
    return 0


def _max_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def worker(endpoint: str, task_id: str, directory: str) -> int:
    _aws(endpoint)
    import csv

    import boto3

    from chalicelib.config import get_settings
    from chalicelib.services.export_runs import MANIFEST, ExportRunner, archive_key

    runner = ExportRunner()
    assert runner.tasks.get(task_id) is not None  # the table's connection made, as the S3 client is
    before = _max_rss_kib()
    started = time.perf_counter()
    outcome = runner.run(task_id)
    seconds = time.perf_counter() - started
    peak = _max_rss_kib()

    # Checked after the measurement: a download of the archive, read back with zipfile.
    settings = get_settings()
    path = Path(directory) / f"export-{task_id}.zip"
    s3 = boto3.client("s3", region_name=settings.aws_region)
    s3.download_file(settings.exports_bucket, archive_key(task_id), str(path))
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = archive.namelist()
            rows = list(csv.DictReader(io.StringIO(archive.read(MANIFEST).decode())))
            manifest_ok = len(rows) == len(names) - 1
            for row in rows:
                digest = hashlib.sha256()
                with archive.open(row["file"]) as member:
                    for chunk in iter(lambda: member.read(MIB), b""):
                        digest.update(chunk)
                manifest_ok = manifest_ok and row["status"] == "ok" and row["image_checksum"] == digest.hexdigest()
        size = path.stat().st_size
    finally:
        path.unlink(missing_ok=True)
    _print_json(
        {
            "state": outcome.state,
            "seconds": seconds,
            "rss_before_kib": before,
            "rss_peak_kib": peak,
            "archive_bytes": size,
            "verify": {"testzip": bad, "names": names, "manifest_ok": manifest_ok},
        }
    )
    return 0


def baseline(members_file: str, out: str) -> int:
    """Plain zipfile: the same files, names and order, stored, into a local file; median of BASELINE_REPEAT."""
    members = json.loads(Path(members_file).read_text())
    times = []
    for _ in range(BASELINE_REPEAT):
        started = time.perf_counter()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, path in members:
                archive.write(path, name)
        times.append(time.perf_counter() - started)
        Path(out).unlink()
    _print_json({"seconds": statistics.median(times), "rss_peak_kib": _max_rss_kib()})
    return 0


def _dispatch(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exports")
    modes = parser.add_subparsers(dest="mode", required=True)
    modes.add_parser("serve-moto")
    one = modes.add_parser("setup")
    one.add_argument("--endpoint", required=True)
    one.add_argument("--dir", required=True)
    one.add_argument("--image-bytes", type=int, required=True)
    one.add_argument("--small", type=int, required=True)
    one.add_argument("--large", type=int, required=True)
    run = modes.add_parser("worker")
    run.add_argument("--endpoint", required=True)
    run.add_argument("--task", required=True)
    run.add_argument("--dir", required=True)
    base = modes.add_parser("baseline")
    base.add_argument("--members", required=True)
    base.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.mode == "serve-moto":
        return serve_moto()
    if args.mode == "setup":
        return setup(args.endpoint, args.dir, args.image_bytes, args.small, args.large)
    if args.mode == "worker":
        return worker(args.endpoint, args.task, args.dir)
    return baseline(args.members, args.out)


CHILD_MODES = ("serve-moto", "setup", "worker", "baseline")

if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit(_dispatch(argv) if argv and argv[0] in CHILD_MODES else main(argv))
