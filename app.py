"""Sartiq Products API: wiring only."""

from typing import Any

from chalice import Chalice
from chalice.app import SQSEvent

from chalicelib import queues
from chalicelib.api import (
    auth,
    catalog,
    cors,
    exports,
    generations,
    openapi,
    organizations,
    products,
    shootings,
    uploads,
)

app = Chalice(app_name="sartiq-products")
app.experimental_feature_flags.update(["BLUEPRINTS"])

for blueprint in (
    auth.bp,
    organizations.bp,
    exports.bp,
    products.bp,
    catalog.bp,
    uploads.bp,
    shootings.bp,
    generations.bp,
    openapi.bp,
):
    app.register_blueprint(blueprint, url_prefix="/api/v1")

# Last: it adds a preflight route to every path registered above.
cors.register_cors(app)


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
