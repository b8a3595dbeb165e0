"""The dead-letter sweeper: a job every delivery of which failed.

A job reaches its queue's dead-letter queue after the queue's maxReceiveCount deliveries. The
workers record most failures themselves (a refused upload, a caption that failed its attempts, an
export that failed its runs). The ones they cannot record are those whose last delivery died
without a word (the function timed out or ran out of memory): they would leave an upload
PENDING, a caption or an export PROCESSING for ever. The sweeper reads the three dead-letter
queues on a schedule and records each such job as FAILED (conditionally: a task finished,
cancelled or superseded meanwhile is left as it is), then deletes the message.

A message that cannot be handled now (an export a live run still holds, an error) is kept for a
later sweep; one that cannot be read at all is logged whole and deleted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from chalicelib import queues, wiring

if TYPE_CHECKING:
    from chalicelib.store.jobs import JobQueue

logger = logging.getLogger(__name__)

# A message kept for later stays hidden this long: longer than one sweep's run, shorter than the
# time between sweeps, so the next sweep sees it again.
KEEP_SECONDS = 300
# Messages read from one dead-letter queue in one sweep (the rest wait for the next one).
PER_QUEUE = 200


class Handled(StrEnum):
    RECORDED = "recorded"  # the failure is recorded, or there was nothing left to record
    KEPT = "kept"  # to be tried again by a later sweep
    UNREADABLE = "unreadable"


@dataclass
class SweepReport:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, queue: str, handled: Handled) -> None:
        per_queue = self.counts.setdefault(queue, {})
        per_queue[handled.value] = per_queue.get(handled.value, 0) + 1


class DeadLetterSweeper:
    def __init__(self, dead_letters: dict[str, JobQueue] | None = None) -> None:
        if dead_letters is None:
            from chalicelib.store.jobs import dead_letter_queues

            dead_letters = dead_letter_queues()
        self.dead_letters = dead_letters

    def sweep(self, per_queue: int = PER_QUEUE) -> SweepReport:
        report = SweepReport()
        for queue, dead_letter in self.dead_letters.items():
            seen = 0
            while seen < per_queue:
                batch = dead_letter.receive(min(10, per_queue - seen), KEEP_SECONDS)
                if not batch:
                    break
                for message in batch:
                    seen += 1
                    handled = self._handle(queue, message.body, message.message_id)
                    report.add(queue, handled)
                    if handled is not Handled.KEPT:
                        dead_letter.delete(message.receipt_handle)
        return report

    def _handle(self, queue: str, body: str, message_id: str) -> Handled:
        # Only reading the message decides "unreadable": an error of the recording itself (a
        # KeyError deep in a service, say) keeps the message for the next sweep.
        try:
            job = json.loads(body)
            if not isinstance(job, dict):
                raise ValueError("not a JSON object")
            record = self._recorder(queue, job)
        except (ValueError, KeyError, TypeError) as exc:
            logger.error(
                "unreadable dead letter",
                extra={"queue": queue, "message_id": message_id, "error": str(exc), "body": body[:2000]},
            )
            return Handled.UNREADABLE
        try:
            return record()
        except Exception:
            logger.exception("dead letter not handled", extra={"queue": queue, "message_id": message_id})
            return Handled.KEPT

    def _recorder(self, queue: str, job: dict[str, Any]) -> Callable[[], Handled]:
        """What recording the job's failure takes, its fields read now."""
        if queue == queues.MEDIA_QUEUE:
            return self._uploads(job)
        if queue == queues.CAPTION_QUEUE:
            product_id, task_id = str(job["product_id"]), str(job["task_id"])

            def caption() -> Handled:
                wiring.captions().give_up(product_id, task_id)
                return Handled.RECORDED

            return caption
        if queue == queues.EXPORT_QUEUE:
            task_id = str(job["task_id"])
            if job.get("action") == "cleanup":

                def cleanup() -> Handled:
                    # A clean-up that kept failing: one more try (it is idempotent), then kept.
                    wiring.exports().cleanup(task_id)
                    return Handled.RECORDED

                return cleanup

            def export() -> Handled:
                outcome = wiring.export_runner().give_up(task_id)
                return Handled.KEPT if outcome is None else Handled.RECORDED

            return export
        raise KeyError(f"no dead-letter handling for queue {queue}")

    def _uploads(self, event: dict[str, Any]) -> Callable[[], Handled]:
        if event.get("Event") == "s3:TestEvent":
            return lambda: Handled.RECORDED
        objects = [
            (
                r["s3"]["bucket"]["name"],
                unquote_plus(r["s3"]["object"]["key"]),
                r["s3"]["object"]["eTag"],
                r["s3"]["object"].get("sequencer"),
            )
            for r in event["Records"]
            if str(r.get("eventName", "")).startswith("ObjectCreated:")
        ]

        def uploads() -> Handled:
            ingest = wiring.media_ingest()
            for bucket, key, etag, sequencer in objects:
                result = ingest.give_up(bucket, key, etag, sequencer)
                logger.info("dead upload", extra={"key": key, "outcome": result.outcome.value})
            return Handled.RECORDED

        return uploads
