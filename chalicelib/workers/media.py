"""The media worker: S3 ObjectCreated events of the uploads prefix, delivered through SQS.

Each SQS message carries one S3 event (or S3's test event, which is skipped). A message whose
ingest raised is reported back as failed (Powertools' partial batch response), so only it is
delivered again; after the queue's maxReceiveCount it goes to the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event

from chalicelib import wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.services.ingest import MediaIngest

logger = logging.getLogger(__name__)


def handle(event: dict[str, Any], context: Any = None, ingest: MediaIngest | None = None) -> dict[str, Any]:
    """The Lambda handler's body: `ingest` defaults to the real service (tests may pass one)."""
    service = ingest or wiring.media_ingest()
    # A batch whose every message failed is answered like any other (all ids listed), not by
    # raising: the listed ids are what SQS retries either way. Each failure is logged (with its
    # traceback) at WARNING: Powertools logs it only at DEBUG without a logger.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)

    def record_handler(record: SQSRecord) -> None:
        body = json.loads(record.body)
        if body.get("Event") == "s3:TestEvent":
            return
        for s3_record in S3Event(body).records:
            if not s3_record.event_name.startswith("ObjectCreated:"):
                continue
            s3 = s3_record.s3
            key = unquote_plus(s3.get_object.key)
            result = service.ingest(s3.bucket.name, key, s3.get_object.etag, s3.get_object.get("sequencer"))
            logger.info("ingest", extra={"key": key, "outcome": result.outcome.value, "detail": result.detail})

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
