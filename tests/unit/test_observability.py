"""The observability facade: redaction, the JSON logger's keys, metric switches, the tracer's gate."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from chalicelib import observability
from chalicelib.observability import MASK, redact, scrub

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz"
SIGNATURE = "5a1d3c0ffee9f00dba5e0123456789abcdef0123456789abcdef0123456789ab"
PRESIGNED_GET = (
    "https://exports.s3.amazonaws.com/exports/t/export-t.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=ASIAEXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z"
    f"&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjE&X-Amz-Signature={SIGNATURE}"
)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- redaction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        ("authorization=bearer abc.def-ghi~jkl", "abc.def-ghi~jkl"),
        (f"token {JWT} expired", JWT),
        (PRESIGNED_GET, SIGNATURE),
        (PRESIGNED_GET, "ASIAEXAMPLE"),
        (PRESIGNED_GET, "IQoJb3JpZ2luX2VjE"),
        ("username=a%40b.c&password=hunter2-hunter2", "hunter2-hunter2"),
        ("input_value={'username': 'a@b.c', 'password': 'hunter2-hunter2'}", "hunter2-hunter2"),
        ('{"password": "hunter\\"2-x", "email": "a@b.c"}', 'hunter\\"2-x'),
        ("secret_key='s3cr3t-value-of-the-stage'", "s3cr3t-value-of-the-stage"),
    ],
)
def test_scrub_masks_what_looks_like_a_credential(text: str, secret: str) -> None:
    scrubbed = scrub(text)
    assert secret not in scrubbed
    assert MASK in scrubbed


def test_scrub_keeps_ordinary_text() -> None:
    for text in ("GET /api/v1/login/access-token 200", "caption for product 42 done", "policy: none applies"):
        assert scrub(text) == text


def test_a_validation_errors_inputs_are_masked() -> None:
    """An unhandled ValidationError's text quotes the inputs it refused: a password among them."""
    from pydantic import BaseModel, Field, ValidationError

    class Form(BaseModel):
        password: str = Field(min_length=20)

    with pytest.raises(ValidationError) as caught:
        Form(password="hunter2-secret")
    text = scrub(str(caught.value))
    assert "hunter2" not in text
    assert "password" in text and "string_too_short" in text


def test_redact_masks_sensitive_keys_at_any_depth() -> None:
    record = {
        "message": "upload signed",
        "upload": {
            "url": "https://images.s3.amazonaws.com/",
            "fields": {"key": "uploads/1", "policy": "eyJleHBpcmF0aW9uIjoi", "x-amz-signature": SIGNATURE},
        },
        "headers": [{"Authorization": f"Bearer {JWT}"}],
        "form": {"username": "a@b.c", "password": "hunter2-hunter2"},
        "count": 3,
        "ok": True,
        "none": None,
    }
    redacted = redact(record)
    text = json.dumps(redacted)
    for secret in (SIGNATURE, JWT, "hunter2-hunter2", "eyJleHBpcmF0aW9uIjoi"):
        assert secret not in text
    assert redacted["upload"]["fields"]["key"] == "uploads/1"
    assert redacted["form"]["username"] == "a@b.c"
    assert (redacted["count"], redacted["ok"], redacted["none"]) == (3, True, None)


def test_values_json_cannot_hold_are_scrubbed_as_text() -> None:
    class Leaky:
        def __str__(self) -> str:
            return f"<request to {PRESIGNED_GET}>"

    assert SIGNATURE not in redact({"what": Leaky()})["what"]


# -- the logger --------------------------------------------------------------------------


def test_log_lines_are_json_with_the_invocations_keys_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    context = type("Context", (), {"function_name": "fn", "aws_request_id": "lambda-1", "memory_limit_in_mb": 256})()
    with observability.invocation("## test", "corr-1", context):
        observability.append_keys(user_id="user-1")
        observability.logger().warning(
            "download at %s", PRESIGNED_GET, extra={"body": "username=x&password=hunter2-hunter2"}
        )
        logging.getLogger("chalicelib.services.somewhere").error("token %s refused", JWT)
    observability.logger().info("after the invocation")
    text = capsys.readouterr().out
    first, second, after = json_lines(text)
    for line in (first, second):
        assert line["correlation_id"] == "corr-1"
        assert line["user_id"] == "user-1"
        assert line["function_name"] == "fn" and line["function_request_id"] == "lambda-1"
        assert line["service"] == "sartiq-products"
    assert first["name"] == "sartiq-products" and first["level"] == "WARNING"
    assert second["name"] == "chalicelib.services.somewhere" and second["level"] == "ERROR"
    # The invocation's keys end with it.
    assert "correlation_id" not in after and "user_id" not in after
    for secret in (SIGNATURE, JWT, "hunter2-hunter2"):
        assert secret not in text


def test_module_loggers_still_reach_caplog(caplog: pytest.LogCaptureFixture) -> None:
    observability.logger()
    with caplog.at_level(logging.WARNING):
        logging.getLogger("ops.local.pump").warning("still propagated")
    assert "still propagated" in caplog.text


def test_the_correlation_id_falls_back_to_lambdas_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    context = type("Context", (), {"aws_request_id": "lambda-2"})()
    with observability.invocation("## test", None, context) as call:
        observability.logger().info("inside")
    assert call.correlation_id == "lambda-2"
    (line,) = json_lines(capsys.readouterr().out)
    assert line["correlation_id"] == "lambda-2"
    # A stand-in context without any of Lambda's attributes (a local invocation) is fine too.
    with observability.invocation("## test", None, object()) as call:
        pass
    assert call.correlation_id


# -- metrics -----------------------------------------------------------------------------


def test_metrics_are_printed_as_one_emf_document_per_flush(capsys: pytest.CaptureFixture[str]) -> None:
    observability.flush_metrics()
    capsys.readouterr()
    observability.metric("ProductsCreated")
    observability.metric("ExportBytes", "Bytes", 2048)
    observability.flush_metrics("corr-9")
    observability.flush_metrics()  # nothing left: prints nothing, warns nothing
    (document,) = json_lines(capsys.readouterr().out)
    definition = document["_aws"]["CloudWatchMetrics"][0]
    assert definition["Namespace"] == "SartiqProducts"
    assert {(m["Name"], m["Unit"]) for m in definition["Metrics"]} == {
        ("ProductsCreated", "Count"),
        ("ExportBytes", "Bytes"),
    }
    assert document["ExportBytes"] == [2048.0] and document["correlation_id"] == "corr-9"
    assert document["service"] == "sartiq-products" and document["environment"]


def test_a_bad_metric_never_raises(capsys: pytest.CaptureFixture[str]) -> None:
    observability.metric("Broken", "Parsecs", 1)  # type: ignore[arg-type]
    observability.flush_metrics()
    (warning,) = json_lines(capsys.readouterr().out)  # and no EMF document
    assert warning["message"] == "metric Broken not recorded" and "MetricUnitError" in warning["exception"]


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, True),
        ({"POWERTOOLS_METRICS_DISABLED": "true"}, False),
        ({"POWERTOOLS_DEV": "true"}, False),
        ({"AWS_CHALICE_CLI_MODE": "true"}, False),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, False),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "POWERTOOLS_METRICS_DISABLED": "false"}, True),
    ],
)
def test_metrics_switch(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], enabled: bool) -> None:
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV", "AWS_CHALICE_CLI_MODE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert observability.metrics_enabled() is enabled


def test_disabled_metrics_are_not_kept(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.metric("ProductsCreated")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    observability.flush_metrics()
    assert capsys.readouterr().out == ""


# -- the tracer --------------------------------------------------------------------------

LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task", "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        (LAMBDA, True),
        ({**LAMBDA, "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"}, False),
        ({"_X_AMZN_TRACE_ID": LAMBDA["_X_AMZN_TRACE_ID"]}, False),  # not in Lambda
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({**LAMBDA, "AWS_CHALICE_CLI_MODE": "true"}, False),
        ({**LAMBDA, "AWS_SAM_LOCAL": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, False),  # no trace header: X-Ray is off
    ],
)
def test_tracing_only_where_xray_traces_the_function(environ: dict[str, str], wanted: bool) -> None:
    assert observability.tracing_wanted(environ) is wanted


def test_no_tracer_in_tests(api: Any) -> None:
    assert api.get("/api/v1/users/me").status == 401
    assert observability.tracing_wanted() is False
    assert observability.tracer() is None
