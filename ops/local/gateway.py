"""The local stack's API server: `chalice local`, answering as the deployed API Gateway does.

python -m ops.local.gateway --port 8000 --stage dev

chalice's LocalDevServer and LocalGateway, loaded as `chalice local --no-autoreload` loads
them (the stage's environment variables from .chalice/config.json, AWS_CHALICE_CLI_MODE), with
a request handler of our own for what API Gateway answers itself, which the deployed stage
answers with its gateway responses (ops/gateway_responses.py), in the API's shape:
- an unknown path, or a method API Gateway does not route (TRACE, CONNECT, anything but
  DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT): 404 `{"detail": "Not Found"}` (chalice local:
  403 "Missing Authentication Token", quoting the Authorization header when one was sent; 501
  for a method its handler has no do_ method for);
- a body over API Gateway's 10 MB, or making an event over the 6 MB Lambda can be invoked
  with: 413 (chalice local: any size, read into memory);
- a Content-Length that is not a length: 400 (chalice local: the connection dropped).
These carry the CORS headers for an allowed origin, as the app's answers do; a method a known
path lacks reaches the app, whose 405 routes answer it (chalicelib/api/method_not_allowed.py).
HEAD answers carry no body (chalice local writes one, which breaks the next request of the
connection).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    RouteMatcher,
)

from chalicelib.api.cors import EXPOSED_HEADERS
from chalicelib.config import get_settings
from ops.gateway_responses import ANSWERS, BAD_REQUEST, NOT_FOUND, Answer

ROOT = Path(__file__).resolve().parents[2]

# What a REST API's resource can have a method for; API Gateway answers any other method of
# any path as it answers an unknown path.
ROUTED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
# API Gateway's payload limit (REST APIs: 10 MB, not adjustable).
MAX_BODY_BYTES = 10 * 1024 * 1024
# Lambda's limit on a synchronous invocation's payload, the event: 6 MB (6,291,456 bytes).
MAX_EVENT_BYTES = 6 * 1024 * 1024
# The deployed stage's answers (its gateway responses).
TOO_LARGE = ANSWERS["REQUEST_TOO_LARGE"]
# A refused body still on the connection is read and dropped up to this much, so the client
# gets the answer once it has sent it; a larger one ends the connection instead.
MAX_DISCARD_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024


class EventTooLarge(Exception):
    """The request makes a Lambda event larger than Lambda takes."""


def event_size(event: dict[str, Any]) -> int:
    """The event's size as JSON, as Lambda counts its payload (a text body is a JSON string)."""
    body = event.get("body")
    if isinstance(body, bytes):
        event = {**event, "body": body.decode("utf-8", "replace")}
    return len(json.dumps(event, ensure_ascii=False).encode())


class Gateway(LocalGateway):
    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._routes = RouteMatcher(list(app_object.routes))

    def has_route(self, path: str) -> bool:
        try:
            self._routes.match_route(path)
        except ValueError:
            return False
        return True

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        if event_size(event) > MAX_EVENT_BYTES:
            raise EventTooLarge
        return event


class GatewayRequestHandler(ChaliceRequestHandler):
    local_gateway: Gateway

    def __init__(
        self,
        request: socket.socket,
        client_address: tuple[str, int],
        server: Any,
        app_object: Chalice,
        config: Config,
    ) -> None:
        # chalice's __init__ builds its LocalGateway, then serves the connection: ours instead.
        self.local_gateway = Gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler answers a method without a do_<METHOD> attribute with 501.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _content_length(self) -> int | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        return length if length >= 0 else None

    def _refusal(self) -> Answer | None:
        """What API Gateway answers itself to this request, before the function; None: the app's turn."""
        length = self._content_length()
        if length is None:
            return BAD_REQUEST
        if self.command not in ROUTED_METHODS or not self.local_gateway.has_route(self.path):
            return NOT_FOUND
        if length > MAX_BODY_BYTES:
            return TOO_LARGE
        return None

    def handle_expect_100(self) -> bool:
        # A client waiting for "100 Continue" (curl, for bodies over 1 MB) is answered at once and
        # never sends a body that would be refused.
        refusal = self._refusal()
        if refusal is None:
            result: bool = super().handle_expect_100()
            return result
        self.close_connection = True
        self._refuse(refusal)
        return False

    def _answer(self) -> None:
        refusal = self._refusal()
        if refusal is not None:
            self._discard(self._content_length())
            self._refuse(refusal)
            return
        try:
            self._generic_handle()
        except EventTooLarge:
            # Raised once the body is read, before anything was sent.
            self._refuse(TOO_LARGE)

    # chalice's handler binds these names to its own method: each is bound again here.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _answer  # noqa: N815

    def _discard(self, length: int | None) -> None:
        """Read the unread body off the connection, or end the connection after the answer."""
        if length is None or length > MAX_DISCARD_BYTES:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, _CHUNK))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)

    def _cors_headers(self) -> dict[str, str]:
        # The rule of chalicelib/api/cors.py's middleware: the Origin, compared exactly, when allowed.
        origins = get_settings().cors_origins
        if not origins:
            return {}
        headers = {"Vary": "Origin"}
        origin = self.headers.get("Origin")
        if origin and origin.lower() in origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        return headers

    def _refuse(self, answer: Answer) -> None:
        if answer.status is None:
            raise ValueError(f"{answer} has no status of its own: it is no answer to send")
        headers: dict[str, Any] = {"Content-Type": "application/json", **self._cors_headers(), **answer.headers}
        if self.close_connection:
            headers["Connection"] = "close"
        self._send_http_response(answer.status, headers, answer.body)

    def _send_http_response_with_body(self, code: int, headers: dict[str, Any], body: str | bytes) -> None:
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        # The answer's headers, its Content-Length included, and no body.
        self.send_response(code)
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)


def create_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """chalice.local.create_local_server with our handler: the app's current request per thread."""
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=GatewayRequestHandler)


def serve(host: str, port: int, stage: str) -> None:
    # As the chalice CLI does: the app knows it runs locally (no metrics, no tracing), and its
    # logs go to stdout as Lambda's would.
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    factory = CLIFactory(str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    # Imports app.py with the stage's environment variables set in os.environ.
    app = config.chalice_app
    # What `chalice deploy` would refuse is refused here too.
    validate_routes(app.routes)
    create_server(app, config, host, port).serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.local.gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.stage)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
