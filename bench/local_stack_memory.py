"""Resident memory of the local stack under product writes over HTTP.

Starts `python -m ops.cli local --no-demo` on free loopback ports, signs in as the
superuser, then runs N product writes from a bounded number of parallel clients (creates with a
small base64 PNG cover, updates, deletes), and prints the resident memory (VmRSS) of each
process of the stack at the start and after every `--every` writes; then stops the stack.
Prints measurements only, asserts nothing (the e2e tests do).

    python -m bench.local_stack_memory --writes 10000 --clients 8
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import requests

from tests.factories import png_b64
from tests.support.local_stack import LocalStack, command_name

PASSWORD = "bench-admin-password"


class Workload:
    """Writes shared by the clients: which products exist, what each answer was."""

    def __init__(self, base: str, headers: dict[str, str], writes: int, seed: int) -> None:
        self.base = base
        self.headers = headers
        self.writes = writes
        self.lock = threading.Lock()
        self.next = 0
        self.ids: list[str] = []
        self.statuses: Counter[str] = Counter()
        self.rng = random.Random(seed)
        self.done = threading.Condition(self.lock)
        self.completed = 0

    def claim(self) -> tuple[int, str, str | None] | None:
        """The next write to make: (number, kind, target product)."""
        with self.lock:
            if self.next >= self.writes:
                return None
            self.next += 1
            roll = self.rng.random()
            if len(self.ids) < 20 or roll < 0.6:
                return self.next, "create", None
            if roll < 0.85:
                return self.next, "update", self.rng.choice(self.ids)
            target = self.ids.pop(self.rng.randrange(len(self.ids)))
            return self.next, "delete", target

    def run(self, session: requests.Session, n: int, kind: str, target: str | None) -> None:
        if kind == "create":
            body = {
                "name": f"Bench {n}",
                "brand": f"Brand {n % 7}",
                "season": ["SS", "FW"][n % 2],
                "year": 2020 + n % 6,
                "cover_image": png_b64((n % 256, (n // 256) % 256, 128)),
            }
            r = session.post(f"{self.base}/products/", json=body, timeout=120)
        elif kind == "update":
            r = session.put(
                f"{self.base}/products/{target}", json={"colour": f"c{n}", "brand": f"Brand {n % 5}"}, timeout=120
            )
        else:
            r = session.delete(f"{self.base}/products/{target}", timeout=120)
        with self.lock:
            self.statuses[f"{kind} {r.status_code}"] += 1
            if kind == "create" and r.status_code == 200:
                self.ids.append(r.json()["id"])
            self.completed += 1
            self.done.notify_all()

    def client(self) -> None:
        with requests.Session() as session:
            session.headers.update(self.headers)
            while (work := self.claim()) is not None:
                self.run(session, *work)

    def wait_for(self, completed: int, clients: list[Future[None]]) -> None:
        with self.done:
            while not self.done.wait_for(lambda: self.completed >= completed, timeout=1.0):
                for client in clients:
                    if client.done():
                        client.result()  # a client that failed: raise its error here
                        if self.completed < completed and all(c.done() for c in clients):
                            raise RuntimeError(f"the clients stopped after {self.completed} writes")


def _mib(kib: int) -> str:
    return f"{kib / 1024:7.1f} MiB"


def report(stack: LocalStack, label: str, started: float, workload: Workload | None = None) -> None:
    rss = stack.rss()
    parts = [f"{_name(pid)} {_mib(kib)}" for pid, kib in sorted(rss.items())]
    line = f"{label:>14}: total {_mib(sum(rss.values()))} ({', '.join(parts)}), {time.monotonic() - started:6.0f} s"
    if workload is not None:
        with workload.lock:
            line += f", {len(workload.ids)} products, {dict(sorted(workload.statuses.items()))}"
    print(line, flush=True)


def _name(pid: int) -> str:
    command = command_name(pid)
    if "ops.cli" in command:
        return "stack+moto"
    if "ops.local.gateway" in command or "chalice" in command:
        return "chalice"
    return command.split(" ")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.local_stack_memory")
    parser.add_argument("--writes", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args(argv)

    stack = LocalStack(demo=False, env={"FIRST_SUPERUSER": "admin@example.com", "FIRST_SUPERUSER_PASSWORD": PASSWORD})
    started = time.monotonic()
    try:
        stack.start()
        report(stack, "start", started)
        login = requests.post(
            f"{stack.url}/login/access-token",
            data={"username": "admin@example.com", "password": PASSWORD},
            timeout=30,
        )
        login.raise_for_status()
        headers: dict[str, Any] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        workload = Workload(stack.url, headers, args.writes, args.seed)
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            futures = [pool.submit(workload.client) for _ in range(args.clients)]
            for mark in range(args.every, args.writes + 1, args.every):
                workload.wait_for(mark, futures)
                report(stack, f"{mark} writes", started, workload)
            for future in futures:
                future.result()
        return 0
    finally:
        status = stack.stop()
        print(f"stack stopped: exit status {status}, processes left: {stack.alive()}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
