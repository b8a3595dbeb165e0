"""The Chalice app as a WSGI application, through chalice's local API Gateway (the same one the
test client and `chalice local` use), so WSGI tools such as schemathesis can call it in-process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from chalice.app import Chalice
from chalice.test import Client

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

# Characters a client may leave unescaped in a path (RFC 3986 pchar): WSGI hands the path over
# decoded, and API Gateway receives it as the client sent it.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def wsgi(app: Chalice) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    client = Client(app)

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", errors="replace")
        path = quote(raw_path, safe=_PATH_SAFE)
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        response = client.http.request(environ["REQUEST_METHOD"], path, headers=_request_headers(environ), body=body)
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = "Unknown"
        headers: list[tuple[str, str]] = []
        for name, value in response.headers.items():
            for item in value if isinstance(value, list) else [value]:
                headers.append((name, str(item)))
        start_response(f"{response.status_code} {reason}", headers)
        return [response.body if isinstance(response.body, bytes) else str(response.body).encode()]

    return application
