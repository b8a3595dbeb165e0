"""Run a request on a shallow Python stack.

CPython 3.11 keeps frames in 16 KiB data-stack chunks and unmaps a chunk as soon as the stack
pops back below it. Deep under pytest (and chalice, botocore, moto), moto's recursive parsing,
serializing and copying keep crossing such a boundary: the test process mapped and unmapped a
chunk a million times in a dozen tenancy tests, a quarter of the suite's CPU spent in the
kernel. A request run from the bottom of a worker thread's stack crosses no boundary in its hot
recursion. Calls from other threads (the concurrency tests' own) run where they are, so
concurrent requests stay concurrent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_worker: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def shallow[**P, T](fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    global _worker
    if threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    with _lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shallow-stack")
    return _worker.submit(fn, *args, **kwargs).result()
