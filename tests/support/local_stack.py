"""`python -m ops.cli local` as a subprocess, for the e2e tests and the memory bench.

Its output is read by a thread for the whole life of the stack (a pipe nobody reads fills up
and blocks the writer), and `stop()` leaves no process behind: it signals the stack, waits,
then kills whatever is left of the process tree it recorded, even when the stack did not stop.
Only loopback addresses are used.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# Ports for the stacks of one test process: below Linux's ephemeral range (32768 and up, where
# the kernel's own picks and outgoing connections land), and a block of its own per pytest-xdist
# worker. A port the kernel hands out (bind to 0) may be the one another worker's stack has just
# released, and a test checking that its stopped stack no longer listens would find the other one.
PORTS_PER_WORKER = 2000
FIRST_PORT = 20000


def _port_block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    n = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    start = FIRST_PORT + (n % 6) * PORTS_PER_WORKER
    return range(start, start + PORTS_PER_WORKER)


def free_port(exclude: frozenset[int] = frozenset()) -> int:
    block = _port_block()
    for port in random.sample(block, len(block)):
        if port in exclude:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {block}")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a process, from /proc; None once it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])


def process_tree(root: int) -> dict[int, int]:
    """The live process `root` and its descendants: pid -> start time (pids are reused)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            children.setdefault(stat[0], []).append(int(entry))
            starts[int(entry)] = stat[1]
    tree: dict[int, int] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in starts and pid not in tree:
            tree[pid] = starts[pid]
            todo.extend(children.get(pid, []))
    return tree


def rss_kib(pid: int) -> int:
    """Resident memory of a process (VmRSS), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


class LocalStack:
    def __init__(self, *, demo: bool = True, env: dict[str, str] | None = None, sigint_ignored: bool = False) -> None:
        self.port = free_port()
        self.moto_port = free_port(exclude=frozenset({self.port}))
        self.demo = demo
        # As a shell without job control starts a background command: SIGINT ignored, which
        # Python then never turns into KeyboardInterrupt.
        self.sigint_ignored = sigint_ignored
        # No AWS settings of the caller's (the tests' fake ones, a developer's profile) leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(env or {})
        self.lines: deque[str] = deque(maxlen=5000)
        self.ready = threading.Event()
        self.proc: subprocess.Popen[str] | None = None
        self.tree: dict[int, int] = {}
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def header(self) -> str:
        found = [ln.strip() for ln in self.lines if ln.startswith("Authorization: Bearer ")]
        return found[0] if found else ""

    def output(self, last: int = 60) -> str:
        return "".join(list(self.lines)[-last:])

    def start(self, timeout: float = 120.0) -> None:
        command = [sys.executable, "-m", "ops.cli", "local", "--port", str(self.port)]
        command += ["--moto-port", str(self.moto_port)] + ([] if self.demo else ["--no-demo"])
        if self.sigint_ignored:
            command = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name="local-stack-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"local stack did not start:\n{self.output()}")
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

    def rss(self) -> dict[int, int]:
        """KiB resident per live process of the stack."""
        self.remember_tree()
        return {pid: rss_kib(pid) for pid in self.alive()}

    def alive(self) -> list[int]:
        return [pid for pid, start in self.tree.items() if (stat := _stat(pid)) is not None and stat[1] == start]

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int | None:
        """Signal the stack and wait for it; then kill every process of its tree still there.

        Returns the stack's exit status, or None when it had to be killed.
        """
        if self.proc is None:
            return None
        self.remember_tree()
        status: int | None = None
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            for pid in self.alive():
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if self.proc.poll() is None:
                self.proc.wait()
            if self._reader is not None:
                self._reader.join(timeout=5)
        return status


def stop_cleanly(stack: LocalStack) -> list[str]:
    """Stop the stack as Ctrl-C does (then kill what is left of its tree): what went wrong,
    empty when it exited 0 on SIGINT, left no process behind and freed both ports."""
    status = stack.stop()
    problems = []
    if status != 0:
        problems.append(f"the stack did not stop cleanly on SIGINT (status {status}):\n{stack.output()}")
    if left := stack.alive():
        problems.append(f"processes left behind: {left}")
    if listening(stack.port):
        problems.append("chalice local still listens after Ctrl-C")
    if listening(stack.moto_port):
        problems.append("the moto server still listens after Ctrl-C")
    return problems


@contextmanager
def running_stack(*, demo: bool = True, env: dict[str, str] | None = None) -> Iterator[LocalStack]:
    """A started stack for the block; then stopped as Ctrl-C does, and the block fails when it
    did not stop cleanly (see `stop_cleanly`)."""
    stack = LocalStack(demo=demo, env=env)
    try:
        stack.start()
        yield stack
    finally:
        problems = stop_cleanly(stack)
    assert not problems, "\n".join(problems)
