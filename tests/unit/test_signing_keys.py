"""Token keys read from Secrets Manager (moto's): signed with `current`, verified with `current`
or `previous`, read again on a signature no cached key verifies (at most once per interval), and
failures that answer 503 without the secret's value."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import jwt
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.errors import InvalidCredentials, Unavailable
from chalicelib.services import security
from chalicelib.services.signing_keys import (
    REFRESH_INTERVAL_SECONDS,
    Keys,
    SecretKeys,
    SigningKeysError,
    StaticKeys,
    key_source,
    parse_keys,
)
from tests.factories import Api
from tests.support import aws_calls

KEY_1 = "first-signing-key-" + "1" * 32
KEY_2 = "second-signing-key-" + "2" * 32
KEY_3 = "third-signing-key-" + "3" * 32
STRANGER = "nobodys-signing-key-" + "x" * 32
EVERY_KEY = (KEY_1, KEY_2, KEY_3, STRANGER)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Secret:
    """A secret in moto, and the GetSecretValue calls the key source under test makes."""

    def __init__(self) -> None:
        self.client = boto3.client("secretsmanager", region_name="us-east-1")
        self.arn = self.client.create_secret(
            Name=f"{aws_calls.SIGNING_KEYS_SECRET}-{uuid.uuid4().hex[:8]}", SecretString="{}"
        )["ARN"]
        self.reads = 0

    def put(self, value: Any) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self.client.put_secret_value(SecretId=self.arn, SecretString=text)

    def rotate(self, new: str) -> None:
        """previous := current, current := new."""
        current = json.loads(self.client.get_secret_value(SecretId=self.arn)["SecretString"])["current"]
        self.put({"current": new, "previous": current})

    def count_reads(self, source: SecretKeys) -> None:
        def count(**kwargs: Any) -> None:
            self.reads += 1

        source.provider.client.meta.events.register("before-call.secrets-manager.GetSecretValue", count)


@pytest.fixture
def secret(aws: None) -> Iterator[Secret]:
    made = Secret()
    yield made
    # moto's secrets outlive the test: the harness empties only the table, buckets and queues.
    with contextlib.suppress(ClientError):
        made.client.delete_secret(SecretId=made.arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(secret: Secret, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> SecretKeys:
    """The process's key source: the secret's, with a clock the test moves."""
    monkeypatch.setenv("SIGNING_KEYS_SECRET_ARN", secret.arn)
    get_settings.cache_clear()
    settings = get_settings()
    made = SecretKeys(secret.arn, algorithm="HS256", max_age=300, region="us-east-1", clock=clock)
    secret.count_reads(made)
    monkeypatch.setattr(security, "_source", (settings, made))
    return made


def _max_age_passes(source: SecretKeys) -> None:
    """As when SIGNING_KEYS_MAX_AGE_SECONDS have passed since Powertools read the secret."""
    source.provider.clear_cache()  # type: ignore[no-untyped-call]


def _token(key: str, subject: str = "user-1", lifetime: timedelta = timedelta(minutes=5)) -> str:
    return jwt.encode({"sub": subject, "exp": datetime.now(UTC) + lifetime}, key, algorithm="HS256")


def _signer(token: str) -> str:
    """Which of the test's keys signed `token`."""
    for key in EVERY_KEY:
        try:
            jwt.decode(token, key, algorithms=["HS256"])
        except jwt.InvalidSignatureError:
            continue
        return key
    raise AssertionError("signed by none of the test's keys")


# -- the secret's shape -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ({"current": KEY_1}, (KEY_1,)),
        ({"current": KEY_1, "previous": None}, (KEY_1,)),
        ({"current": KEY_1, "previous": ""}, (KEY_1,)),
        ({"current": KEY_1, "previous": KEY_1}, (KEY_1,)),
        ({"current": KEY_2, "previous": KEY_1, "rotated_at": "2025-01-01"}, (KEY_2, KEY_1)),
    ],
)
def test_the_secrets_shape(value: dict[str, Any], keys: tuple[str, ...]) -> None:
    parsed = parse_keys(value, "HS256", "the-arn")
    assert parsed.current == value["current"]
    assert parsed.verifying == keys


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([KEY_1], "SecretString is not a JSON object with 'current' and 'previous'"),
        ({"previous": KEY_1}, "'current' is missing"),
        ({"current": 12345678901234567890123456789012345}, "'current' is not a string (int)"),
        ({"current": "short-key-31-bytes-long-xxxxxxx"}, "'current': a signing key must be at least 32 bytes"),
        ({"current": KEY_1, "previous": "short-key-31-bytes-long-xxxxxxx"}, "'previous': a signing key must be"),
        ({"current": KEY_1, "previous": ["k"]}, "'previous' is not a string (list)"),
    ],
)
def test_a_bad_secret_is_named_without_its_value(value: Any, problem: str) -> None:
    with pytest.raises(SigningKeysError) as failed:
        parse_keys(value, "HS256", "the-arn")
    message = str(failed.value)
    assert message.startswith(f"secret the-arn: {problem}"), message
    assert "short-key" not in message and KEY_1 not in message and "1234567890" not in message


def test_hs512_needs_64_byte_keys() -> None:
    with pytest.raises(SigningKeysError, match="at least 64 bytes for HS512 \\(got 50\\)"):
        parse_keys({"current": KEY_1}, "HS512", "the-arn")


def test_keys_never_show_in_their_repr() -> None:
    keys = Keys(current=KEY_1, previous=KEY_2)
    assert KEY_1 not in repr(keys) and KEY_2 not in repr(keys) and KEY_1 not in str(keys)


# -- which source ------------------------------------------------------------------------------


def test_without_a_secret_the_tests_sign_with_secret_key(aws: None) -> None:
    source = key_source(get_settings())
    assert isinstance(source, StaticKeys)
    token = security.create_access_token("user-1")
    assert jwt.decode(token, get_settings().secret_key.get_secret_value(), algorithms=["HS256"])["sub"] == "user-1"
    assert security.user_id_from_token(token) == "user-1"


def test_a_named_secret_is_read_in_its_own_region(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sartiq-products/prod/signing-keys-AbCdEf"
    monkeypatch.setenv("SIGNING_KEYS_SECRET_ARN", arn)
    monkeypatch.setenv("SIGNING_KEYS_MAX_AGE_SECONDS", "120")
    get_settings.cache_clear()
    source = key_source(get_settings())
    assert isinstance(source, SecretKeys) and source.secret == arn
    assert source.provider.client.meta.region_name == "eu-west-1"
    # The process's source follows the settings it was made from.
    assert security.signing_keys() is security.signing_keys()
    assert isinstance(security.signing_keys(), SecretKeys)


# -- signing, verifying, rotating ----------------------------------------------------------------


def test_a_token_signed_with_current_verifies(secret: Secret, source: SecretKeys) -> None:
    secret.put({"current": KEY_1, "previous": None})
    token = security.create_access_token("user-1")
    assert _signer(token) == KEY_1
    assert security.user_id_from_token(token) == "user-1"
    # Both from the one cached read.
    assert secret.reads == 1


def test_a_rotation_signs_nobody_out(secret: Secret, source: SecretKeys, clock: Clock) -> None:
    secret.put({"current": KEY_1})
    before = security.create_access_token("user-1")
    secret.rotate(KEY_2)
    # Read again once the cache's age is over: new tokens use the new key, old ones still verify.
    _max_age_passes(source)
    after = security.create_access_token("user-2")
    assert _signer(after) == KEY_2
    assert security.user_id_from_token(before) == "user-1"
    assert security.user_id_from_token(after) == "user-2"
    # A second rotation retires the first key.
    secret.rotate(KEY_3)
    _max_age_passes(source)
    assert security.user_id_from_token(after) == "user-2"
    with pytest.raises(InvalidCredentials):
        security.user_id_from_token(before)


def test_a_stale_cache_reads_the_secret_again_once(secret: Secret, source: SecretKeys) -> None:
    secret.put({"current": KEY_1})
    mine = security.create_access_token("user-1")
    secret.rotate(KEY_2)
    # Another instance, which read the secret after the rotation, signed this one; this process
    # still holds the keys it read before it.
    theirs = _token(KEY_2, "user-2")
    assert secret.reads == 1
    assert security.user_id_from_token(theirs) == "user-2"
    assert secret.reads == 2
    # From now on this process signs with the new key, and verifies both without reading.
    assert _signer(security.create_access_token("user-3")) == KEY_2
    assert security.user_id_from_token(mine) == "user-1"
    assert security.user_id_from_token(theirs) == "user-2"
    assert secret.reads == 2


def test_a_token_signed_by_neither_key_is_refused(secret: Secret, source: SecretKeys) -> None:
    secret.put({"current": KEY_2, "previous": KEY_1})
    with pytest.raises(InvalidCredentials):
        security.user_id_from_token(_token(STRANGER))
    # The refusal read the secret again, in case the token's key was newer than the cache.
    assert secret.reads == 2


def test_a_flood_of_forged_tokens_reads_once_per_interval(secret: Secret, source: SecretKeys, clock: Clock) -> None:
    secret.put({"current": KEY_1})
    good = security.create_access_token("user-1")
    for _ in range(50):
        with pytest.raises(InvalidCredentials):
            security.user_id_from_token(_token(STRANGER))
    assert secret.reads == 2  # the first read, and one forced read for the whole flood
    clock.now += REFRESH_INTERVAL_SECONDS - 0.5
    with pytest.raises(InvalidCredentials):
        security.user_id_from_token(_token(STRANGER))
    assert secret.reads == 2
    clock.now += 0.5
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            security.user_id_from_token(_token(STRANGER))
    assert secret.reads == 3
    # Valid tokens went on verifying throughout, without reading.
    assert security.user_id_from_token(good) == "user-1"
    assert secret.reads == 3


FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        _token(KEY_1, lifetime=timedelta(minutes=-1)),  # expired: signed with a key it holds
        # Far in the future: made at collection, these must still reach their own flaw when run.
        jwt.encode({"sub": "user-1", "exp": FAR_FUTURE}, KEY_1 * 2, algorithm="HS512"),
        jwt.encode({"sub": "user-1", "exp": FAR_FUTURE}, "", algorithm="none"),
        jwt.encode({"exp": FAR_FUTURE}, KEY_1, algorithm="HS256"),  # no sub
        jwt.encode({"sub": "user-1"}, KEY_1, algorithm="HS256"),  # no exp
    ],
    ids=["garbage", "expired", "other-algorithm", "unsigned", "no-sub", "no-exp"],
)
def test_tokens_refused_for_another_reason_cost_no_read(secret: Secret, source: SecretKeys, token: str) -> None:
    secret.put({"current": KEY_1})
    with pytest.raises(InvalidCredentials):
        security.user_id_from_token(token)
    assert secret.reads == 1


def test_a_refresh_within_the_interval_gives_the_keys_read_last(
    secret: Secret, source: SecretKeys, clock: Clock
) -> None:
    # Two requests with new-key tokens: the first one's forced read gives the second the new
    # keys, though the second may not read itself.
    secret.put({"current": KEY_1})
    security.create_access_token("user-1")
    secret.rotate(KEY_2)
    source.refresh()  # as the first request did, just before
    assert secret.reads == 2
    assert source.refresh().verifying == (KEY_2, KEY_1)
    assert secret.reads == 2


# -- failures: 503, never the value ----------------------------------------------------------------


def _refused(code: str) -> Any:
    def refuse(**kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Error": {"Code": code, "Message": "refused"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://secretsmanager.us-east-1.amazonaws.com/", 400, {}, None), error

    return refuse


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('{"current": "' + KEY_1 + '", ', "SecretString is not valid JSON"),
        ('"' + KEY_1 + '"', "SecretString is not a JSON object"),
        ({"current": "short-but-sweet", "previous": KEY_1}, "'current': a signing key must be at least 32 bytes"),
    ],
    ids=["truncated-json", "a-string", "short-key"],
)
def test_a_malformed_secret_is_a_503_that_names_no_key(
    secret: Secret, source: SecretKeys, caplog: pytest.LogCaptureFixture, value: Any, reason: str
) -> None:
    secret.put(value)
    with caplog.at_level(logging.ERROR), pytest.raises(Unavailable) as failed:
        security.create_access_token("user-1")
    assert failed.value.status_code == 503 and failed.value.retry_after >= 1
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"signing keys unavailable: secret {secret.arn}: {reason}" in logged
    for text in (str(failed.value), logged):
        assert KEY_1 not in text and "short-but-sweet" not in text


def test_a_failed_read_holds_back_the_next_one(secret: Secret, source: SecretKeys, clock: Clock) -> None:
    secret.put({"current": "too-short"})
    for _ in range(20):
        with pytest.raises(Unavailable) as failed:
            security.user_id_from_token(_token(KEY_1))
    assert secret.reads == 1
    assert failed.value.retry_after == REFRESH_INTERVAL_SECONDS
    # Fixed: seen once the hold is over, though Powertools still caches the malformed value.
    secret.put({"current": KEY_1})
    clock.now += REFRESH_INTERVAL_SECONDS
    assert security.user_id_from_token(_token(KEY_1)) == "user-1"
    assert secret.reads == 2


def test_a_failing_read_after_a_malformed_value_is_held_back_too(
    secret: Secret, source: SecretKeys, clock: Clock
) -> None:
    secret.put({"current": "too-short"})
    with pytest.raises(Unavailable):
        security.create_access_token("user-1")
    # The next read (a fetch, past the cached malformed value) fails as well: it holds back the
    # reads after it, as the first failure did.
    source.provider.client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", _refused("ThrottlingException")
    )
    clock.now += REFRESH_INTERVAL_SECONDS
    for _ in range(10):
        with pytest.raises(Unavailable):
            security.create_access_token("user-1")
    assert secret.reads == 2


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException", "DecryptionFailure"])
def test_a_refused_read_is_a_503_naming_the_error(
    secret: Secret, source: SecretKeys, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    source.provider.client.meta.events.register("before-call.secrets-manager.GetSecretValue", _refused(code))
    with caplog.at_level(logging.ERROR), pytest.raises(Unavailable):
        security.user_id_from_token(_token(KEY_1))
    assert f"signing keys unavailable: secret {secret.arn}: {code}" in caplog.text


def test_a_deleted_secret_is_a_503(secret: Secret, source: SecretKeys, caplog: pytest.LogCaptureFixture) -> None:
    secret.client.delete_secret(SecretId=secret.arn, ForceDeleteWithoutRecovery=True)
    with caplog.at_level(logging.ERROR), pytest.raises(Unavailable):
        security.create_access_token("user-1")
    assert f"signing keys unavailable: secret {secret.arn}: ResourceNotFoundException" in caplog.text


def test_a_failed_forced_read_keeps_the_cached_keys(secret: Secret, source: SecretKeys) -> None:
    secret.put({"current": KEY_1})
    good = security.create_access_token("user-1")
    source.provider.client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", _refused("ThrottlingException")
    )
    # Unknown signer and no way to read the keys again: retry later, not signed out.
    with pytest.raises(Unavailable):
        security.user_id_from_token(_token(KEY_2))
    # The other requests go on with the keys read before.
    assert security.user_id_from_token(good) == "user-1"


# -- through the API -----------------------------------------------------------------------------


@pytest.fixture
def deployed_keys(secret: Secret, monkeypatch: pytest.MonkeyPatch) -> Secret:
    """The app as a deployed stage runs it: keys from the secret (SECRET_KEY is not used)."""
    secret.put({"current": KEY_1})
    monkeypatch.setenv("SIGNING_KEYS_SECRET_ARN", secret.arn)
    monkeypatch.setenv("SECRET_KEY", "the-tests-secret-key-which-must-not-be-used")
    get_settings.cache_clear()
    get_settings()
    return secret


def test_the_api_signs_with_the_secret_and_refuses_strangers(api: Api, deployed_keys: Secret) -> None:
    user_id, token = api.user()
    assert _signer(token) == KEY_1
    assert api.get("/api/v1/users/me", token).json["id"] == user_id
    deployed_keys.rotate(KEY_2)
    # Signed elsewhere after the rotation: this process reads the secret again and accepts it.
    r = api.get("/api/v1/users/me", _token(KEY_2, user_id))
    assert r.status == 200, r
    assert api.get("/api/v1/users/me", token).status == 200
    r = api.get("/api/v1/users/me", _token(STRANGER, user_id))
    assert r.status == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json == {"detail": "Could not validate credentials"}


def test_the_api_answers_503_when_the_keys_cannot_be_read(api: Api, deployed_keys: Secret) -> None:
    deployed_keys.put({"current": "k" * 31})
    r = api.get("/api/v1/users/me", _token(KEY_1))
    assert r.status == 503, r
    assert r.json == {"detail": "Authentication is unavailable for now; retry shortly"}
    assert int(r.headers["Retry-After"]) >= 1
    assert "k" * 31 not in r.raw.decode()
