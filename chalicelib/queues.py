"""The queues' names: one place for app.py's event handlers, the template and the local stack.

Constants, not settings: Chalice reads a handler's queue name when app.py is imported (and
`chalice package` writes it into the template), before any environment is read.
"""

from __future__ import annotations

# S3 ObjectCreated events of the images bucket's uploads prefix.
MEDIA_QUEUE = "sartiq-products-media"
MEDIA_DLQ = "sartiq-products-media-dlq"
# Caption jobs: {"product_id", "task_id"}.
CAPTION_QUEUE = "sartiq-products-captions"
CAPTION_DLQ = "sartiq-products-captions-dlq"

# Export jobs: {"action": "export", "task_id"} (a run, or its continuation after a checkpoint)
# and {"action": "cleanup", "task_id"} (sent with a delay when a download URL is handed out).
EXPORT_QUEUE = "sartiq-products-exports"
EXPORT_DLQ = "sartiq-products-exports-dlq"

# (queue, its dead-letter queue)
QUEUES = ((MEDIA_QUEUE, MEDIA_DLQ), (CAPTION_QUEUE, CAPTION_DLQ), (EXPORT_QUEUE, EXPORT_DLQ))

# The images bucket notifies the media queue of objects created under this prefix.
UPLOADS_PREFIX = "uploads/"

# Lambda's names for the handlers in app.py (the template refers to their generated resources).
MEDIA_HANDLER = "media_ingest"
CAPTION_HANDLER = "caption_worker"
EXPORT_HANDLER = "export_worker"
# The scheduled reader of the three dead-letter queues (services/dead_letters.py), and how often.
SWEEPER_HANDLER = "dead_letter_sweeper"
SWEEP_MINUTES = 15
