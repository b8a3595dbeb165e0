"""The export worker: export jobs and delayed clean-ups from the export queue.

`{"action": "export", "task_id"}` runs (or resumes) an export (services/export_runs.py); a run
that fails sends the job again itself (with a backoff) and resumes from its checkpoint; a run that
dies (a timeout) is delivered again by SQS. A message whose handling raises is reported failed.
`{"action": "cleanup", "task_id"}` comes after a download link expired: the archive and the
record go (services/exports.py).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib import wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.services.export_runs import ExportRunner

logger = logging.getLogger(__name__)

# A job younger than this whose task does not exist yet is tried again after the retry delay:
# its task may still be being written. An older one names a task that is gone: it is dropped.
NEW_JOB_GRACE_SECONDS = 60
NEW_JOB_RETRY_SECONDS = 10


class TaskNotWrittenYet(Exception):
    """This delivery came before its task was written; SQS delivers it again shortly."""


def _age_seconds(record: SQSRecord) -> float:
    """Since SQS took the message (SQS always says; a message that does not is taken as old)."""
    sent = record.attributes.sent_timestamp
    return time.time() - int(sent) / 1000 if sent else float("inf")


def handle(event: dict[str, Any], context: Any = None, runner: ExportRunner | None = None) -> dict[str, Any]:
    exports = runner or wiring.export_runner()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)
    remaining = getattr(context, "get_remaining_time_in_millis", None)

    def record_handler(record: SQSRecord) -> None:
        job = json.loads(record.body)
        task_id = str(job["task_id"])
        if job.get("action") == "cleanup":
            wiring.exports().cleanup(task_id)
            return
        outcome = exports.run(task_id, remaining)
        logger.info("export run", extra={"task_id": task_id, "state": outcome.state})
        if outcome.state == "no task" and _age_seconds(record) < NEW_JOB_GRACE_SECONDS:
            # The API sends the job before it writes the task: a young job may have come first.
            # Delivered again shortly (not after the queue's long visibility timeout); after the
            # queue's maxReceiveCount it goes to the dead-letter queue, where the sweeper drops it.
            exports.queue.delay(record.receipt_handle, NEW_JOB_RETRY_SECONDS)
            raise TaskNotWrittenYet(task_id)

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
