"""Typed settings from the environment, read once per process and never at import."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_DEVELOPMENT_SECRET = "change-me-local-only-secret-key-32b"
DEVELOPMENT_SUPERUSER_PASSWORD = "changethis-admin"

# Environments that run against moto or a developer's machine; any other value is a deployed stage.
LOCAL_ENVIRONMENTS = frozenset({"local", "test"})

# What a deployed function cannot work without. The defaults are the local stack's names: in a
# deployed stage they would point at a table or bucket that is not the stage's (or at none), and
# a missing queue URL falls back to sqs:GetQueueUrl, which the deployed policies do not grant.
# The signing keys are read from Secrets Manager at run time (services/signing_keys.py), so the
# function's configuration holds the secret's ARN, never a key.
# The template sets every one of them on every function (tests/unit/test_infra.py).
REQUIRED_WHEN_DEPLOYED: tuple[str, ...] = (
    "table_name",
    "images_bucket",
    "exports_bucket",
    "signing_keys_secret_arn",
    "media_base_url",
    "caption_queue_url",
    "export_queue_url",
    "media_dlq_url",
    "caption_dlq_url",
    "export_dlq_url",
)


class SettingsError(RuntimeError):
    """The environment cannot make valid settings; the message names every variable at fault.
    A RuntimeError: the deployment is wrong, not a caller's input, so no `except ValueError`
    around input parsing may take it for a bad request."""


class _DeployedStageIncomplete(ValueError):
    """Raised inside validation (pydantic wraps a ValueError); SettingsError keeps its message."""


def minimum_key_bytes(algorithm: str) -> int:
    """RFC 7518 3.2: an HMAC key at least as long as the hash's output (HS256: 32 bytes)."""
    return int(algorithm.removeprefix("HS")) // 8


def key_length_problem(key: str, algorithm: str) -> str | None:
    """Why `key` is too short to sign `algorithm` tokens, or None. Never quotes the key."""
    minimum = minimum_key_bytes(algorithm)
    length = len(key.encode())
    if length < minimum:
        return f"a signing key must be at least {minimum} bytes for {algorithm} (got {length})"
    return None


def _comma_list(value: Any) -> list[Any] | None:
    """A list setting's items: an environment value is comma-separated; None when not a list
    (pydantic then reports the type error)."""
    items = value.split(",") if isinstance(value, str) else value
    return items if isinstance(items, list) else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: str = "local"
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_DEFAULT_REGION")
    table_name: str = "sartiq-products"
    images_bucket: str = "sartiq-products-images"
    exports_bucket: str = "sartiq-products-exports"
    # Public base URL of the images bucket: the template sets the CloudFront distribution's.
    # Unset (local stack, tests): the S3 URL is derived from the endpoint, so the local
    # stack's moto server serves the images.
    media_base_url: str | None = None
    aws_endpoint_url: str | None = None

    # Declared before the key: the key's validator reads the algorithm to know the length it needs.
    # Only HMAC: the keys are shared secrets, and the algorithm is pinned when tokens are verified.
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    # The local stack's and the tests' signing key. A deployed stage reads its keys from the
    # secret SIGNING_KEYS_SECRET_ARN names (services/signing_keys.py) and refuses SECRET_KEY.
    secret_key: SecretStr = SecretStr(_DEVELOPMENT_SECRET)
    signing_keys_secret_arn: str | None = None
    # How long a process trusts the keys it read before reading the secret again: after a
    # rotation, an instance may sign with the old key for this long (still accepted as
    # `previous`), and a removed key keeps verifying for this long.
    signing_keys_max_age_seconds: int = Field(default=300, ge=1, le=3600)
    access_token_expire_minutes: int = 60 * 24 * 8

    first_superuser: str = "admin@example.com"
    first_superuser_password: SecretStr = SecretStr(DEVELOPMENT_SUPERUSER_PASSWORD)

    # argon2id cost (argon2-cffi's defaults); tests lower them, never a deployed stage.
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 4
    # Sign-in attempts one e-mail may fail per window before it is refused (429) until the window
    # ends (services/login_throttle.py).
    login_max_failures: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)

    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    max_reference_images: int = 20
    max_data_images: int = 20
    list_max_limit: int = 1000

    # Presigned uploads (POST /uploads/): the types a browser may send, how long the signed form
    # is valid, and how long an upload no product used is kept (the record's TTL; the bucket's
    # lifecycle rule expires the objects under the uploads prefix).
    upload_content_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "image/webp"]
    )
    upload_expires_seconds: int = 900
    upload_retention_hours: int = 24

    # Captioning. `local` describes the pixels with Pillow (no network); `bedrock` asks a model.
    captioner: Literal["local", "bedrock"] = "local"
    bedrock_model_id: str = "amazon.nova-lite-v1:0"
    bedrock_region: str | None = None
    # How long a create request waits for its caption before leaving it to the caption worker
    # (API Gateway ends a request at 29 s; the rest of the request needs its share).
    caption_sync_budget_seconds: float = 10.0
    # Deliveries of one caption job before it is FAILED (the queue's maxReceiveCount says the
    # same, so the message then goes to the dead-letter queue); retries wait base * 2^n seconds.
    caption_max_attempts: int = 4
    caption_retry_base_seconds: int = 20
    # The caption queue's URL (the template sets it); unset, it is looked up by name.
    caption_queue_url: str | None = None

    # Exports. A run checkpoints and continues in a new message when fewer than this many
    # seconds of its invocation are left; deliveries of one export job before it is FAILED.
    export_queue_url: str | None = None
    # The dead-letter queues the sweeper reads (the template sets them); unset, looked up by name.
    media_dlq_url: str | None = None
    caption_dlq_url: str | None = None
    export_dlq_url: str | None = None
    export_time_margin_seconds: int = 90
    export_max_attempts: int = 3

    # Browser origins allowed to call the API (CORS_ORIGINS, comma-separated). Empty: no
    # cross-origin browser access, so a deployed stage opens nothing unless configured.
    # NoDecode: the value is a plain list, not the JSON pydantic-settings expects by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        items = _comma_list(value)
        if items is None:
            return value
        origins: list[str] = []
        for item in items:
            origin = str(item).strip().rstrip("/").lower()
            if not origin:
                continue
            parts = urlsplit(origin)
            # Browsers send Origin as scheme://host[:port] and it is compared exactly: a
            # wildcard, a path or a missing scheme would silently never match, so refuse it.
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query:
                raise ValueError(f"CORS_ORIGINS: {item!r} is not an origin like https://studio.example.com")
            origins.append(origin)
        return origins

    @field_validator("secret_key")
    @classmethod
    def _key_length(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        # No algorithm in the data: its own error is reported, not a second one here.
        algorithm = info.data.get("jwt_algorithm")
        if algorithm is not None:
            problem = key_length_problem(value.get_secret_value(), algorithm)
            if problem is not None:
                raise ValueError(f"SECRET_KEY: {problem}")
        return value

    @field_validator("signing_keys_secret_arn")
    @classmethod
    def _secret_arn(cls, value: str | None) -> str | None:
        # Empty is unset (a deployed stage then reports it missing). Not checked to be an ARN:
        # a secret's name is a valid SecretId too, though the policy is written for the ARN.
        return value.strip() if value is not None and value.strip() else None

    @field_validator("media_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            # Empty is unset (a deployed stage then reports it missing), not an invalid URL.
            return None
        parts = urlsplit(value.strip())
        # Stored in every image URL the API hands out: a host without a scheme would make
        # relative links that browsers resolve against the studio's own origin.
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not a base URL like https://images.example.com")
        return value.strip()

    @field_validator("upload_content_types", mode="before")
    @classmethod
    def _content_types(cls, value: Any) -> Any:
        items = _comma_list(value)
        if items is None:
            return value
        from chalicelib.schemas.uploads import SUPPORTED_UPLOAD_TYPES

        allowed = set(SUPPORTED_UPLOAD_TYPES)
        types = [str(item).strip().lower() for item in items if str(item).strip()]
        unknown = sorted(set(types) - allowed)
        if unknown:
            raise ValueError(f"UPLOAD_CONTENT_TYPES: {unknown} not supported; choose from {sorted(allowed)}")
        return types

    @property
    def deployed(self) -> bool:
        """A deployed stage talks to real AWS: not a local environment, no endpoint override
        (the local stack's chalice process runs with the dev stage's ENVIRONMENT and moto's
        endpoint)."""
        return self.environment not in LOCAL_ENVIRONMENTS and not self.aws_endpoint_url

    @model_validator(mode="after")
    def _deployed_stage_is_complete(self) -> Settings:
        if not self.deployed:
            return self
        missing = [name.upper() for name in REQUIRED_WHEN_DEPLOYED if not self._provided(name)]
        if missing:
            raise _DeployedStageIncomplete(
                f"Missing required environment variable(s): {', '.join(missing)} (stage {self.environment})"
            )
        # A deployed stage never signs with SECRET_KEY: a value there would be a key in plaintext
        # in the function's configuration (what reading the keys from the secret avoids), and
        # one an operator might rotate believing it is in use. Refused rather than ignored.
        if self._provided("secret_key"):
            raise _DeployedStageIncomplete(
                "SECRET_KEY must not be set on a deployed stage: its signing keys are read from the secret "
                f"SIGNING_KEYS_SECRET_ARN names (stage {self.environment})"
            )
        return self

    def _provided(self, name: str) -> bool:
        value = getattr(self, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        # An empty variable is as good as none: '' is no table, bucket or URL.
        return name in self.model_fields_set and value is not None and str(value).strip() != ""

    def media_url(self, key: str) -> str:
        if self.media_base_url:
            return f"{self.media_base_url.rstrip('/')}/{key}"
        if self.aws_endpoint_url:
            return f"{self.aws_endpoint_url.rstrip('/')}/{self.images_bucket}/{key}"
        return f"https://{self.images_bucket}.s3.{self.aws_region}.amazonaws.com/{key}"

    def _bucket_url_prefixes(self) -> tuple[str, ...]:
        """Every base under which a URL names an object of the images bucket: the one handed out
        now (the CDN's), and S3's own forms (URLs stored before the CDN, presigned upload
        previews; a local stack's moto server)."""
        bucket, region = self.images_bucket, self.aws_region
        forms = [self.media_url("")]
        if self.aws_endpoint_url:
            forms.append(f"{self.aws_endpoint_url.rstrip('/')}/{bucket}/")
        forms += [
            f"https://{bucket}.s3.{region}.amazonaws.com/",
            f"https://{bucket}.s3.amazonaws.com/",
            f"https://s3.{region}.amazonaws.com/{bucket}/",
        ]
        return tuple(dict.fromkeys(forms))

    def media_key_from_url(self, url: str) -> str | None:
        """The object key when `url` points into our images bucket, else None. A query (a
        presigned URL's signature) is not part of the key."""
        base = url.split("?", 1)[0].split("#", 1)[0]
        for prefix in self._bucket_url_prefixes():
            if base.startswith(prefix) and len(base) > len(prefix):
                return base[len(prefix) :]
        return None


def _variable(field: str) -> str:
    """The environment variable a field (or an error's location) is read from."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    return (alias if isinstance(alias, str) else field).upper()


def _invalid(error: Any) -> str:
    """One field's pydantic error as `VARIABLE: reason`, without pydantic's framing."""
    field = str(error["loc"][0]) if error["loc"] else ""
    name = _variable(field)
    cause = (error.get("ctx") or {}).get("error")
    # The validators' own messages name their variable already, and quote the offending item.
    reason = str(cause).removeprefix(f"{name}: ") if isinstance(cause, Exception) else str(error["msg"])
    info = Settings.model_fields.get(field)
    secret = info is not None and info.annotation is SecretStr
    if not isinstance(cause, Exception) and not secret and isinstance(error.get("input"), str):
        reason = f"{reason} (got {error['input'][:80]!r})"
    return f"{name}: {reason}" if field else reason


def settings_error(exc: ValidationError, environment: str) -> SettingsError:
    """A ValidationError as one message naming each variable at fault (never a secret's value)."""
    stage: list[str] = []
    invalid: list[str] = []
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _DeployedStageIncomplete):
            stage.append(str(cause))
        else:
            invalid.append(_invalid(error))
    if invalid:
        stage.append(f"Invalid environment variable(s): {'; '.join(invalid)} (stage {environment})")
    return SettingsError("\n".join(stage))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use. A failure is not cached: every invocation
    then fails with the same message until the function's environment is fixed."""
    try:
        return Settings()
    except ValidationError as exc:
        # Without pydantic's dump (which would also echo the values) as the cause.
        raise settings_error(exc, os.environ.get("ENVIRONMENT", "local")) from None
