"""API Gateway's own answers (its gateway responses) in the API's shape: `{"detail": "..."}`, with CORS.

API Gateway answers some requests without calling the function: an unknown path, or a method
no route has (TRACE included), as a 403 "Missing Authentication Token" (and, when the request
carries an Authorization header, a 403 whose message quotes the whole header); throttling as
429; a body the function cannot take as 413. Here each becomes the status a client of the API
expects and a static body: no `$context.error.message` (which quotes request data in the
signature errors) and nothing else read from the request, so no answer echoes a header.

DEFAULT_4XX and DEFAULT_5XX (every type not listed) get a static body too, and no status of
their own: setting one would give every response of the family that status, while without it
each keeps API Gateway's (403 for WAF_FILTERED, 502 for a function that failed...). A
type API Gateway adds later is then still answered without echo, in the same shape.

CORS: a gateway response cannot choose among origins, so each carries the first of the
`StudioOrigins` parameter (the studio's), and `Vary: Origin` as the function's answers do.

Two forms of the same answers:
- `gateway_responses(...)`: the `GatewayResponses` property of chalice's RestAPI
  (AWS::Serverless::Api). SAM writes them into the API's definition body, so every
  deployment of the stage carries them and a change to them redeploys it. Use this one. (A new
  value of the parameter alone changes no definition: the stage shows it from its next deployment.)
- `gateway_response_resources(...)`: `AWS::ApiGateway::GatewayResponse` resources, for a plain
  AWS::ApiGateway::RestApi. Beside an AWS::Serverless::Api with an inline definition (chalice's),
  they are lost when a later deployment re-imports the definition (SAM issues #390, #623), and a
  change to them alone deploys nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.api.cors import EXPOSED_HEADERS

JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    # None: each response of the family keeps API Gateway's status (DEFAULT_4XX, DEFAULT_5XX).
    status: int | None
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        return json.dumps({"detail": self.detail})


NOT_FOUND = Answer(404, "Not Found")
FORBIDDEN = Answer(403, "Forbidden")
BAD_REQUEST = Answer(400, "Bad Request")

# By API Gateway's response type (its developer guide, "Gateway response types").
ANSWERS: dict[str, Answer] = {
    # An unknown path, a method the path has no route for (TRACE, CONNECT...), and the same
    # with a bearer token (API Gateway then reports the token as an incomplete AWS signature).
    "MISSING_AUTHENTICATION_TOKEN": NOT_FOUND,
    "RESOURCE_NOT_FOUND": NOT_FOUND,
    "ACCESS_DENIED": FORBIDDEN,
    # No method of the API is signed (AWS_IAM), and none needs an API key: these can only meet a
    # caller who sent such headers anyway. Their default messages quote the Authorization header.
    "INVALID_SIGNATURE": FORBIDDEN,
    "EXPIRED_TOKEN": FORBIDDEN,
    "INVALID_API_KEY": FORBIDDEN,
    "UNAUTHORIZED": Answer(401, "Not authenticated", {"WWW-Authenticate": "Bearer"}),
    "BAD_REQUEST_BODY": BAD_REQUEST,
    "BAD_REQUEST_PARAMETERS": BAD_REQUEST,
    # A body the function cannot be invoked with (Lambda takes at most 6 MB of event). A body over
    # API Gateway's own 10 MB limit is reported to be refused earlier, in plain text, which no
    # gateway response reshapes.
    "REQUEST_TOO_LARGE": Answer(413, "Request Entity Too Large"),
    "UNSUPPORTED_MEDIA_TYPE": Answer(415, "Unsupported Media Type"),
    # The stage's throttle (rate per second): a second later a token is there again.
    "THROTTLED": Answer(429, "Too Many Requests", {"Retry-After": "1"}),
    # A usage plan's quota (none is attached today) lasts to the end of its period, which the
    # answer cannot know: no Retry-After rather than one that sends the client back too early.
    "QUOTA_EXCEEDED": Answer(429, "Too Many Requests"),
    # The function took longer than API Gateway waits (29 s).
    "INTEGRATION_TIMEOUT": Answer(504, "Gateway Timeout"),
    "DEFAULT_4XX": Answer(None, "Request refused"),
    "DEFAULT_5XX": Answer(None, "Internal Server Error"),
}


def _quoted(value: str) -> str:
    # A static header value is a string literal of API Gateway's mapping: single quotes.
    return f"'{value}'"


def _headers(answer: Answer, origins_parameter: str) -> dict[str, Any]:
    first_origin = {"Fn::Select": [0, {"Ref": origins_parameter}]}
    headers: dict[str, Any] = {
        "Access-Control-Allow-Origin": {"Fn::Join": ["", ["'", first_origin, "'"]]},
        "Access-Control-Expose-Headers": _quoted(", ".join(EXPOSED_HEADERS)),
        "Vary": _quoted("Origin"),
    }
    headers.update({name: _quoted(value) for name, value in answer.headers.items()})
    return headers


def gateway_responses(origins_parameter: str) -> dict[str, dict[str, Any]]:
    """The `GatewayResponses` property of the RestAPI (AWS::Serverless::Api), by response type.

    `origins_parameter`: the template's CommaDelimitedList parameter of the browser origins
    (ops.template.STUDIO_ORIGINS); the first is the one the answers allow."""
    responses: dict[str, dict[str, Any]] = {}
    for response_type, answer in ANSWERS.items():
        response: dict[str, Any] = {
            "ResponseParameters": {"Headers": _headers(answer, origins_parameter)},
            "ResponseTemplates": {JSON: answer.body},
        }
        if answer.status is not None:
            response["StatusCode"] = str(answer.status)
        responses[response_type] = response
    return responses


def _logical_id(response_type: str) -> str:
    return "GatewayResponse" + "".join(part.capitalize() for part in response_type.split("_"))


def gateway_response_resources(origins_parameter: str, rest_api: str = "RestAPI") -> dict[str, dict[str, Any]]:
    """The same answers as `AWS::ApiGateway::GatewayResponse` resources of the REST API `rest_api`
    (a logical id), by logical id. See the module's docstring before using these with chalice."""
    resources: dict[str, dict[str, Any]] = {}
    for response_type, response in gateway_responses(origins_parameter).items():
        headers = response["ResponseParameters"]["Headers"]
        properties: dict[str, Any] = {
            "RestApiId": {"Ref": rest_api},
            "ResponseType": response_type,
            "ResponseParameters": {f"gatewayresponse.header.{name}": value for name, value in headers.items()},
            "ResponseTemplates": response["ResponseTemplates"],
        }
        if "StatusCode" in response:
            properties["StatusCode"] = response["StatusCode"]
        resources[_logical_id(response_type)] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": properties}
    return resources
