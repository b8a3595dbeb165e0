"""One moto per test process: the table and buckets made once, emptied before each test.

Starting moto and creating the table (six GSIs) for every test cost more than most tests do;
emptying it costs next to nothing. moto runs with the item-level transaction patch
(ops/local/moto_transactions.py) for the whole session, so every test, threaded or not,
sees DynamoDB's guarantees: atomic item operations and all-or-nothing transactions that do not
copy the table.

A test that starts its own `mock_aws()` inside this one gets a nested mock: moto does not reset
on a nested start or stop, so it sees the emptied table and buckets of the session, and
`create_resources()` finds them made.

Worlds built once per module: `snapshot()` copies the table's items after a module-scoped
fixture built them through the API, and `restore()` gives each test its own copy (tests may
write). `shared_world()` instead keeps what a module-scoped fixture builds until the fixture
ends (no test is given emptied data meanwhile): only for a module whose tests all read it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from moto import mock_aws

from ops.local import moto_transactions

if TYPE_CHECKING:
    from tests.factories import Api

W = TypeVar("W")

_mock: Any = None
_held = 0
_state_lock = threading.Lock()


def start() -> None:
    """Start moto (once per process), patch it, create the table and buckets."""
    global _mock
    with _state_lock:
        if _mock is not None:
            return
        from chalicelib.config import get_settings
        from ops.local.resources import create_resources

        # Settings read now, from the test environment, before any request could read them.
        get_settings.cache_clear()
        get_settings()
        mock = mock_aws()
        mock.start()
        moto_transactions.install()
        try:
            create_resources()
        except BaseException:
            moto_transactions.uninstall()
            mock.stop()
            raise
        _mock = mock


def stop() -> None:
    global _mock
    with _state_lock:
        if _mock is None:
            return
        moto_transactions.uninstall()
        _mock.stop()
        _mock = None


def held() -> bool:
    return _held > 0


def _forget_catalogues() -> None:
    """The process's catalogues describe the table as it was: a replaced table (emptied, or a
    world restored) is a new table, which no function instance would have seen before."""
    from chalicelib import wiring

    if wiring.listing.cache_info().currsize:
        wiring.listing().catalogues.forget()


def reset_data() -> None:
    """Empty the app's table, buckets and queues; drop every other table and bucket (what tests made)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    from chalicelib.config import get_settings

    settings = get_settings()
    keep_buckets = {settings.images_bucket, settings.exports_bucket}
    _forget_catalogues()
    with moto_transactions.LOCK:
        for account in list(dynamodb_backends):
            for backend in dynamodb_backends[account].values():
                moto_transactions.forget_tokens(backend)
                for name in list(backend.tables):
                    if name == settings.table_name:
                        backend.tables[name].items.clear()
                    else:
                        backend.delete_table(name)
        for account in list(sqs_backends):
            for backend in sqs_backends[account].values():
                for queue in backend.queues.values():
                    queue._messages = []
                    queue._pending_messages = set()
        for account in list(s3_backends):
            for backend in s3_backends[account].values():
                for name, bucket in list(backend.buckets.items()):
                    # Closes each object's buffer, as moto's own reset does.
                    for versions in dict.values(bucket.keys):
                        for key in versions:
                            if hasattr(key, "dispose"):
                                key.dispose()
                    bucket.keys.clear()
                    for part in bucket.multiparts.values():
                        part.dispose()
                    bucket.multiparts.clear()
                    if name not in keep_buckets:
                        backend.delete_bucket(name)


def _app_tables() -> list[Any]:
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.config import get_settings

    name = get_settings().table_name
    return [
        backend.tables[name]
        for account in list(dynamodb_backends)
        for backend in dynamodb_backends[account].values()
        if name in backend.tables
    ]


def snapshot() -> list[Any]:
    """A copy of the app table's items, for `restore()`: a world built once, given to each test anew.

    Only DynamoDB items are copied: a world to snapshot must have no S3 objects (its products
    link their images by URL).
    """
    from moto.s3.models import s3_backends

    with moto_transactions.LOCK:
        for account in list(s3_backends):
            for backend in s3_backends[account].values():
                for bucket in backend.buckets.values():
                    assert not bucket.keys, f"snapshot() copies no S3 objects, {bucket.name} has some"
        return [copy.deepcopy(table.items) for table in _app_tables()]


def build_through_api[W](build: Callable[[Api], W]) -> tuple[list[Any], W]:
    """A module's world built once through the API on an emptied table, and the items it left
    (for `restore` before each of the module's tests)."""
    from chalice.test import Client

    from app import app
    from tests.factories import Api

    reset_data()
    with Client(app) as client:
        built = build(Api(client))
    return snapshot(), built


def restore(items: list[Any]) -> None:
    """Empty everything, then put back the items of a `snapshot()` (copied again: tests may write)."""
    reset_data()
    with moto_transactions.LOCK:
        for table, saved in zip(_app_tables(), items, strict=True):
            table.items = copy.deepcopy(saved)


@contextmanager
def shared_world() -> Iterator[None]:
    """Empty the data once, then keep it (for a module-scoped fixture) until the block ends."""
    global _held
    start()
    reset_data()
    with _state_lock:
        _held += 1
    try:
        yield
    finally:
        with _state_lock:
            _held -= 1
        reset_data()


def installed() -> bool:
    """Whether moto runs with item-level, locked operations (it does for the whole session)."""
    return moto_transactions.installed()
