"""Test set-up: moto for every AWS call, the table made from the PynamoDB models."""

from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "test-products",
        "IMAGES_BUCKET": "test-images",
        "EXPORTS_BUCKET": "test-exports",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "FIRST_SUPERUSER": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": "admin-password-123",
        # Cheap password hashing: the tests create many users; production keeps the defaults.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
        "ARGON2_PARALLELISM": "1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("MEDIA_BASE_URL", None)

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
