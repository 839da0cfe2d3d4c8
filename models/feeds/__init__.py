"""Feed contracts (SPEC P2): one Pandera schema per source feed, the reference data they check
against, and `validate`, which splits a file into typed good rows and rejects."""

from __future__ import annotations

from models.feeds.catalogue import CONFIG_FEEDS, FEEDS, MASTER_ORDER, MOVEMENT_FEEDS
from models.feeds.contracts import FeedContract
from models.feeds.reference import Period, ReferenceData
from models.feeds.validate import REJECT_SCHEMA, Validated, empty_rejects, validate

__all__ = [
    "CONFIG_FEEDS",
    "FEEDS",
    "MASTER_ORDER",
    "MOVEMENT_FEEDS",
    "REJECT_SCHEMA",
    "FeedContract",
    "Period",
    "ReferenceData",
    "Validated",
    "empty_rejects",
    "validate",
]
