"""API Gateway's own answers (ops/gateway_responses.py): every one in the API's `{"detail"}` shape,
static (nothing of the request echoed), with the studio's origin for CORS."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ops.gateway_responses import ANSWERS, gateway_response_resources, gateway_responses

PARAMETER = "StudioOrigins"
ORIGINS = ["https://studio.example.com", "https://other.example.com"]

# API Gateway's response types (developer guide, "Gateway response types for API Gateway"):
# CloudFormation refuses any other name.
RESPONSE_TYPES = frozenset(
    {
        "ACCESS_DENIED",
        "API_CONFIGURATION_ERROR",
        "AUTHORIZER_CONFIGURATION_ERROR",
        "AUTHORIZER_FAILURE",
        "BAD_REQUEST_PARAMETERS",
        "BAD_REQUEST_BODY",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "EXPIRED_TOKEN",
        "INTEGRATION_FAILURE",
        "INTEGRATION_TIMEOUT",
        "INVALID_API_KEY",
        "INVALID_SIGNATURE",
        "MISSING_AUTHENTICATION_TOKEN",
        "QUOTA_EXCEEDED",
        "REQUEST_TOO_LARGE",
        "RESOURCE_NOT_FOUND",
        "THROTTLED",
        "UNAUTHORIZED",
        "UNSUPPORTED_MEDIA_TYPE",
        "WAF_FILTERED",
    }
)

EXPECTED_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": "404",
    "ACCESS_DENIED": "403",
    "UNAUTHORIZED": "401",
    "REQUEST_TOO_LARGE": "413",
    "THROTTLED": "429",
    "QUOTA_EXCEEDED": "429",
    "BAD_REQUEST_BODY": "400",
    "BAD_REQUEST_PARAMETERS": "400",
    "INVALID_SIGNATURE": "403",
    "EXPIRED_TOKEN": "403",
}


def resolve(value: Any, parameters: dict[str, list[str]]) -> Any:
    """CloudFormation's Ref (of a list parameter), Fn::Select and Fn::Join, as a deploy resolves them."""
    if isinstance(value, dict) and len(value) == 1:
        [(name, argument)] = value.items()
        if name == "Ref":
            return parameters[argument]
        if name == "Fn::Select":
            index, items = argument
            return resolve(items, parameters)[index]
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(resolve(item, parameters) for item in items)
    if isinstance(value, dict):
        return {k: resolve(v, parameters) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def responses() -> dict[str, dict[str, Any]]:
    return gateway_responses(PARAMETER)


def test_the_answers_the_api_needs_are_there_under_api_gateways_names(responses: dict[str, dict[str, Any]]) -> None:
    assert set(EXPECTED_STATUS) | {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    assert set(responses) <= RESPONSE_TYPES, set(responses) - RESPONSE_TYPES


def test_statuses(responses: dict[str, dict[str, Any]]) -> None:
    for response_type, status in EXPECTED_STATUS.items():
        assert responses[response_type]["StatusCode"] == status, response_type
    # The fallbacks keep each response's own status: one here would become every 4XX's (5XX's).
    assert "StatusCode" not in responses["DEFAULT_4XX"]
    assert "StatusCode" not in responses["DEFAULT_5XX"]


def test_every_body_is_static_json_with_only_a_detail(responses: dict[str, dict[str, Any]]) -> None:
    for response_type, response in responses.items():
        assert set(response["ResponseTemplates"]) == {"application/json"}, response_type
        template = response["ResponseTemplates"]["application/json"]
        # No VTL at all: no variable ($) or directive (#) that could put request data in the body.
        assert "$" not in template and "#" not in template, response_type
        body = json.loads(template)
        assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"], response_type


def test_nothing_of_the_request_is_echoed_anywhere(responses: dict[str, dict[str, Any]]) -> None:
    everything = json.dumps([responses, gateway_response_resources(PARAMETER)])
    for echo in ("$context.error.message", "$input", "method.request", "$util", "$context", "$stageVariables"):
        assert echo not in everything, echo


def test_unknown_paths_and_methods_are_not_found(responses: dict[str, dict[str, Any]]) -> None:
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert json.loads(missing["ResponseTemplates"]["application/json"]) == {"detail": "Not Found"}


def test_throttling_says_when_to_retry(responses: dict[str, dict[str, Any]]) -> None:
    headers = responses["THROTTLED"]["ResponseParameters"]["Headers"]
    assert headers["Retry-After"] == "'1'"
    assert json.loads(responses["THROTTLED"]["ResponseTemplates"]["application/json"]) == {
        "detail": "Too Many Requests"
    }


def test_every_answer_allows_the_first_studio_origin_and_varies_by_origin(
    responses: dict[str, dict[str, Any]],
) -> None:
    for response_type, response in responses.items():
        headers = resolve(response["ResponseParameters"]["Headers"], {PARAMETER: ORIGINS})
        assert headers["Access-Control-Allow-Origin"] == f"'{ORIGINS[0]}'", response_type
        assert headers["Vary"] == "'Origin'", response_type
        exposed = {h.strip() for h in headers["Access-Control-Expose-Headers"].strip("'").split(",")}
        assert {"Retry-After", "WWW-Authenticate"} <= exposed, response_type
        # API Gateway takes a static header value as a single-quoted literal.
        for name, value in headers.items():
            assert re.fullmatch(r"'[^']+'", value), (response_type, name, value)


def test_the_resources_are_the_same_answers_for_the_rest_api(responses: dict[str, dict[str, Any]]) -> None:
    resources = gateway_response_resources(PARAMETER)
    assert len(resources) == len(responses)
    by_type = {resource["Properties"]["ResponseType"]: resource for resource in resources.values()}
    assert set(by_type) == set(responses)
    for logical_id, resource in resources.items():
        assert re.fullmatch(r"[A-Za-z0-9]+", logical_id), logical_id
        assert resource["Type"] == "AWS::ApiGateway::GatewayResponse"
        properties = resource["Properties"]
        assert properties["RestApiId"] == {"Ref": "RestAPI"}
        response = responses[properties["ResponseType"]]
        assert properties.get("StatusCode") == response.get("StatusCode")
        assert properties["ResponseTemplates"] == response["ResponseTemplates"]
        assert properties["ResponseParameters"] == {
            f"gatewayresponse.header.{name}": value for name, value in response["ResponseParameters"]["Headers"].items()
        }


def test_the_local_server_answers_as_the_gateway_does() -> None:
    from ops.local import gateway

    assert gateway.TOO_LARGE is ANSWERS["REQUEST_TOO_LARGE"]
    assert gateway.NOT_FOUND is ANSWERS["MISSING_AUTHENTICATION_TOKEN"]
