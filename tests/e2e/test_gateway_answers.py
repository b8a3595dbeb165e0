"""What API Gateway answers itself, over HTTP on the local stack: in the API's shape, with CORS.

An unknown path, or a method API Gateway does not route, is a 404; a method a known path lacks
a 405 with Allow; a body over API Gateway's or Lambda's limit a 413; each `{"detail": ...}`,
with the CORS headers for an allowed origin only, never a 501, never a request header echoed.
"""

from __future__ import annotations

import http.client
import socket
import uuid
from collections.abc import Iterator

import pytest
import requests

from ops.local.gateway import MAX_BODY_BYTES, MAX_EVENT_BYTES
from tests.support.local_stack import LocalStack, running_stack

pytestmark = pytest.mark.e2e

# The dev stage's CORS_ORIGINS allow it; the other is nobody's.
ALLOWED = "http://localhost:3000"
OTHER = "https://evil.example.com"
EXPECTED_TOO_LARGE = {"detail": "Request Entity Too Large"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with running_stack(demo=False) as local:
        yield local


def base(stack: LocalStack) -> str:
    return f"http://127.0.0.1:{stack.port}"


def assert_cors(response: requests.Response, origin: str) -> None:
    """The answer allows `origin` exactly when it is the allowed one, and says it varies by Origin."""
    assert "Origin" in [v.strip() for v in response.headers.get("Vary", "").split(",")], response.headers
    if origin == ALLOWED:
        assert response.headers.get("Access-Control-Allow-Origin") == ALLOWED, response.headers
        assert "Retry-After" in response.headers.get("Access-Control-Expose-Headers", "")
    else:
        assert "Access-Control-Allow-Origin" not in response.headers, response.headers


def raw_exchange(stack: LocalStack, request: bytes) -> bytes:
    """Send `request` as is, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("origin", [ALLOWED, OTHER])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/products/", "/", "/api/v1/products/a/b/c/d"])
def test_an_unknown_path_is_a_404(stack: LocalStack, path: str, origin: str) -> None:
    r = requests.get(base(stack) + path, headers={"Origin": origin}, timeout=30)
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": "Not Found"}
    assert r.headers["Content-Type"] == "application/json"
    assert_cors(r, origin)


def test_a_bearer_token_sent_to_an_unknown_path_is_not_echoed(stack: LocalStack) -> None:
    secret = f"e2e-{uuid.uuid4().hex}"
    r = requests.get(
        f"{base(stack)}/api/v1/nothing-here",
        headers={"Authorization": f"Bearer {secret}", "Origin": ALLOWED},
        timeout=30,
    )
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": "Not Found"}
    assert secret not in r.text
    assert all(secret not in value for value in r.headers.values()), r.headers


@pytest.mark.parametrize("origin", [ALLOWED, OTHER])
def test_a_method_the_path_lacks_is_a_405_with_allow(stack: LocalStack, origin: str) -> None:
    r = requests.delete(f"{stack.url}/brands/", headers={"Origin": origin}, timeout=30)
    assert r.status_code == 405, r.text
    assert r.json() == {"detail": "Method Not Allowed"}
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "POST", "OPTIONS"}
    assert_cors(r, origin)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "get"])
@pytest.mark.parametrize("path", ["/api/v1/brands/", "/api/v1/nothing-here"])
def test_a_method_api_gateway_does_not_route_is_a_404_not_a_501(stack: LocalStack, method: str, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        connection.request(method, path, headers={"Origin": ALLOWED, "Authorization": "Bearer secret-token"})
        r = connection.getresponse()
        body = r.read()
    finally:
        connection.close()
    assert r.status == 404, (r.status, body)
    assert body == b'{"detail": "Not Found"}'
    assert r.getheader("Access-Control-Allow-Origin") == ALLOWED
    assert b"secret-token" not in body


def test_head_answers_carry_no_body_and_the_connection_goes_on(stack: LocalStack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        connection.request("HEAD", "/api/v1/brands/")
        head = connection.getresponse()
        assert head.read() == b""
        assert head.status == 405
        assert int(head.getheader("Content-Length", "0")) > 0
        # A body written after the HEAD answer would be read as the next answer's start.
        connection.request("GET", "/api/v1/nothing-here")
        after = connection.getresponse()
        assert (after.status, after.read()) == (404, b'{"detail": "Not Found"}')
    finally:
        connection.close()


@pytest.mark.parametrize("origin", [ALLOWED, OTHER])
def test_a_body_over_api_gateways_limit_is_a_413(stack: LocalStack, origin: str) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    r = requests.post(
        f"{stack.url}/products/",
        data=body,
        headers={"Content-Type": "application/json", "Origin": origin},
        timeout=60,
    )
    assert r.status_code == 413, r.text
    assert r.json() == EXPECTED_TOO_LARGE
    assert_cors(r, origin)


def test_a_client_waiting_to_continue_is_refused_before_it_sends_the_body(stack: LocalStack) -> None:
    answer = raw_exchange(
        stack,
        b"POST /api/v1/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nOrigin: " + ALLOWED.encode() + b"\r\n"
        b"Content-Length: " + str(MAX_BODY_BYTES + 1).encode() + b"\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"100 Continue" not in head
    assert f"Access-Control-Allow-Origin: {ALLOWED}".encode() in head
    assert body == b'{"detail": "Request Entity Too Large"}'


def test_a_body_over_lambdas_event_limit_is_a_413_and_one_under_reaches_the_app(stack: LocalStack) -> None:
    over = requests.post(
        f"{stack.url}/products/",
        data=b"x" * MAX_EVENT_BYTES,
        headers={"Content-Type": "application/json", "Origin": ALLOWED},
        timeout=60,
    )
    assert over.status_code == 413, over.text
    assert over.json() == EXPECTED_TOO_LARGE
    assert_cors(over, ALLOWED)
    # Well under: the app reads it (and, without a token, refuses the caller first).
    under = requests.post(
        f"{stack.url}/products/",
        data=b"x" * (MAX_EVENT_BYTES - 64 * 1024),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert under.status_code == 401, under.text


def test_a_content_length_that_is_no_length_is_a_400(stack: LocalStack) -> None:
    answer = raw_exchange(
        stack, b"POST /api/v1/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: twelve\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert body == b'{"detail": "Bad Request"}'


def test_the_apis_own_routes_still_answer(stack: LocalStack) -> None:
    r = requests.get(f"{stack.url}/openapi.json", headers={"Origin": ALLOWED}, timeout=30)
    assert r.status_code == 200
    assert "/api/v1/brands/" in r.json()["paths"]
    assert_cors(r, ALLOWED)
    preflight = requests.options(
        f"{stack.url}/brands/",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.status_code == 204
    assert {m.strip() for m in preflight.headers["Access-Control-Allow-Methods"].split(",")} == {
        "GET",
        "POST",
        "OPTIONS",
    }
