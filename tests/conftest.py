"""Test set-up: moto for every AWS call, the table made from the PynamoDB models."""

from __future__ import annotations

from tests.support import environment

environment.apply()

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.factories import Api


@pytest.fixture
def aws() -> Iterator[None]:
    from chalicelib.config import get_settings
    from chalicelib.local.resources import create_resources

    # Settings read now, from this module's environment, before any request could read them.
    get_settings.cache_clear()
    get_settings()
    with mock_aws():
        create_resources()
        yield


@pytest.fixture
def api(aws: None) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield Api(client)
