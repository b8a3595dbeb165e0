"""Sign-in resists guessing: LOGIN_MAX_FAILURES failed attempts per e-mail per window, then 429.

The throttle's clock (`login_throttle.now`) is fixed in every test, so a window and the
Retry-After it gives are known; argon2 verifications are counted at `PasswordHasher.verify`,
which every password check goes through.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.errors import Busy
from chalicelib.store.users import UserRepository
from tests.factories import Api, Response

WINDOW = 900  # the defaults: LOGIN_WINDOW_SECONDS, LOGIN_MAX_FAILURES
LIMIT = 10
# 100 s into a window: the window ends, and the next attempt may come, 800 s later.
WINDOW_START = 1_800_000_000 - 1_800_000_000 % WINDOW
T0 = WINDOW_START + 100
PASSWORD = "right-password-123"
THROTTLED = {"detail": "Too many failed sign-in attempts; try again later"}


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at: float = T0
        monkeypatch.setattr("chalicelib.services.login_throttle.now", lambda: self.at)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many argon2 verifications ran (one element, updated under a lock: threads count too)."""
    from argon2 import PasswordHasher

    count = [0]
    lock = threading.Lock()
    original: Callable[..., bool] = PasswordHasher.verify

    def counting(self: PasswordHasher, hashed: Any, password: Any) -> bool:
        with lock:
            count[0] += 1
        return original(self, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    yield count


def login_items() -> list[dict[str, Any]]:
    from chalicelib.store.table import connection

    client = connection().client
    items: list[dict[str, Any]] = client.scan(TableName=table())["Items"]
    return [item for item in items if item["pk"]["S"].startswith("LOGIN#")]


def table() -> str:
    from chalicelib.config import get_settings

    return get_settings().table_name


def answer(r: Response) -> tuple[int, Any, dict[str, str]]:
    return r.status, r.json, r.headers


def test_the_eleventh_attempt_is_refused_without_hashing_even_with_the_right_password(
    api: Api, clock: Clock, verifications: list[int]
) -> None:
    email = "guessed@example.com"
    api.user(email, PASSWORD)
    verifications[0] = 0
    # Every spelling the lookup would match counts for the same account.
    spellings = [email, email.upper(), f"  {email}", "Guessed@Example.COM"]
    for n in range(LIMIT):
        r = api.login(spellings[n % len(spellings)], f"wrong-{n}")
        assert r.status == 400 and r.json == {"detail": "Incorrect email or password"}, (n, r)
    assert verifications[0] == LIMIT

    r = api.login(email, PASSWORD)
    assert r.status == 429 and r.json == THROTTLED, r
    assert r.headers["Retry-After"] == str(WINDOW - 100)
    assert r.headers["Content-Type"] == "application/json"
    r = api.login(email.upper(), "wrong-again")
    assert r.status == 429 and r.headers["Retry-After"] == str(WINDOW - 100), r
    clock.at = T0 + 799.5
    assert api.login(email, PASSWORD).headers["Retry-After"] == "1"
    assert verifications[0] == LIMIT, "a refused attempt ran argon2"


def test_an_unknown_email_gets_the_same_answers_as_an_account(api: Api, clock: Clock) -> None:
    api.user("known@example.com", PASSWORD)

    def attempts(email: str) -> list[tuple[int, Any, dict[str, str]]]:
        return [answer(api.login(email, f"wrong-{n}")) for n in range(LIMIT + 2)] + [answer(api.login(email, PASSWORD))]

    known, unknown = attempts("known@example.com"), attempts("nobody@example.com")
    assert known == unknown
    assert [status for status, _, _ in known] == [400] * LIMIT + [429] * 3
    assert all(headers["Retry-After"] == str(WINDOW - 100) for status, _, headers in known if status == 429)


def test_a_success_before_the_limit_clears_the_count(api: Api, clock: Clock) -> None:
    email = "forgetful@example.com"
    api.user(email, PASSWORD)
    for n in range(LIMIT - 1):
        assert api.login(email, f"wrong-{n}").status == 400
    assert api.login(email, PASSWORD).status == 200
    assert login_items() == []
    # A whole new allowance: had the success not cleared it, the second failure would be refused.
    for n in range(LIMIT):
        r = api.login(email, f"wrong-again-{n}")
        assert r.status == 400, (n, r)
    assert api.login(email, PASSWORD).status == 429


def test_the_next_window_lets_attempts_through_again(api: Api, clock: Clock) -> None:
    email = "patient@example.com"
    api.user(email, PASSWORD)
    for n in range(LIMIT):
        assert api.login(email, f"wrong-{n}").status == 400
    clock.at = WINDOW_START + WINDOW - 0.001
    r = api.login(email, PASSWORD)
    assert r.status == 429 and r.headers["Retry-After"] == "1", r
    clock.at = WINDOW_START + WINDOW
    # Failures in the new window count from zero; the right password is taken.
    for n in range(LIMIT - 1):
        assert api.login(email, f"wrong-{n}").status == 400
    r = api.login(email, PASSWORD)
    assert r.status == 200 and r.json["access_token"], r


def test_concurrent_failures_all_count(api: Api, clock: Clock, verifications: list[int], threaded_client: None) -> None:
    email = "flooded@example.com"
    api.user(email, PASSWORD)
    verifications[0] = 0
    threads_n = 2 * LIMIT
    start = threading.Barrier(threads_n)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        start.wait()
        r = api.login(email, f"wrong-{n}")
        with lock:
            statuses.append(r.status)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # No check-then-count gap: exactly the limit got a verdict, the rest were refused unhashed.
    assert sorted(statuses) == [400] * LIMIT + [429] * LIMIT
    assert verifications[0] == LIMIT
    [item] = login_items()
    assert item["failures"] == {"N": str(LIMIT)}
    assert api.login(email, PASSWORD).status == 429


def test_the_counters_expire_with_their_window_and_hold_no_email(api: Api, clock: Clock) -> None:
    api.user("member@example.com", PASSWORD)
    for email in ("member@example.com", "Stranger@Example.com"):
        for n in range(3):
            assert api.login(email, f"wrong-{n}").status == 400
    items = login_items()
    digests = {hashlib.sha256(e.encode()).hexdigest() for e in ("member@example.com", "stranger@example.com")}
    assert {item["pk"]["S"] for item in items} == {f"LOGIN#{d}" for d in digests}
    from chalicelib.store.table import connection

    ttl = connection().client.describe_time_to_live(TableName=table())["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    for item in items:
        assert item["sk"] == {"S": f"WINDOW#{WINDOW_START}"}
        assert item["kind"] == {"S": "LoginAttempt"}
        assert item["failures"] == {"N": "3"}
        # The table's TTL attribute, at the window's end: DynamoDB deletes it once it no longer counts.
        assert item[ttl["AttributeName"]] == {"N": str(WINDOW_START + WINDOW)}
    everything = json.dumps(connection().client.scan(TableName=table())["Items"]).lower()
    assert "stranger" not in everything


def test_an_attempt_whose_password_was_never_checked_does_not_count(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = "unlucky@example.com"
    api.user(email, PASSWORD)

    def unavailable(self: UserRepository, email: str) -> None:
        raise Busy()

    with monkeypatch.context() as patched:
        patched.setattr(UserRepository, "get_by_email", unavailable)
        for _ in range(LIMIT + 2):
            r = api.login(email, PASSWORD)
            assert r.status == 503, r
    [item] = login_items()
    assert item["failures"] == {"N": "0"}
    assert api.login(email, PASSWORD).status == 200


def test_the_limits_are_settings(api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import get_settings

    email = "configured@example.com"
    api.user(email, PASSWORD)
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("LOGIN_WINDOW_SECONDS", "60")
    get_settings.cache_clear()
    # Read now, not during a request (chalice's test client swaps the environment then).
    assert (get_settings().login_max_failures, get_settings().login_window_seconds) == (3, 60)
    for n in range(3):
        assert api.login(email, f"wrong-{n}").status == 400
    r = api.login(email, PASSWORD)
    # T0 is 40 s into a 60 s window.
    assert r.status == 429 and r.headers["Retry-After"] == str(60 - T0 % 60), r
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_username_longer_than_an_email_is_a_422(api: Api) -> None:
    """It would become part of a key past DynamoDB's 2 KB: refused as input, never a 500."""
    r = api.login("a" * 243 + "@example.com", "password-123")
    assert r.status == 422, r
    assert r.json["detail"][0]["loc"] == ["body", "username"]
