"""The caption worker: caption jobs from SQS, each `{"product_id", "task_id"}`.

A failed attempt is put off with exponential backoff (the message's visibility timeout) and
reported back as failed; after the configured attempts the product's caption is FAILED and the
message, still reported failed, goes to the dead-letter queue (the queue's maxReceiveCount).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib import wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.services.captions import CaptionService

logger = logging.getLogger(__name__)


class CaptionRetry(Exception):
    """This delivery failed; SQS delivers it again after its (lengthened) visibility timeout."""


def handle(event: dict[str, Any], context: Any = None, service: CaptionService | None = None) -> dict[str, Any]:
    captions = service or wiring.captions()
    # A batch whose every message failed is answered like any other (all ids listed), not by
    # raising: the listed ids are what SQS retries either way. Each failure is logged (with its
    # traceback) at WARNING: Powertools logs it only at DEBUG without a logger.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)

    def record_handler(record: SQSRecord) -> None:
        job = json.loads(record.body)
        attempt = int(record.attributes.approximate_receive_count or 1)
        outcome = captions.process(str(job["product_id"]), str(job["task_id"]), attempt)
        if outcome.retry_after is not None:
            captions.queue.delay(record.receipt_handle, outcome.retry_after)
        if not outcome.done:
            raise CaptionRetry(f"caption job for {job['product_id']} failed (attempt {attempt})")

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
