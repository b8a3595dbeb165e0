"""Sartiq Products API: wiring only."""

from collections.abc import Callable
from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, Request, Response, SQSEvent

from chalicelib import observability, queues
from chalicelib.api import (
    accounts,
    auth,
    catalog,
    cors,
    docs,
    exports,
    generations,
    method_not_allowed,
    openapi,
    organizations,
    products,
    shootings,
    uploads,
)

# No log handler of chalice's own: its logger is the one observability's JSON logger writes
# through (both are named after the service), and it would print every line again, unredacted.
app = Chalice(app_name="sartiq-products", configure_logs=False)
app.experimental_feature_flags.update(["BLUEPRINTS"])


_CONFIGURATION_ERROR = "configuration error: this stage's settings are invalid"


# Observability, once for every entry point: the invocation's log keys, the settings checked
# before any work (a misconfigured stage fails here, saying what is wrong), one summary line,
# and the metrics flushed whatever happened. chalice local runs these too.
@app.middleware("http")
def observe_request(request: Request, get_response: Callable[[Request], Response]) -> Response:
    from chalicelib.api.errors import internal_error
    from chalicelib.config import get_settings

    method = request.method
    # The route's template, never the raw URL: a query string may carry a signature.
    path = str(request.context.get("resourcePath") or "unknown")
    status = 500
    log = observability.logger()
    with observability.invocation(
        f"## {method} {path}", request.context.get("requestId"), request.lambda_context
    ) as call:
        try:
            failure = _CONFIGURATION_ERROR
            get_settings()
            failure = "unhandled error"
            response = get_response(request)
            status = response.status_code
            return response
        except Exception:
            log.exception(failure)
            return internal_error()
        finally:
            # The access log: one line per request, never a header or a body.
            log.info(
                "request", extra={"method": method, "path": path, "status": status, "duration_ms": call.elapsed_ms}
            )


@app.middleware("sqs")
def observe_batch(event: SQSEvent, get_response: Callable[[SQSEvent], Any]) -> Any:
    from chalicelib.config import get_settings

    function = str(getattr(event.context, "function_name", None) or "sqs")
    records = len(event.to_dict().get("Records") or [])
    failed = records
    log = observability.logger()
    with observability.invocation(f"## {function}", None, event.context) as call:
        try:
            failure = _CONFIGURATION_ERROR
            get_settings()
            failure = "batch failed"
            answer = get_response(event)
            failed = len(answer.get("batchItemFailures") or []) if isinstance(answer, dict) else 0
            return answer
        except Exception:
            # Raised on: Lambda fails the invocation and every record comes back (in the end
            # to the dead-letter queue).
            failed = records
            log.exception(failure)
            raise
        finally:
            log.info(
                "batch",
                extra={"function": function, "records": records, "failed": failed, "duration_ms": call.elapsed_ms},
            )


@app.middleware("scheduled")
def observe_schedule(event: CloudWatchEvent, get_response: Callable[[CloudWatchEvent], Any]) -> Any:
    from chalicelib.config import get_settings

    function = str(getattr(event.context, "function_name", None) or "scheduled")
    log = observability.logger()
    with observability.invocation(f"## {function}", None, event.context) as call:
        failure = _CONFIGURATION_ERROR
        try:
            get_settings()
            failure = "scheduled run failed"
            return get_response(event)
        except Exception:
            log.exception(failure)
            raise
        finally:
            log.info("scheduled", extra={"function": function, "duration_ms": call.elapsed_ms})


for blueprint in (
    auth.bp,
    accounts.bp,
    organizations.bp,
    exports.bp,
    products.bp,
    catalog.bp,
    uploads.bp,
    shootings.bp,
    generations.bp,
    openapi.bp,
    docs.bp,
):
    app.register_blueprint(blueprint, url_prefix="/api/v1")

# After the blueprints: a preflight route for every path registered above, then (last) the 405
# routes for the methods each path lacks, which its preflight must not offer.
cors.register_cors(app)
method_not_allowed.register_method_not_allowed(app)


# Workers: S3 object events (bucket -> SQS) and caption jobs. Each answers SQS's partial batch
# response, so only the failed messages are delivered again.
@app.on_sqs_message(queue=queues.MEDIA_QUEUE, batch_size=10, name=queues.MEDIA_HANDLER)
def media_ingest(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.workers import media

    return media.handle(event.to_dict(), event.context)


@app.on_sqs_message(queue=queues.CAPTION_QUEUE, batch_size=5, name=queues.CAPTION_HANDLER)
def caption_worker(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.workers import captions

    return captions.handle(event.to_dict(), event.context)


@app.on_sqs_message(queue=queues.EXPORT_QUEUE, batch_size=1, name=queues.EXPORT_HANDLER)
def export_worker(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.workers import exports

    return exports.handle(event.to_dict(), event.context)


# Jobs every delivery of which failed, the last ones perhaps without recording anything (a
# timeout): recorded as FAILED from the dead-letter queues (services/dead_letters.py).
@app.schedule(Rate(queues.SWEEP_MINUTES, unit=Rate.MINUTES), name=queues.SWEEPER_HANDLER)
def dead_letter_sweeper(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.workers import dead_letters

    return dead_letters.handle()
