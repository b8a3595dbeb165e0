"""The process environment of tests and benches: fake AWS credentials for moto, test names."""

from __future__ import annotations

import os

TEST_ENVIRONMENT = {
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
    # As a deployed stage does (the template sets them): the code sends to URLs, never looks
    # queues up by name (sqs:GetQueueUrl, which no policy grants). moto's URLs, account and region.
    **{
        variable: f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"
        for variable, name in (
            ("CAPTION_QUEUE_URL", "sartiq-products-captions"),
            ("EXPORT_QUEUE_URL", "sartiq-products-exports"),
            ("MEDIA_DLQ_URL", "sartiq-products-media-dlq"),
            ("CAPTION_DLQ_URL", "sartiq-products-captions-dlq"),
            ("EXPORT_DLQ_URL", "sartiq-products-exports-dlq"),
        )
    },
    # Cheap password hashing: tests create many users; production keeps the defaults.
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST_KIB": "8",
    "ARGON2_PARALLELISM": "1",
}


def apply() -> None:
    """Set before anything reads settings or credentials (i.e. before importing the app)."""
    os.environ.update(TEST_ENVIRONMENT)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("MEDIA_BASE_URL", None)
