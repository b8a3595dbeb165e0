"""Test set-up: moto for every AWS call, the table made from the PynamoDB models.

One moto per test process (tests/support/harness.py): the table and buckets are created once
and emptied before every test, with DynamoDB's item-level transactions patched in for the
whole session. Hypothesis profiles (tests/support/profiles.py): `ci` (the default) is
derandomized and bounded, `deep` (HYPOTHESIS_PROFILE=deep) runs several times the examples.
"""

from __future__ import annotations

from tests.support import environment

environment.apply()

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from chalice import Chalice

from tests.factories import Api
from tests.support import harness, profiles

profiles.register()


# The longest modules, longest first. `make test` hands whole files to two workers in collection
# order (pytest-xdist --dist loadfile --no-loadscope-reorder): starting these first keeps one
# worker from being left alone with a long file at the end.
LONGEST_FIRST = (
    "tests/api/test_openapi_fuzz.py",
    "tests/api/test_facets_state_machine.py",
    "tests/api/test_listing_property.py",
    "tests/api/test_tenancy.py",
    "tests/api/test_shootings.py",
    "tests/api/test_generations.py",
    "tests/api/test_facets_concurrency.py",
    "tests/e2e/test_stack_signals.py",
    "tests/api/test_catalog.py",
    "tests/e2e/test_local_stack.py",
    "tests/e2e/test_docs_page.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    # Stable: each module's tests stay together and in their order.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {profiles.current()} ({profiles.PROFILE_VARIABLE})"


@pytest.fixture(scope="session")
def _moto() -> Iterator[None]:
    harness.start()
    yield
    harness.stop()


@pytest.fixture(autouse=True)
def _fresh_data(request: pytest.FixtureRequest) -> None:
    """Every test but the e2e ones starts on an empty table and empty buckets."""
    if request.node.get_closest_marker("e2e") is not None:
        return
    request.getfixturevalue("_moto")
    from chalicelib.config import get_settings

    # Settings read now, from the test environment, before any request could read them
    # (chalice's test client patches the stage's environment in during a request).
    get_settings.cache_clear()
    get_settings()
    if not harness.held():
        harness.reset_data()


@pytest.fixture
def aws(_fresh_data: None) -> None:
    """moto with the table and buckets, empty (kept for tests that name it)."""


@pytest.fixture
def api(aws: None) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield Api(client)


class _ThreadLocalAttribute:
    """A per-thread instance attribute (a data descriptor wins over the instance __dict__)."""

    def __init__(self) -> None:
        self.local = threading.local()

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(self.local, "value", None)

    def __set__(self, obj: object, value: Any) -> None:
        self.local.value = value


@pytest.fixture
def threaded_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lets several threads share the `api` test client, as a deployed app's concurrent requests do.

    chalice's app object keeps the request being handled in one attribute (`current_request`),
    shared by every thread: it is made thread-local. chalice's test client swaps os.environ
    for a copy during each request; threads interleaving those swaps could leave a copy in
    place: monkeypatch puts the real one back. moto runs with item-level, locked operations for
    the whole session already (tests/support/harness.py).
    """
    monkeypatch.setattr(Chalice, "current_request", _ThreadLocalAttribute(), raising=False)
    monkeypatch.setattr(Chalice, "lambda_context", _ThreadLocalAttribute(), raising=False)
    monkeypatch.setattr(os, "environ", os.environ)
    assert harness.installed(), "concurrency tests need the locked, item-level moto"
    yield
