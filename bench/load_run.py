"""A bounded load run of the local stack: parallel clients over loopback, p50/p99 per kind, errors.

    .venv/bin/python -m bench.load_run [--repo PATH] [--python PATH] [--clients 8] [--seconds 90]
                                       [--products 1500] [--json PATH] [--timeout 1800]

1. Starts `python -m ops.cli local --no-demo` of `--repo` (default: this checkout) on free
   loopback ports, in a session of its own, its working directory the repo (so `-m ops.cli` is
   that checkout's code). The interpreter is `--python`, by default `<repo>/.venv/bin/python`
   when it exists, else the one running this script: an older checkout without a .venv of its
   own runs with this one's (right when both pin the same requirements.txt). Waits until the
   stack prints READY and its API answers a sign-in.
2. Signs in as the first superuser (set through FIRST_SUPERUSER / FIRST_SUPERUSER_PASSWORD in
   the stack's environment), creates a regular user (POST /users/), signs in as them, and seeds
   `--products` products in their scope through POST /products/ from 8 threads: varied names,
   skus, brands, seasons, years and types, a URL cover (stored as given: no fetch, no upload, no
   caption). Prints the seeding time.
3. Runs `--clients` threads for `--seconds` seconds, each with its own keep-alive session,
   looping over a weighted random mix (MIX): the default page (GET /products/?limit=20),
   a search (`search=` 2 to 4 letters typed from a seeded product's name, limit=20), one product
   (GET /products/{id}), a patch (PATCH /products/{id}: colour and description), and a facet
   (GET /brands/, /seasons/ or /years/). No client starts a request after the duration; those
   under way finish (at most REQUEST_TIMEOUT).
4. Prints per kind: requests, errors (a non-2xx answer or an exception, with the statuses seen),
   p50, p99 and max in ms (over the answers, whatever their status; an exception has no latency),
   the requests per second over the load phase, the ratio search p50 / default page p50, and the
   machine. `--json PATH` writes the same figures.
5. Always stops the stack: SIGINT to its process group (as Ctrl-C; it stops its own children),
   then SIGKILL to whatever is left of the process tree recorded while it ran. So on the end of
   the run, an error, Ctrl-C, SIGTERM or SIGHUP, and when `--timeout` (the whole run's bound)
   passes. On Linux the stack is also tied to this process (PR_SET_PDEATHSIG): killed with it.

Only loopback; asserts nothing; prints measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

# The local stack's process helpers, shared with the e2e tests (ports below the ephemeral range,
# the process tree from /proc).
from tests.support.local_stack import _stat, free_port, process_tree

ROOT = Path(__file__).resolve().parent.parent

# The mix: kind -> weight (need not sum to 1).
MIX: dict[str, float] = {"list": 0.30, "search": 0.15, "get": 0.25, "patch": 0.15, "facets": 0.15}
KINDS: tuple[str, ...] = tuple(MIX)
FACETS = ("brands", "seasons", "years")
PAGE = 20
REQUEST_TIMEOUT = 60.0
SEED_THREADS = 8
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "bench-load-admin-password"
USER_PASSWORD = "bench-load-user-password"
URL_COVER = "https://example.com/image.jpg"

ADJECTIVES = (
    "Relaxed", "Slim", "Oversized", "Cropped", "Classic", "Vintage", "Organic", "Tailored", "Boxy",
    "Ribbed", "Washed", "Quilted", "Pleated", "Striped", "Brushed", "Knitted",
)  # fmt: skip
COLOURS = (
    "Black", "White", "Navy", "Olive", "Sand", "Rust", "Ivory", "Charcoal", "Teal", "Burgundy",
    "Mustard", "Denim", "Lilac", "Coral",
)  # fmt: skip
MATERIALS = ("Linen", "Cotton", "Wool", "Silk", "Cashmere", "Jersey", "Corduroy", "Twill", "Poplin", "Fleece")
TYPES = ("Shirt", "T-Shirt", "Dress", "Jeans", "Jacket", "Coat", "Skirt", "Sweater", "Shorts", "Trousers", "Hoodie")
BRANDS = (
    "Acme", "Northwind", "Lumen", "Atelier Nord", "Kite & Co", "Vela", "Orbit", "Mareo", "Tessile",
    "Fjord", "Solace", "Brisa", "Halden", "Quarry",
)  # fmt: skip
SEASONS = ("SS", "FW", "Resort", "Pre-Fall", "Holiday")
YEARS = tuple(range(2017, 2027))
GENDERS = ("MALE", "FEMALE", "UNISEX")


# -- pure parts ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile `q` (0 < q <= 100) of `values`: the smallest value with at least
    q % of the values at or below it. None for no values."""
    if not values:
        return None
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is not in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


class Mix:
    """A weighted choice among kinds: `pick(roll)` for a roll in [0, 1) gives the kind whose share
    of the cumulated weights holds it."""

    def __init__(self, weights: dict[str, float]) -> None:
        if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"weights must be non-negative and not all zero: {weights}")
        total = sum(weights.values())
        self.kinds = [k for k, w in weights.items() if w > 0]
        self.bounds: list[float] = []
        running = 0.0
        for kind in self.kinds:
            running += weights[kind] / total
            self.bounds.append(running)

    def pick(self, roll: float) -> str:
        for kind, bound in zip(self.kinds, self.bounds, strict=True):
            if roll < bound:
                return kind
        return self.kinds[-1]  # a roll at the top, or rounding in the last bound


def search_term(name: str, rng: random.Random) -> str:
    """What someone types into the search box for `name`: the first 2 to 4 letters of one of its
    words (a word shorter than 2 letters is skipped when another exists), lower case."""
    words = [w for w in name.split() if len(w) >= 2] or [name]
    word = rng.choice(words)
    return word[: rng.randint(2, 4)].lower()


def product_body(n: int, rng: random.Random) -> dict[str, Any]:
    """The n-th seeded product: varied name, sku, brand, season, year, type, gender, URL cover."""
    kind = rng.choice(TYPES)
    colour = rng.choice(COLOURS)
    return {
        "name": f"{rng.choice(ADJECTIVES)} {colour} {rng.choice(MATERIALS)} {kind}",
        "sku": f"LR-{n:05d}-{rng.randrange(16**4):04X}",
        "brand": rng.choice(BRANDS),
        "season": rng.choice(SEASONS),
        "year": rng.choice(YEARS),
        "type": kind.lower(),
        "colour": colour.lower(),
        "gender": rng.choice(GENDERS),
        "cover_image": URL_COVER,
    }


@dataclass
class KindStats:
    """The answers of one kind: latencies (ms) of the answers, statuses seen (a status code, or
    an exception's class name), errors (non-2xx and exceptions)."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def record(self, status: int | str, ms: float | None) -> None:
        self.statuses[str(status)] += 1
        if ms is not None:
            self.latencies_ms.append(ms)
        if not (isinstance(status, int) and 200 <= status < 300):
            self.errors += 1

    def merge(self, other: KindStats) -> None:
        self.latencies_ms.extend(other.latencies_ms)
        self.statuses.update(other.statuses)
        self.errors += other.errors

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "statuses": dict(sorted(self.statuses.items())),
            "p50_ms": _round(percentile(self.latencies_ms, 50)),
            "p99_ms": _round(percentile(self.latencies_ms, 99)),
            "max_ms": _round(max(self.latencies_ms) if self.latencies_ms else None),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def merge_stats(per_client: Sequence[dict[str, KindStats]]) -> dict[str, KindStats]:
    merged = {kind: KindStats() for kind in KINDS}
    for stats in per_client:
        for kind, one in stats.items():
            merged.setdefault(kind, KindStats()).merge(one)
    return merged


def figures(
    stats: dict[str, KindStats], load_seconds: float, elapsed_seconds: float, meta: dict[str, Any]
) -> dict[str, Any]:
    """Everything the report prints, as JSON-able data."""
    everything = KindStats()
    for one in stats.values():
        everything.merge(one)
    kinds = {kind: one.summary() for kind, one in stats.items()}
    search, page = kinds.get("search", {}).get("p50_ms"), kinds.get("list", {}).get("p50_ms")
    return {
        **meta,
        "kinds": kinds,
        "all": everything.summary(),
        "load_seconds": round(load_seconds, 2),
        "elapsed_seconds": round(elapsed_seconds, 2),
        "requests_per_second": round(everything.requests / elapsed_seconds, 2) if elapsed_seconds > 0 else None,
        "search_p50_over_list_p50": round(search / page, 2) if search is not None and page else None,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def render(data: dict[str, Any]) -> str:
    """The report: a header (what ran, where), the seeding, a row per kind and one for all, the
    throughput and the search/page ratio."""
    machine, config, seeding = data["machine"], data["config"], data["seeding"]
    lines = [
        f"load run: {config['clients']} clients, {config['seconds']} s, {config['products']} products"
        f" (mix {', '.join(f'{k} {w:.0%}' for k, w in config['mix'].items())})",
        f"stack: {config['repo']} at {config['revision']}, python {config['python']}",
        f"machine: {machine['cpus']} CPUs, {machine['platform']}, python {machine['python']} (clients)",
        f"seeding: {seeding['created']} products in {seeding['seconds']:.1f} s"
        f" ({seeding['per_second']:.1f}/s, {seeding['threads']} threads), statuses {seeding['statuses']}",
        "",
        f"{'kind':<8} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses",
    ]
    rows = [*data["kinds"].items(), ("all", data["all"])]
    for kind, row in rows:
        statuses = ", ".join(f"{s}: {n}" for s, n in row["statuses"].items()) or "-"
        lines.append(
            f"{kind:<8} {row['requests']:>8} {row['errors']:>6} {_ms(row['p50_ms']):>8} {_ms(row['p99_ms']):>8}"
            f" {_ms(row['max_ms']):>8}  {statuses}"
        )
    rate = data["requests_per_second"]
    ratio = data["search_p50_over_list_p50"]
    lines += [
        "",
        f"throughput: {data['all']['requests']} requests in {data['elapsed_seconds']:.1f} s"
        f" ({data['load_seconds']:.1f} s of new requests, then those under way finished):"
        f" {'-' if rate is None else f'{rate:.2f}'} requests/s",
        f"search p50 / default page p50: {'-' if ratio is None else f'{ratio:.2f}'}",
    ]
    return "\n".join(lines)


# -- the stack -----------------------------------------------------------------------------------


# The stack's process asks the kernel to SIGKILL it when we die (PR_SET_PDEATHSIG, kept across
# exec), as ops/cli.py ties chalice to the stack; its own children die with it the same way.
_EXEC_TIED_TO_PARENT = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
if os.getppid() != int(sys.argv[1]):
    os._exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""


class Stack:
    """`python -m ops.cli local --no-demo` of a checkout, in a process group of its own."""

    def __init__(self, repo: Path, python: str) -> None:
        self.repo = repo
        self.python = python
        self.port = free_port()
        self.moto_port = free_port(exclude=frozenset({self.port}))
        self.proc: subprocess.Popen[str] | None = None
        self.lines: deque[str] = deque(maxlen=400)
        self.ready = threading.Event()
        self.tree: dict[int, int] = {}
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def output(self, last: int = 60) -> str:
        return "".join(list(self.lines)[-last:])

    def start(self, deadline: float) -> None:
        command = [self.python, "-m", "ops.cli", "local", "--no-demo", "--port", str(self.port)]
        command += ["--moto-port", str(self.moto_port)]
        if sys.platform.startswith("linux"):
            command = [self.python, "-c", _EXEC_TIED_TO_PARENT, str(os.getpid()), *command]
        # Nothing of ours leaks in: no AWS settings (a profile, the tests' fake ones), no PYTHONPATH
        # (the repo's own code, from its working directory, is what runs).
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
        env.update(FIRST_SUPERUSER=ADMIN_EMAIL, FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            command,
            cwd=self.repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # its own group: our Ctrl-C reaches only us, and we stop it
        )
        self._reader = threading.Thread(target=self._read, name="stack-output", daemon=True)
        self._reader.start()
        while not self.ready.wait(0.2):
            self.remember_tree()
            if self.proc.poll() is not None:
                raise RuntimeError(f"the local stack exited with {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not print READY in time:\n{self.output()}")
        self.remember_tree()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("READY"):
                self.ready.set()

    def remember_tree(self) -> None:
        if self.proc is not None:
            self.tree.update(process_tree(self.proc.pid))

    def alive(self) -> list[int]:
        return [pid for pid, start in self.tree.items() if (stat := _stat(pid)) is not None and stat[1] == start]

    def stop(self) -> int | None:
        """SIGINT to the stack's group, as Ctrl-C (it stops chalice, the pump and moto); after
        STOP_TIMEOUT SIGKILL to the group; then SIGKILL to every process left of its tree (chalice
        runs in a session of its own). The stack's exit status; None when it had to be killed."""
        if self.proc is None:
            return None
        self.remember_tree()
        status: int | None = None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                status = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            status = self.proc.returncode
        for pid in self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        return status


# -- the run -------------------------------------------------------------------------------------


class _Stop(BaseException):
    """SIGTERM or SIGHUP in the main thread: unwinds to the clean-up, as Ctrl-C does."""


def _login(session: requests.Session, base: str, email: str, password: str) -> str:
    r = session.post(
        f"{base}/login/access-token", data={"username": email, "password": password}, timeout=REQUEST_TIMEOUT
    )
    if r.status_code != 200:
        raise RuntimeError(f"sign-in of {email}: {r.status_code} {r.text[:300]}")
    token: str = r.json()["access_token"]
    return token


def sign_in(stack: Stack, deadline: float) -> str:
    """A regular user's token: the superuser (once the API answers) creates them, they sign in."""
    with requests.Session() as session:
        while True:
            try:
                admin = _login(session, stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)
                break
            except requests.RequestException:  # not listening yet; a refused sign-in is final
                if time.monotonic() > deadline or (stack.proc is not None and stack.proc.poll() is not None):
                    raise
                time.sleep(0.5)
        email = f"load-{os.getpid()}-{int(time.time())}@example.com"
        r = session.post(
            f"{stack.url}/users/",
            json={"email": email, "password": USER_PASSWORD, "is_superuser": False},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=REQUEST_TIMEOUT,
        )
        if r.status_code != 200:
            raise RuntimeError(f"creating the user: {r.status_code} {r.text[:300]}")
        return _login(session, stack.url, email, USER_PASSWORD)


@dataclass
class Seeded:
    ids: list[str]
    names: list[str]
    statuses: Counter[str]
    seconds: float


def seed(base: str, token: str, count: int, rng_seed: int) -> Seeded:
    """`count` products created through POST /products/ from SEED_THREADS threads."""
    rng = random.Random(rng_seed)
    bodies = [product_body(n, rng) for n in range(count)]
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def create(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            with lock:
                sessions.append(session)
        try:
            r = session.post(f"{base}/products/", json=body, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            return type(exc).__name__, None
        return str(r.status_code), (r.json() if r.status_code == 200 else None)

    started = time.monotonic()
    statuses: Counter[str] = Counter()
    ids: list[str] = []
    names: list[str] = []
    try:
        with ThreadPoolExecutor(max_workers=SEED_THREADS, thread_name_prefix="seed") as pool:
            for status, product in pool.map(create, bodies):
                statuses[status] += 1
                if product is not None:
                    ids.append(product["id"])
                    names.append(product["name"])
    finally:
        for session in sessions:
            session.close()
    return Seeded(ids, names, statuses, time.monotonic() - started)


def _params(**values: str | int) -> dict[str, str | int]:
    return values


class Client:
    """One client: its own session and random stream, its own stats (merged at the end)."""

    def __init__(self, base: str, token: str, seeded: Seeded, mix: Mix, rng: random.Random) -> None:
        self.base = base
        self.token = token
        self.seeded = seeded
        self.mix = mix
        self.rng = rng
        self.stats: dict[str, KindStats] = {kind: KindStats() for kind in KINDS}
        self.failure: BaseException | None = None

    def request(self, session: requests.Session, kind: str) -> requests.Response:
        rng = self.rng
        if kind == "list":
            return session.get(f"{self.base}/products/", params=_params(limit=PAGE), timeout=REQUEST_TIMEOUT)
        if kind == "search":
            term = search_term(rng.choice(self.seeded.names), rng)
            return session.get(
                f"{self.base}/products/", params=_params(search=term, limit=PAGE), timeout=REQUEST_TIMEOUT
            )
        if kind == "get":
            return session.get(f"{self.base}/products/{rng.choice(self.seeded.ids)}", timeout=REQUEST_TIMEOUT)
        if kind == "patch":
            body = {"colour": rng.choice(COLOURS).lower(), "description": f"Load run edit {rng.randrange(10**6)}"}
            return session.patch(
                f"{self.base}/products/{rng.choice(self.seeded.ids)}", json=body, timeout=REQUEST_TIMEOUT
            )
        if kind == "facets":
            return session.get(f"{self.base}/{rng.choice(FACETS)}/", timeout=REQUEST_TIMEOUT)
        raise ValueError(kind)

    def run(self, until: float, stop: threading.Event) -> None:
        try:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {self.token}"
                while time.monotonic() < until and not stop.is_set():
                    kind = self.mix.pick(self.rng.random())
                    started = time.perf_counter()
                    try:
                        r = self.request(session, kind)  # the whole body read: part of the latency
                    except requests.RequestException as exc:
                        self.stats[kind].record(type(exc).__name__, None)
                        continue
                    self.stats[kind].record(r.status_code, (time.perf_counter() - started) * 1000)
        except BaseException as exc:  # a bug of ours: reported by the main thread
            self.failure = exc


def run_load(
    base: str, token: str, seeded: Seeded, clients: int, seconds: float, rng_seed: int
) -> tuple[dict[str, KindStats], float, float]:
    """The clients for `seconds`; returns the merged stats, the seconds new requests were
    started for, and the seconds until the last client finished."""
    mix = Mix(MIX)
    stop = threading.Event()
    workers = [Client(base, token, seeded, mix, random.Random(rng_seed * 1000 + i)) for i in range(clients)]
    started = time.monotonic()
    until = started + seconds
    threads = [
        threading.Thread(target=w.run, args=(until, stop), name=f"client-{i}", daemon=True)
        for i, w in enumerate(workers)
    ]
    try:
        for thread in threads:
            thread.start()
        # Short waits: a signal in the main thread is handled between them.
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
    finally:
        stop.set()
    elapsed = time.monotonic() - started
    for worker in workers:
        if worker.failure is not None:
            raise RuntimeError("a client failed") from worker.failure
    return merge_stats([w.stats for w in workers]), min(seconds, elapsed), elapsed


def _revision(repo: Path) -> str:
    """The checkout's commit, and how many files differ from it (read only)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "?"
    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return f"{commit} + {len(changed)} changed files" if changed else commit


def _python_version(python: str) -> str:
    try:
        out = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return f"{out} ({python})"


def default_python(repo: Path) -> str:
    candidate = repo / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


@contextlib.contextmanager
def _signals_stop() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run as Ctrl-C does: through the clean-up."""

    def on_signal(signum: int, frame: Any) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Ctrl-C, and the watchdog's SIGINT, raise KeyboardInterrupt even when we were started with
    # SIGINT ignored (in the background by a shell without job control).
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watchdog(timeout: float, last_resort: Callable[[], object]) -> threading.Timer:
    """After `timeout`: SIGINT to ourselves (the clean-up runs); 60 s later, if we are still
    here, `last_resort` (kill the stack) and exit."""

    def fire() -> None:
        print(f"\nthe run's bound ({timeout:.0f} s) passed: stopping", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(60)
        last_resort()
        os._exit(3)

    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()
    return timer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_run", description="A bounded load run of the local stack."
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose local stack runs")
    parser.add_argument("--python", help="its interpreter (default: <repo>/.venv/bin/python, else this one)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--products", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=20261201, help="the random seed of products and mix")
    parser.add_argument("--timeout", type=float, default=1800.0, help="the whole run's bound, in seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.products < 1:
        parser.error("--clients, --seconds and --products must be positive")

    repo = args.repo.resolve()
    python = args.python or default_python(repo)
    run_started = time.monotonic()
    deadline = run_started + args.timeout
    stack = Stack(repo, python)
    watchdog = _watchdog(args.timeout, stack.stop)
    status: int | None = None
    try:
        with _signals_stop():
            print(f"starting the local stack of {repo} with {python} on 127.0.0.1:{stack.port}", flush=True)
            stack.start(min(deadline, time.monotonic() + START_TIMEOUT))
            token = sign_in(stack, min(deadline, time.monotonic() + START_TIMEOUT))
            ready = time.monotonic() - run_started
            print(f"stack ready in {ready:.1f} s; seeding {args.products} products", flush=True)
            seeded = seed(stack.url, token, args.products, args.seed)
            print(
                f"seeded {len(seeded.ids)} products in {seeded.seconds:.1f} s, statuses {dict(seeded.statuses)}",
                flush=True,
            )
            if not seeded.ids:
                raise RuntimeError(f"no product was created:\n{stack.output()}")
            print(f"load: {args.clients} clients for {args.seconds:.0f} s", flush=True)
            stats, load_seconds, elapsed = run_load(stack.url, token, seeded, args.clients, args.seconds, args.seed)
            meta = {
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                },
                "config": {
                    "repo": str(repo),
                    "revision": _revision(repo),
                    "python": _python_version(python),
                    "clients": args.clients,
                    "seconds": args.seconds,
                    "products": args.products,
                    "mix": MIX,
                    "facets": list(FACETS),
                    "page": PAGE,
                    "seed": args.seed,
                },
                "seeding": {
                    "created": len(seeded.ids),
                    "seconds": round(seeded.seconds, 2),
                    "per_second": round(len(seeded.ids) / seeded.seconds, 2) if seeded.seconds > 0 else 0.0,
                    "threads": SEED_THREADS,
                    "statuses": dict(seeded.statuses),
                },
            }
            data = figures(stats, load_seconds, elapsed, meta)
            print("\n" + render(data), flush=True)
            if args.json is not None:
                args.json.write_text(json.dumps(data, indent=2) + "\n")
                print(f"figures written to {args.json}", flush=True)
            return 0
    except (KeyboardInterrupt, _Stop) as exc:
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        print(f"\ninterrupted ({why}): stopping the stack", file=sys.stderr, flush=True)
        return 130
    finally:
        status = stack.stop()
        watchdog.cancel()
        left = stack.alive()
        print(
            f"stack stopped: exit status {status}, processes left: {left or 'none'},"
            f" run {time.monotonic() - run_started:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
