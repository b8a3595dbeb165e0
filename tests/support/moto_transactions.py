"""Moved to ops/local/moto_transactions.py (the local stack uses it too); kept for old imports."""

from __future__ import annotations

from ops.local.moto_transactions import install, installed, item_level_transactions, uninstall

__all__ = ["install", "installed", "item_level_transactions", "uninstall"]
