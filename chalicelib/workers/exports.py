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
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib import wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.services.export_runs import ExportRunner

logger = logging.getLogger(__name__)


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

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
