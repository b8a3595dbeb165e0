"""Settings are checked when first read: a deployed stage names every variable it lacks, and an
invalid value is reported by its variable's name, not as pydantic's dump."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.config import REQUIRED_WHEN_DEPLOYED, Settings, SettingsError, get_settings
from tests.unit.test_template_checks import TEMPLATE

# What the template gives a deployed function (tests/unit/test_infra.py resolves the real one).
DEPLOYED = {
    "ENVIRONMENT": "prod",
    "TABLE_NAME": "sartiq-products-prod",
    "IMAGES_BUCKET": "sartiq-products-images-prod",
    "EXPORTS_BUCKET": "sartiq-products-exports-prod",
    "SIGNING_KEYS_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sartiq-products/prod-AbCdEf",
    "MEDIA_BASE_URL": "https://d111111abcdef8.cloudfront.net",
    "CAPTION_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sartiq-products-captions",
    "EXPORT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sartiq-products-exports",
    "MEDIA_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sartiq-products-media-dlq",
    "CAPTION_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sartiq-products-captions-dlq",
    "EXPORT_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sartiq-products-exports-dlq",
}
REQUIRED = [field.upper() for field in REQUIRED_WHEN_DEPLOYED]
DEVELOPMENT_SECRET = Settings.model_fields["secret_key"].default.get_secret_value()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No setting in the environment (AWS credentials and region stay); settings read anew, and
    again by the next test."""
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _deployed(env: pytest.MonkeyPatch, **overrides: str | None) -> None:
    for name, value in {**DEPLOYED, **overrides}.items():
        if value is None:
            env.delenv(name, raising=False)
        else:
            env.setenv(name, value)


def _failure(env: pytest.MonkeyPatch) -> str:
    with pytest.raises(SettingsError) as failed:
        get_settings()
    # One message of ours: pydantic's dump (which echoes values) is not even the cause.
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    message = str(failed.value)
    assert "validation error" not in message and "errors.pydantic.dev" not in message
    return message


def test_the_template_sets_every_required_variable_on_every_function() -> None:
    assert {"TABLE_NAME", "IMAGES_BUCKET", "EXPORTS_BUCKET", "SIGNING_KEYS_SECRET_ARN", "MEDIA_BASE_URL"} <= set(
        REQUIRED
    )
    assert "SECRET_KEY" not in REQUIRED
    assert {"CAPTION_QUEUE_URL", "EXPORT_QUEUE_URL"} <= set(REQUIRED)
    functions = {
        logical_id: resource["Properties"]["Environment"]["Variables"]
        for logical_id, resource in TEMPLATE.items()
        if "Environment" in resource.get("Properties", {})
    }
    assert {"APIHandler", "MediaIngest", "CaptionWorker", "ExportWorker"} <= set(functions)
    for function, variables in functions.items():
        missing = sorted(set(REQUIRED) - set(variables))
        assert not missing, f"{function} would refuse to start without {missing}"


def test_a_deployed_stage_with_everything_starts(env: pytest.MonkeyPatch) -> None:
    _deployed(env)
    settings = get_settings()
    assert settings.deployed
    assert settings.table_name == "sartiq-products-prod"
    # Images are addressed through the CDN, and its URLs are recognised as ours.
    url = settings.media_url(f"products/p/{'m' * 8}.jpg")
    assert url == f"https://d111111abcdef8.cloudfront.net/products/p/{'m' * 8}.jpg"
    assert settings.media_key_from_url(url) == f"products/p/{'m' * 8}.jpg"


def test_missing_variables_are_named_in_one_message(env: pytest.MonkeyPatch) -> None:
    _deployed(env, TABLE_NAME=None, MEDIA_BASE_URL=None)
    assert _failure(env) == "Missing required environment variable(s): TABLE_NAME, MEDIA_BASE_URL (stage prod)"


def test_every_missing_variable_is_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("ENVIRONMENT", "prod")
    assert _failure(env) == f"Missing required environment variable(s): {', '.join(REQUIRED)} (stage prod)"


def test_an_empty_variable_is_missing(env: pytest.MonkeyPatch) -> None:
    _deployed(env, EXPORT_QUEUE_URL="", IMAGES_BUCKET="  ")
    assert _failure(env) == "Missing required environment variable(s): IMAGES_BUCKET, EXPORT_QUEUE_URL (stage prod)"


def test_a_failure_is_not_cached(env: pytest.MonkeyPatch) -> None:
    # Every invocation fails the same way until the environment is fixed, then reads it.
    _deployed(env, SIGNING_KEYS_SECRET_ARN=None)
    assert "SIGNING_KEYS_SECRET_ARN" in _failure(env)
    assert "SIGNING_KEYS_SECRET_ARN" in _failure(env)
    _deployed(env)
    assert get_settings().signing_keys_secret_arn == DEPLOYED["SIGNING_KEYS_SECRET_ARN"]


@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_deployed_stage_names_the_missing_signing_keys_secret(env: pytest.MonkeyPatch, value: str | None) -> None:
    _deployed(env, SIGNING_KEYS_SECRET_ARN=value)
    assert _failure(env) == "Missing required environment variable(s): SIGNING_KEYS_SECRET_ARN (stage prod)"


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET, "a-deployed-secret-that-is-long-enough-for-hs256"])
def test_a_deployed_stage_refuses_any_secret_key(env: pytest.MonkeyPatch, secret: str) -> None:
    # Its keys come from the secret: a SECRET_KEY would be a plaintext key in the function's
    # configuration that nothing uses, the development value included.
    _deployed(env, SECRET_KEY=secret)
    message = _failure(env)
    assert message.startswith("SECRET_KEY must not be set on a deployed stage")
    assert "SIGNING_KEYS_SECRET_ARN" in message and message.endswith("(stage prod)")
    assert secret not in message


@pytest.mark.parametrize(("algorithm", "length", "minimum"), [("HS256", 31, 32), ("HS384", 47, 48), ("HS512", 63, 64)])
def test_a_short_secret_key_is_refused_without_its_value(
    env: pytest.MonkeyPatch, algorithm: str, length: int, minimum: int
) -> None:
    # RFC 7518 3.2: an HMAC key at least as long as the hash's output.
    key = "k" * (length - 4) + "\N{EURO SIGN}z"  # bytes are counted, not characters
    assert len(key.encode()) == length
    env.setenv("JWT_ALGORITHM", algorithm)
    env.setenv("SECRET_KEY", key)
    message = _failure(env)
    assert message == (
        f"Invalid environment variable(s): SECRET_KEY: a signing key must be at least {minimum} bytes "
        f"for {algorithm} (got {length}) (stage local)"
    )
    assert key not in message and "kkkk" not in message
    env.setenv("SECRET_KEY", "k" * minimum)
    assert get_settings().secret_key.get_secret_value() == "k" * minimum


def test_only_hmac_algorithms_are_accepted(env: pytest.MonkeyPatch) -> None:
    # The keys are shared secrets; an asymmetric algorithm's name would make every token invalid.
    env.setenv("JWT_ALGORITHM", "RS256")
    assert _failure(env).startswith("Invalid environment variable(s): JWT_ALGORITHM: ")


@pytest.mark.parametrize("value", ["0", "3601", "five"])
def test_the_signing_keys_max_age_is_bounded(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("SIGNING_KEYS_MAX_AGE_SECONDS", value)
    assert _failure(env).startswith("Invalid environment variable(s): SIGNING_KEYS_MAX_AGE_SECONDS: ")


def test_signing_key_defaults(env: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    assert settings.signing_keys_secret_arn is None
    assert settings.signing_keys_max_age_seconds == 300
    assert settings.jwt_algorithm == "HS256"


@pytest.mark.parametrize("stage", ["dev", "prod", "staging"])
def test_any_stage_but_a_local_one_is_deployed(env: pytest.MonkeyPatch, stage: str) -> None:
    env.setenv("ENVIRONMENT", stage)
    assert _failure(env).endswith(f"(stage {stage})")


@pytest.mark.parametrize("environment", [None, "local", "test"])
def test_a_local_environment_needs_none(env: pytest.MonkeyPatch, environment: str | None) -> None:
    if environment is not None:
        env.setenv("ENVIRONMENT", environment)
    settings = get_settings()
    assert not settings.deployed
    assert settings.table_name == "sartiq-products"
    assert settings.media_base_url is None


def test_the_local_stacks_chalice_process_is_not_deployed(env: pytest.MonkeyPatch) -> None:
    # `chalice local --stage dev` runs with the dev stage's ENVIRONMENT, against moto.
    env.setenv("ENVIRONMENT", "dev")
    env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert not get_settings().deployed


def test_an_invalid_integer_is_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("MAX_IMAGE_BYTES", "ten")
    message = _failure(env)
    assert message.startswith("Invalid environment variable(s): MAX_IMAGE_BYTES: ")
    assert "valid integer" in message and "'ten'" in message
    assert message.endswith("(stage local)")


def test_every_invalid_value_is_named_once(env: pytest.MonkeyPatch) -> None:
    _deployed(env, CAPTIONER="openai", CORS_ORIGINS="studio.example.com", EXPORT_MAX_ATTEMPTS="3.5")
    message = _failure(env)
    for name in ("CAPTIONER", "CORS_ORIGINS", "EXPORT_MAX_ATTEMPTS"):
        assert message.count(f"{name}: ") == 1, message
    assert "'openai'" in message and "'studio.example.com'" in message
    assert "(stage prod)" in message


def test_media_base_url_must_be_a_url(env: pytest.MonkeyPatch) -> None:
    # A host alone would make image URLs relative to the studio's page.
    _deployed(env, MEDIA_BASE_URL="d111111abcdef8.cloudfront.net")
    message = _failure(env)
    assert message.startswith("Invalid environment variable(s): MEDIA_BASE_URL: ")
    assert "d111111abcdef8.cloudfront.net" in message


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://d111.cloudfront.net/products/p/1.png", "products/p/1.png"),
        # Stored before the CDN, or presigned (an upload's preview): S3's own forms.
        ("https://images-prod.s3.eu-west-1.amazonaws.com/products/p/1.png", "products/p/1.png"),
        ("https://images-prod.s3.amazonaws.com/uploads/u?X-Amz-Signature=abc&X-Amz-Expires=900", "uploads/u"),
        ("https://s3.eu-west-1.amazonaws.com/images-prod/products/p/2.png", "products/p/2.png"),
        ("https://other-bucket.s3.eu-west-1.amazonaws.com/products/p/1.png", None),
        ("https://d111.cloudfront.net/", None),
        ("https://example.com/products/p/1.png", None),
    ],
)
def test_our_image_urls_are_recognised_in_every_form(url: str, key: str | None) -> None:
    settings = Settings.model_validate(
        {
            "media_base_url": "https://d111.cloudfront.net",
            "images_bucket": "images-prod",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert settings.media_key_from_url(url) == key


class _NoUsers:
    def get_by_email(self, email: str) -> None:
        return None


def test_a_deployed_stage_refuses_the_development_superuser_password(env: pytest.MonkeyPatch) -> None:
    from chalicelib.services.users import UserService

    _deployed(env)
    with pytest.raises(SettingsError, match="FIRST_SUPERUSER_PASSWORD"):
        UserService(users=_NoUsers()).ensure_first_superuser()  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_media_base_url_is_unset(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("MEDIA_BASE_URL", value)
    assert get_settings().media_base_url is None
    _deployed(env, MEDIA_BASE_URL=value)
    get_settings.cache_clear()
    assert "MEDIA_BASE_URL" in _failure(env)
