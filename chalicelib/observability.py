"""Logs, metrics and traces (Powertools for AWS Lambda) behind one small facade.

Nothing here imports Powertools before it is used, so `import app` costs what it did: the
logger is built by the first invocation, the metrics by the first metric, and the tracer only
where X-Ray traces the function (its SDK alone costs more than the whole app's import).

- `logger()`: JSON lines on stdout; service name from POWERTOOLS_SERVICE_NAME. The `chalicelib.*`
  module loggers write through the same handler, so their lines carry the invocation's keys
  (correlation_id, user_id, the Lambda function) as well. Every line is redacted first
  (`redact`): no token, password or signature reaches the output even if a caller logs one.
- `metric(name, unit, value)`: one value of a CloudWatch metric (embedded metric format,
  namespace POWERTOOLS_METRICS_NAMESPACE or SartiqProducts, dimensions service and environment),
  printed when the invocation ends (`flush_metrics`).
- `tracer()`: the Powertools Tracer, or None where X-Ray does not trace this Lambda function.
- `invocation()`: the scope app.py's middleware opens around every request and every batch.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from aws_lambda_powertools.logging import Logger
    from aws_lambda_powertools.metrics import Metrics
    from aws_lambda_powertools.tracing import Tracer

DEFAULT_SERVICE = "sartiq-products"
DEFAULT_NAMESPACE = "SartiqProducts"
# The module loggers (`logging.getLogger(__name__)`) under this name share the JSON handler.
APP_LOGGERS = "chalicelib"

Unit = Literal["Count", "Milliseconds", "Bytes"]

_lock = threading.RLock()
_logger: Logger | None = None
_metrics: Metrics | None = None
_tracer: Tracer | None = None
_cold_start = True


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def service_name() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


# -- redaction ---------------------------------------------------------------------------

MASK = "***"


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], tuple[tuple[re.Pattern[str], str], ...]]:
    """(sensitive keys, text scrubs), compiled on the first line written: compiling them at
    import would cost every cold start a few ms."""
    # A key whose value is never written, whatever it holds (a form, a presigned POST's fields).
    keys = re.compile(r"password|passwd|secret|token|authorization|cookie|signature|credential|policy", re.I)
    scrubs = (
        # A presigned URL's query (SigV4 and SigV2 names): who may do what, and the proof.
        (
            re.compile(
                r"\b(x-amz-signature|x-amz-credential|x-amz-security-token|signature|awsaccesskeyid)=[^&\s\"'<>\\]+",
                re.I,
            ),
            rf"\1={MASK}",
        ),
        (re.compile(r"\bbearer\s+[\w\-.~+/]+=*", re.I), f"Bearer {MASK}"),
        # A JWT: its header is base64url JSON, so it starts with eyJ.
        (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), MASK),
        # 'password': 'x', "token": "x", secret='x' (reprs, JSON, exception messages).
        (
            re.compile(
                r"""(\b\w*(?:password|passwd|secret|token|signature|credential|policy)\w*["']?\s*[:=]\s*)"""
                r"""(["'])(?:\\.|(?!\2).)*\2""",
                re.I,
            ),
            rf"\1\2{MASK}\2",
        ),
        # A pydantic ValidationError's text quotes every refused input (`input_value='hunter2'`),
        # whatever its field: a password among them. The field and the reason stay.
        (re.compile(r"""\binput_value=(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|[^,\]\s]+)"""), f"input_value={MASK}"),
        # password=x in a form body or a query string.
        (re.compile(r"\b(\w*(?:password|passwd|secret|token)\w*)=[^&\s\"'<>\\]+", re.I), rf"\1={MASK}"),
    )
    return keys, scrubs


def scrub(text: str) -> str:
    """`text` with anything that looks like a credential masked."""
    for pattern, replacement in _patterns()[1]:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, key: str | None = None) -> Any:
    """A log record's value with secrets masked: by key, then by what the text looks like.
    Values JSON cannot hold become their str() first, so they are scrubbed too."""
    empty = value is None or isinstance(value, bool) or (isinstance(value, str) and not value)
    if key is not None and not empty and _patterns()[0].search(key):
        return MASK
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {name: redact(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


# -- logger ------------------------------------------------------------------------------


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is when a line is written (Lambda reads stdout; a test
    that captures stdout replaces it after the handler was made)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


class _NotFrom(logging.Filter):
    """On the root logger's handlers: records of `prefix` loggers are written by ours already."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == self.prefix or record.name.startswith(self.prefix + "."))


def _formatter() -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class RedactingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: Any) -> str:
            return super().serialize(redact(log))

    return RedactingFormatter(utc=True, use_rfc3339=True)


def logger() -> Logger:
    """The process's Powertools Logger (built on first use)."""
    global _logger
    if _logger is None:
        with _lock:
            if _logger is None:
                from aws_lambda_powertools.logging import Logger

                built = Logger(service=service_name(), logger_handler=_StdoutHandler(), logger_formatter=_formatter())
                built.append_keys(name="%(name)s")
                _share_handler(built)
                _logger = built
    return _logger


def _share_handler(source: Logger) -> None:
    app_loggers = logging.getLogger(APP_LOGGERS)
    app_loggers.setLevel(source.log_level)
    app_loggers.addHandler(source.registered_handler)
    # Records still propagate (pytest's caplog reads them at the root), but the root's own
    # handlers (Lambda's, chalice local's) would print each line a second time, unredacted.
    for handler in logging.root.handlers:
        if type(handler).__module__ == "_pytest.logging":
            continue
        handler.addFilter(_NotFrom(APP_LOGGERS))


def append_keys(**keys: Any) -> None:
    """Keys on every later line of this invocation (this thread's; cleared when it ends)."""
    logger().thread_safe_append_keys(**keys)


# -- metrics -----------------------------------------------------------------------------


def metrics_enabled() -> bool:
    """POWERTOOLS_METRICS_DISABLED decides when set. Otherwise off under POWERTOOLS_DEV (as
    Powertools has it), and wherever no CloudWatch reads the EMF lines: AWS emulated
    (AWS_ENDPOINT_URL, the local stack's moto server, as in config.py) or `chalice local`."""
    disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    if disabled is not None:
        return not _truthy(disabled)
    return not (
        _truthy(os.environ.get("POWERTOOLS_DEV"))
        or os.environ.get("AWS_ENDPOINT_URL")
        or os.environ.get("AWS_CHALICE_CLI_MODE")
    )


def _emf() -> Metrics:
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools.metrics import Metrics

        from chalicelib.config import get_settings

        built = Metrics(
            namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE, service=service_name()
        )
        # One namespace for every stage: the stage tells dev's numbers from prod's.
        built.set_default_dimensions(environment=get_settings().environment)
        _metrics = built
    return _metrics


def metric(name: str, unit: Unit = "Count", value: float = 1) -> None:
    """One value of metric `name`, published when the invocation ends. Never raises: a metric
    is not worth failing the work it counts."""
    if not metrics_enabled():
        return
    try:
        with _lock:
            _emf().add_metric(name=name, unit=unit, value=value)
    except Exception:
        logging.getLogger(__name__).warning("metric %s not recorded", name, exc_info=True)


def flush_metrics(correlation_id: str | None = None) -> None:
    """Print the metrics recorded so far as one EMF document (nothing when there are none)."""
    if _metrics is None:
        return
    with _lock:
        try:
            if not _metrics.metric_set:
                return
            if correlation_id:
                _metrics.add_metadata(key="correlation_id", value=correlation_id)
            _metrics.flush_metrics()
        except Exception:
            logging.getLogger(__name__).warning("metrics not published", exc_info=True)
        finally:
            # Disabled after recording, Powertools keeps them: they would pile up.
            _metrics.clear_metrics()


# -- tracer ------------------------------------------------------------------------------


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """X-Ray traces this invocation: in Lambda (not `chalice local` or SAM local, where no
    daemon listens), not turned off by POWERTOOLS_TRACE_DISABLED, and sampled by X-Ray.
    Lambda sets the sampling decision in _X_AMZN_TRACE_ID; a function without tracing never
    sees Sampled=1, so it never pays for the X-Ray SDK."""
    env = os.environ if environ is None else environ
    if _truthy(env.get("POWERTOOLS_TRACE_DISABLED")):
        return False
    if not env.get("LAMBDA_TASK_ROOT") or env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"):
        return False
    return "Sampled=1" in env.get("_X_AMZN_TRACE_ID", "")


def tracer() -> Tracer | None:
    """The Powertools Tracer (built by the first traced invocation; it patches botocore, so
    every AWS call after is a subsegment), or None while nothing was traced."""
    global _tracer
    if _tracer is None and tracing_wanted():
        with _lock:
            if _tracer is None:
                from aws_lambda_powertools.tracing import Tracer

                _tracer = Tracer(service=service_name())
    return _tracer


@contextmanager
def _traced(name: str, cold_start: bool) -> Iterator[None]:
    active = tracer()
    if active is None:
        yield
        return
    with active.provider.in_subsegment(name=name) as subsegment:
        subsegment.put_annotation(key="ColdStart", value=cold_start)
        subsegment.put_annotation(key="Service", value=active.service)
        yield


# -- an invocation -----------------------------------------------------------------------


class Invocation:
    """One request or batch being handled (a plain class: a dataclass costs ~1 ms at import)."""

    def __init__(self, correlation_id: str, cold_start: bool) -> None:
        self.correlation_id = correlation_id
        self.cold_start = cold_start
        self.started = time.perf_counter()

    @property
    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)


def _lambda_keys(context: Any) -> dict[str, Any]:
    """Powertools' Lambda keys, from whatever context there is (chalice local's and the test
    client's are stand-ins with fewer attributes)."""
    keys = {
        "function_name": getattr(context, "function_name", None),
        "function_memory_size": getattr(context, "memory_limit_in_mb", None),
        "function_arn": getattr(context, "invoked_function_arn", None),
        "function_request_id": getattr(context, "aws_request_id", None),
    }
    return {key: value for key, value in keys.items() if value not in (None, "")}


@contextmanager
def invocation(name: str, correlation_id: str | None, lambda_context: Any) -> Iterator[Invocation]:
    """One request or batch: its log keys (correlation_id falls back to Lambda's request id),
    an X-Ray subsegment when traced, and its metrics flushed at the end, whatever happened."""
    global _cold_start
    log = logger()
    with _lock:
        cold_start, _cold_start = _cold_start, False
    keys = _lambda_keys(lambda_context)
    call = Invocation(
        correlation_id=correlation_id or keys.get("function_request_id") or str(uuid.uuid4()), cold_start=cold_start
    )
    # This thread's keys only: chalice local (and the tests) serve requests on several threads.
    log.thread_safe_clear_keys()
    log.thread_safe_append_keys(correlation_id=call.correlation_id, cold_start=cold_start, **keys)
    try:
        with _traced(name, cold_start):
            yield call
    finally:
        flush_metrics(call.correlation_id)
        log.thread_safe_clear_keys()
