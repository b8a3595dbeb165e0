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
        try:
            job = json.loads(body)
            if not isinstance(job, dict):
                raise ValueError("not a JSON object")
            return self._record(queue, job)
        except (ValueError, KeyError, TypeError) as exc:
            logger.error(
                "unreadable dead letter",
                extra={"queue": queue, "message_id": message_id, "error": str(exc), "body": body[:2000]},
            )
            return Handled.UNREADABLE
        except Exception:
            logger.exception("dead letter not handled", extra={"queue": queue, "message_id": message_id})
            return Handled.KEPT

    def _record(self, queue: str, job: dict[str, Any]) -> Handled:
        if queue == queues.MEDIA_QUEUE:
            return self._upload(job)
        if queue == queues.CAPTION_QUEUE:
            wiring.captions().give_up(str(job["product_id"]), str(job["task_id"]))
            return Handled.RECORDED
        if queue == queues.EXPORT_QUEUE:
            task_id = str(job["task_id"])
            if job.get("action") == "cleanup":
                # A clean-up that kept failing: one more try (it is idempotent), then kept.
                wiring.exports().cleanup(task_id)
                return Handled.RECORDED
            outcome = wiring.export_runner().give_up(task_id)
            return Handled.KEPT if outcome is None else Handled.RECORDED
        raise KeyError(f"no dead-letter handling for queue {queue}")

    def _upload(self, event: dict[str, Any]) -> Handled:
        if event.get("Event") == "s3:TestEvent":
            return Handled.RECORDED
        ingest = wiring.media_ingest()
        for record in event["Records"]:
            if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            result = ingest.give_up(
                s3["bucket"]["name"],
                unquote_plus(s3["object"]["key"]),
                s3["object"]["eTag"],
                s3["object"].get("sequencer"),
            )
            logger.info("dead upload", extra={"key": s3["object"]["key"], "outcome": result.outcome.value})
        return Handled.RECORDED
