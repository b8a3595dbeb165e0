"""DynamoDB calls per request of a product's shot and look reads, as a look and a product grow.

Run: `cd /work/main && .venv/bin/python -m bench.shooting_reads [--quick]`

In-process on moto, as bench/dynamodb_calls.py (whose call counter, HTTP helper and environment
this uses): the table and buckets from `create_resources()`, the real Chalice app driven through
`chalice.test.Client`. Every world is built through the API: a user (made by UserService and
signed in, as the other benches do), a main product and two outfit products, a shooting, then
looks naming the outfit products, and shots with one revision each (a small base64 PNG) and a
push record on every third shot's revision.

Three series, each on a fresh moto, grown in place and measured at each size:

  (a) one look with 1, 10, 50 shots;
  (b) 1, 5, 20 looks of the main product, 3 shots each;
  (c) the outfit product of (b), named by 1, 5, 20 looks (its related-shooting-looks).

At each size, every read is made twice and the second (steady) request's DynamoDB calls, by
operation, and items read are kept. The claim under test: the calls of every read endpoint are
the same at every size (no call per look or per shot); items read may grow with the data.
Wall-clock times are printed for information, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.dynamodb_calls import (  # sets the test environment first
    URL_COVER,
    CallStats,
    DynamoDBCallCounter,
    Http,
    _table,
    create_user,
    png_b64,
)

SHOT_SIZES = (1, 10, 50)
LOOK_SIZES = (1, 5, 20)
SHOTS_PER_LOOK = 3
QUICK_SHOT_SIZES = (1, 3)
QUICK_LOOK_SIZES = (1, 3)
QUICK_SHOTS_PER_LOOK = 2
PUSH_EVERY = 3
OUTFIT_PRODUCTS = 2

SHOTS = "(a) shots in one look"
LOOKS = "(b) looks of the main product"
OUTFIT = "(c) looks naming an outfit product"

API = "/api/v1"
PRODUCT = "GET /products/{main}"
SHOTS_READ = "GET /products/{main}/shots"
LOOKS_READ = "GET /products/{main}/shooting-looks"
SUMMARY_READ = "GET /products/{main}/shooting-looks-summary"
RELATED_READ = "GET /products/{main}/related-shooting-looks"
LISTING = "GET /products/ (listing)"
OUTFIT_PRODUCT = "GET /products/{outfit}"
OUTFIT_RELATED = "GET /products/{outfit}/related-shooting-looks"

MAIN_READS: tuple[tuple[str, str], ...] = (
    (PRODUCT, "/products/{id}"),
    (SHOTS_READ, "/products/{id}/shots"),
    (LOOKS_READ, "/products/{id}/shooting-looks"),
    (SUMMARY_READ, "/products/{id}/shooting-looks-summary"),
    (RELATED_READ, "/products/{id}/related-shooting-looks"),
    (LISTING, "/products/"),
)
OUTFIT_READS: tuple[tuple[str, str], ...] = (
    (OUTFIT_PRODUCT, "/products/{id}"),
    (OUTFIT_RELATED, "/products/{id}/related-shooting-looks"),
)


# -- results -------------------------------------------------------------------------------


@dataclass
class Sample:
    """One read at one size: the steady (second) request's stats, and the first one's."""

    series: str
    size: int
    endpoint: str
    stats: CallStats
    cold: CallStats
    returned: int
    response_bytes: int
    seconds: float


@dataclass
class BenchResult:
    samples: list[Sample]
    seconds: dict[str, float]
    totals: CallStats
    shots_per_look: int = SHOTS_PER_LOOK
    push_records: int = 0

    def rows(self) -> dict[tuple[str, str], dict[int, Sample]]:
        """(series, endpoint) → size → sample, in the order measured."""
        rows: dict[tuple[str, str], dict[int, Sample]] = {}
        for sample in self.samples:
            rows.setdefault((sample.series, sample.endpoint), {})[sample.size] = sample
        return rows

    def calls(self, series: str, endpoint: str) -> dict[int, Counter[str]]:
        """Size → the steady request's calls by operation."""
        return {size: s.stats.calls for size, s in self.rows()[(series, endpoint)].items()}

    def varying(self) -> list[tuple[str, str]]:
        """The (series, endpoint) rows whose calls by operation differ between sizes."""
        out = []
        for key, by_size in self.rows().items():
            first = next(iter(by_size.values())).stats.calls
            if any(s.stats.calls != first for s in by_size.values()):
                out.append(key)
        return out

    @property
    def constant(self) -> bool:
        return not self.varying()

    @property
    def max_calls(self) -> int:
        return max((s.stats.total_calls for s in self.samples), default=0)

    @property
    def scans(self) -> int:
        return self.totals.calls["Scan"]


# -- building worlds through the API -------------------------------------------------------


class World:
    """A main product, its outfit products and a shooting, grown look by look, shot by shot."""

    def __init__(self, http: Http, label: str) -> None:
        self.http = http
        self.png = png_b64()
        self.main = self._product(f"{label} main", "SKU-MAIN")
        self.outfits = [self._product(f"{label} outfit {i}", f"SKU-OUT-{i}") for i in range(OUTFIT_PRODUCTS)]
        self.shooting = str(http.request("POST", f"{API}/shootings/", {"name": f"{label} shooting"})["id"])
        self.looks: list[str] = []
        self.shots: dict[str, int] = {}
        self.push_records = 0

    def _product(self, name: str, sku: str) -> str:
        body = {"name": name, "sku": sku, "brand": "Bench Brand", "cover_image": URL_COVER}
        return str(self.http.request("POST", f"{API}/products/", body)["id"])

    def add_look(self) -> str:
        body = {"product_id": self.main, "outfit_product_ids": self.outfits, "outfit_instruction": "as shot"}
        look = str(self.http.request("POST", f"{API}/shootings/{self.shooting}/looks", body)["id"])
        self.looks.append(look)
        self.shots[look] = 0
        return look

    def add_shot(self, look: str) -> None:
        n = self.shots[look]
        shot = self.http.request("POST", f"{API}/shooting-looks/{look}/shots", {"shot_type": f"pose-{n}"})
        shot_id = str(shot["id"])
        body = {"images": [{"image": self.png}], "notes": f"take {n}"}
        revision = self.http.request("POST", f"{API}/shots/{shot_id}/revisions", body)
        if n % PUSH_EVERY == 0:
            push = {"integration_id": str(uuid.uuid4())}
            self.http.request("POST", f"{API}/shots/{shot_id}/revisions/{revision['id']}/push-records", push)
            self.push_records += 1
        self.shots[look] = n + 1

    def grow_look(self, look: str, shots: int) -> None:
        while self.shots[look] < shots:
            self.add_shot(look)


def _measure(
    counter: DynamoDBCallCounter,
    http: Http,
    series: str,
    size: int,
    reads: Sequence[tuple[str, str]],
    product_id: str,
) -> list[Sample]:
    samples = []
    headers = {"Authorization": f"Bearer {http.token}"}
    for label, template in reads:
        path = API + template.format(id=product_id)
        with counter.measure() as cold:
            http.request("GET", path)
        start = time.perf_counter()
        with counter.measure() as steady:
            response = http.client.http.request("GET", path, headers=headers, body=b"")
        seconds = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.body[:300]!r}")
        payload = json.loads(response.body)
        returned = len(payload["data"]) if "data" in payload else 1
        samples.append(Sample(series, size, label, steady, cold, returned, len(response.body), seconds))
    return samples


def _in_fresh_moto(counter: DynamoDBCallCounter, build: Callable[[Http], list[Sample]]) -> list[Sample]:
    """Run `build` against a fresh moto and app client, the counter installed throughout."""
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from ops.local.resources import create_resources

    with mock_aws():
        create_resources()
        counter.install()
        try:
            with Client(app) as client:
                _, token = create_user(f"shootings-{uuid.uuid4().hex[:6]}")
                return build(Http(client, token))
        finally:
            counter.uninstall()


def run(
    shot_sizes: Sequence[int] = SHOT_SIZES,
    look_sizes: Sequence[int] = LOOK_SIZES,
    shots_per_look: int = SHOTS_PER_LOOK,
) -> BenchResult:
    """Both worlds, each on a fresh moto; an empty size list skips its series."""
    counter = DynamoDBCallCounter()
    samples: list[Sample] = []
    seconds: dict[str, float] = {}
    pushes: list[int] = []

    def shots_series(http: Http) -> list[Sample]:
        world = World(http, "shots")
        look = world.add_look()
        out: list[Sample] = []
        for size in sorted(shot_sizes):
            start = time.perf_counter()
            world.grow_look(look, size)
            seconds[f"build (a) to {size} shots"] = time.perf_counter() - start
            out += _measure(counter, http, SHOTS, size, MAIN_READS, world.main)
        pushes.append(world.push_records)
        return out

    def looks_series(http: Http) -> list[Sample]:
        world = World(http, "looks")
        out: list[Sample] = []
        for size in sorted(look_sizes):
            start = time.perf_counter()
            while len(world.looks) < size:
                world.grow_look(world.add_look(), shots_per_look)
            seconds[f"build (b) to {size} looks"] = time.perf_counter() - start
            out += _measure(counter, http, LOOKS, size, MAIN_READS, world.main)
            out += _measure(counter, http, OUTFIT, size, OUTFIT_READS, world.outfits[0])
        pushes.append(world.push_records)
        return out

    if shot_sizes:
        samples += _in_fresh_moto(counter, shots_series)
    if look_sizes:
        samples += _in_fresh_moto(counter, looks_series)
    return BenchResult(samples, seconds, counter.totals, shots_per_look, sum(pushes))


# -- printing ------------------------------------------------------------------------------


def _ops(calls: Counter[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items())) or "none"


def _unit(series: str, size: int) -> str:
    if series == SHOTS:
        return f"{size} shot{'s' if size != 1 else ''}"
    return f"{size} look{'s' if size != 1 else ''}"


def render(result: BenchResult) -> str:
    lines: list[str] = [
        f"Worlds built through the API: a main product, {OUTFIT_PRODUCTS} outfit products named by every look, "
        f"{result.shots_per_look} shots a look in (b) and (c), one revision (base64 PNG) a shot, "
        f"{result.push_records} push records in all (on the 1st shot of a look and every {PUSH_EVERY}rd after)",
        "",
    ]
    rows = result.rows()
    varying = set(result.varying())
    for series in (SHOTS, LOOKS, OUTFIT):
        keys = [key for key in rows if key[0] == series]
        if not keys:
            continue
        sizes = sorted({size for key in keys for size in rows[key]})
        lines.append(f"{series}: DynamoDB calls per request (items read), steady state")
        headers = ["endpoint", *[_unit(series, size) for size in sizes], "constant", "calls by operation"]
        table = []
        for key in keys:
            by_size = rows[key]
            cells = [
                f"{by_size[s].stats.total_calls} ({by_size[s].stats.total_read})" if s in by_size else "-"
                for s in sizes
            ]
            last = by_size[max(by_size)]
            ops = (
                _ops(last.stats.calls)
                if key not in varying
                else " | ".join(f"{_unit(series, s)}: {_ops(by_size[s].stats.calls)}" for s in sorted(by_size))
            )
            table.append([key[1], *cells, "NO" if key in varying else "yes", ops])
        lines += _table(headers, table)
        returned = ", ".join(
            f"{_unit(series, s)} {rows[(series, SHOTS_READ)][s].returned}"
            for s in sizes
            if (series, SHOTS_READ) in rows and s in rows[(series, SHOTS_READ)]
        )
        if returned:
            lines.append(f"  shots returned by {SHOTS_READ}: {returned}")
        cold = [(key, s) for key in keys for s, sample in rows[key].items() if sample.cold.calls != sample.stats.calls]
        for key, s in cold:
            lines.append(f"  first request differs: {key[1]} at {_unit(series, s)}: {_ops(rows[key][s].cold.calls)}")
        slowest = max((sample for key in keys for sample in rows[key].values()), key=lambda x: x.seconds)
        lines.append(
            f"  slowest steady request: {slowest.endpoint} at {_unit(series, slowest.size)}, "
            f"{slowest.seconds * 1000:.0f} ms, {slowest.response_bytes / 1024:.0f} KiB (informational)"
        )
        lines.append("")
    lines.append(f"Scan calls during the whole run: {result.scans} (must be 0)")
    if result.constant:
        lines.append(
            f"Call counts constant across sizes for every endpoint: YES (at most {result.max_calls} calls a request)"
        )
    else:
        names = ", ".join(f"{endpoint} [{series}]" for series, endpoint in result.varying())
        lines.append(f"Call counts constant across sizes for every endpoint: NO ({names})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shooting_reads", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run: 1 and 3 shots, 1 and 3 looks")
    args = parser.parse_args(argv)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run(QUICK_SHOT_SIZES, QUICK_LOOK_SIZES, QUICK_SHOTS_PER_LOOK) if args.quick else run()
    print(render(result))
    phases = ", ".join(f"{name} {s:.1f}s" for name, s in result.seconds.items())
    print(
        f"Runtime: {time.perf_counter() - start:.1f}s wall, {time.process_time() - cpu_start:.1f}s CPU "
        f"(building: {phases}); informational only, nothing is timed or asserted"
    )
    return 0 if result.constant and not result.scans else 1


if __name__ == "__main__":
    sys.exit(main())
