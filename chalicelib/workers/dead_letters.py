"""The dead-letter sweeper's scheduled handler (services/dead_letters.py)."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.services.dead_letters import DeadLetterSweeper

logger = logging.getLogger(__name__)


def handle(sweeper: DeadLetterSweeper | None = None) -> dict[str, Any]:
    report = (sweeper or DeadLetterSweeper()).sweep()
    logger.info("dead letters swept", extra={"counts": report.counts})
    return {"counts": report.counts}
