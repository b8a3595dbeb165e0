"""Test set-up: moto for every AWS call, the table made from the PynamoDB models.

One moto per test process (tests/support/harness.py): the table and buckets are created once
and emptied before every test, with DynamoDB's item-level transactions patched in for the
whole session. Hypothesis profiles (tests/support/profiles.py): `ci` (the default) is
derandomized and bounded, `deep` (HYPOTHESIS_PROFILE=deep) runs several times the examples.
"""

from __future__ import annotations

from tests.support import aws_calls, environment

environment.apply()
# Before any client is made: every AWS call of the session is recorded under its function.
aws_calls.install()

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from chalice import Chalice

from tests.factories import Api
from tests.support import harness, profiles

profiles.register()


def _attribute_calls_to_functions() -> None:
    """Requests run as the API handler, each worker's `handle` as its function (app.py's names)."""
    from chalice.app import Request, Response

    from app import app
    from chalicelib import queues
    from chalicelib.workers import captions, dead_letters, exports, media

    def api_handler(event: Request, get_response: Any) -> Response:
        with aws_calls.acting_as("api_handler"):
            response: Response = get_response(event)
            return response

    app.register_middleware(api_handler, "http")
    for module, function in (
        (media, queues.MEDIA_HANDLER),
        (captions, queues.CAPTION_HANDLER),
        (exports, queues.EXPORT_HANDLER),
        (dead_letters, queues.SWEEPER_HANDLER),
    ):
        module.handle = aws_calls.as_function(function, module.handle)  # type: ignore[method-assign]
    # The services only a worker's `handle` runs, which many tests drive directly. Not those a
    # worker shares (give_up: the sweeper's too; ExportService.cleanup: the API's too).
    from chalicelib.services.captions import CaptionService
    from chalicelib.services.dead_letters import DeadLetterSweeper
    from chalicelib.services.export_runs import ExportRunner
    from chalicelib.services.ingest import MediaIngest

    for cls, method, function in (
        (MediaIngest, "ingest", queues.MEDIA_HANDLER),
        (CaptionService, "process", queues.CAPTION_HANDLER),
        (ExportRunner, "run", queues.EXPORT_HANDLER),
        (DeadLetterSweeper, "sweep", queues.SWEEPER_HANDLER),
    ):
        setattr(cls, method, aws_calls.as_function(function, getattr(cls, method)))


_attribute_calls_to_functions()


def _whole_suite(config: pytest.Config) -> bool:
    """The run `make test` makes: every test of `testpaths`, none deselected. Only such a run
    replaces the recorded AWS calls (the policy check needs all of them): one file run meanwhile
    leaves them as they are."""
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and not config.option.markexpr
        and not config.getoption("lf", False)
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    # The controller (or a run without workers) empties the record; the workers then write theirs.
    if _whole_suite(session.config) and not hasattr(session.config, "workerinput"):
        shutil.rmtree(aws_calls.OUTPUT, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _whole_suite(session.config):
        aws_calls.write(os.environ.get("PYTEST_XDIST_WORKER", "main"))


# The longest modules, longest first. `make test` hands whole files to two workers in collection
# order (pytest-xdist --dist loadfile --no-loadscope-reorder): starting these first keeps one
# worker from being left alone with a long file at the end.
LONGEST_FIRST = (
    "tests/api/test_openapi_fuzz.py",
    "tests/api/test_tenancy_matrix.py",
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
