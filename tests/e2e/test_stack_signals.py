"""Stopping the local stack stops every process it started, whatever the signal.

SIGINT (Ctrl-C, also when the stack inherited SIGINT ignored, as a background command of a
shell without job control does), SIGTERM and SIGHUP stop it cleanly; when the stack itself is
SIGKILLed, its chalice local child dies with it (the kernel's parent-death signal). Output
nobody reads never blocks it.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from ops.cli import _Console
from tests.support.local_stack import LocalStack, listening, process_tree

pytestmark = pytest.mark.e2e


def gone(stack: LocalStack, timeout: float = 20.0) -> list[int]:
    """The stack's recorded processes still alive after `timeout` (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    while (left := stack.alive()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize(
    ("sig", "sigint_ignored"),
    [
        (signal.SIGINT, False),
        (signal.SIGINT, True),
        (signal.SIGTERM, False),
        (signal.SIGHUP, False),
        (signal.SIGKILL, False),
    ],
    ids=["SIGINT", "SIGINT-inherited-ignored", "SIGTERM", "SIGHUP", "SIGKILL"],
)
def test_signal_stops_every_process(sig: signal.Signals, sigint_ignored: bool) -> None:
    stack = LocalStack(demo=False, sigint_ignored=sigint_ignored)
    try:
        stack.start()
        assert stack.proc is not None
        tree = process_tree(stack.proc.pid)
        assert len(tree) >= 2, f"expected the stack and chalice local: {tree}"
        stack.proc.send_signal(sig)
        status = stack.proc.wait(timeout=30)
        left = gone(stack)
    finally:
        stack.stop()
    assert not left, f"{sig.name}: processes left behind: {left}"
    if sig != signal.SIGKILL:
        assert status == 0, f"{sig.name}: exit status {status}\n{stack.output()}"
        assert "local stack stopped" in stack.output(), stack.output()
    assert not listening(stack.port), f"{sig.name}: chalice local still listens"
    assert not listening(stack.moto_port), f"{sig.name}: the moto server still listens"


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def writer_stuck(console: _Console, write_end: int) -> bool:
    """The console's writer holds a line (taken off the queue, not done) and the pipe takes no more.

    Pipe pages hold 40 of the chatty child's 101-byte lines with 56 bytes to spare, so with every
    page in use (no POLLOUT) the held line cannot be written until somebody reads.
    """
    holding = console.lines.unfinished_tasks == console.lines.qsize() + 1
    writable = select.poll()
    writable.register(write_end, select.POLLOUT)
    return holding and not writable.poll(0)


def test_output_nobody_reads_never_blocks_the_stack() -> None:
    """chalice's request log goes through the stack's console: with stdout a pipe nobody reads
    (as the e2e fixture once left it after READY), chalice still writes all it wants."""
    read_end, write_end = os.pipe()
    console = _Console(limit=1000, fd=write_end)
    try:
        chatty = subprocess.Popen(
            [sys.executable, "-c", "for _ in range(20_000): print('x' * 100)"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert chatty.stdout is not None
        pump = console.forward(chatty.stdout)
        # 2 MB, far beyond a pipe's 64 KiB: the writer would block if anything waited on stdout.
        assert chatty.wait(timeout=30) == 0
        pump.join(timeout=10)
        assert not pump.is_alive()
        assert console.dropped > 0
        # The writer takes lines off the queue until the pipe is full; only then is it stuck, holding
        # one line it cannot write. Wait for that state, then fill the queue: it stays full.
        wait_until(lambda: writer_stuck(console, write_end), timeout=10)
        while not console.lines.full():
            console.put("filler\n")
        # The queue is full and its writer waits on the pipe: another line is dropped, not waited for.
        dropped = console.dropped
        console.put("one more line\n")
        assert console.dropped == dropped + 1
    finally:
        # The reader goes first: the console's writes fail (EPIPE) and it empties its queue, so
        # its thread never writes to the number once the write end is closed and reused.
        os.close(read_end)
        console.drain(timeout=10)
        os.close(write_end)
