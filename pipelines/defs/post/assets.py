"""Post stage: valid rows through the ledger, idempotent by source reference. Master data is
applied first; movements are posted in business-time order across feeds. Ledger refusals are
recorded with their error code; processed files move to the archive."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import polars as pl

from pipelines import feed_store, ingest, posting
from pipelines.defs.dbt.assets import raw_sources
from pipelines.defs.ingest.assets import MOVEMENT_FEEDS
from pipelines.defs.resources import StockcardResource

REFUSAL_SHARE_LIMIT = 0.10


MASTER = dg.AssetKey("ledger_master_data")
# the configuration tables the dbt project reads as sources, written here
CONFIG_KEYS = [key for key in raw_sources() if key.path[-1] in feed_store.CONFIG_TABLES]


@dg.multi_asset(
    name="ledger_master_data",
    group_name="post",
    ins={"raw_master_data": dg.AssetIn()},
    specs=[
        dg.AssetSpec(
            MASTER, deps=["raw_master_data"], description="Master data applied to the ledger."
        ),
        *(
            dg.AssetSpec(
                key,
                deps=["raw_master_data"],
                description="Replenishment configuration, replaced when its feed sends a file.",
            )
            for key in CONFIG_KEYS
        ),
    ],
)
def ledger_master_data(
    context: dg.AssetExecutionContext,
    stockcard: StockcardResource,
    raw_master_data: dict[str, ingest.FeedBatch],
) -> Iterator[dg.MaterializeResult]:
    """Master data applied to the ledger; replenishment configuration written to the warehouse."""
    places = stockcard.locations()
    with stockcard.ledger() as ledger:
        applied = posting.apply_master_data(ledger, raw_master_data)
    feed_store.record_feed_results(
        places.warehouse,
        run_id=context.run.run_id,
        rejects=all_rejects(raw_master_data),
        refusals=applied["refusals"],
        # master records are applied per record, not per file row: files carry no posted count
        files=file_rows(raw_master_data, None),
        replenishment_config=applied["config"] or None,
    )
    archive(raw_master_data, places.archive)
    # always reported, so the dbt models downstream run in every job; "replaced" says whether
    # this drop brought a new version of the table
    for key in CONFIG_KEYS:
        sent = applied["config"].get(key.path[-1])
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"replaced": sent is not None, "rows": 0 if sent is None else sent.height},
        )
    yield dg.MaterializeResult(
        asset_key=MASTER,
        metadata={
            "applied": dg.MetadataValue.json(applied["applied"]),
            "unchanged": dg.MetadataValue.json(applied["unchanged"]),
            "refused": dg.MetadataValue.json(applied["refused"]),
            "configuration_rows": dg.MetadataValue.json(
                {name: frame.height for name, frame in applied["config"].items()}
            ),
        },
    )


@dg.asset(
    group_name="post",
    ins={f"raw_{feed}": dg.AssetIn() for feed in MOVEMENT_FEEDS},
    check_specs=[dg.AssetCheckSpec("refusal_share", asset="ledger_postings")],
)
def ledger_postings(
    context: dg.AssetExecutionContext, stockcard: StockcardResource, **feeds: Any
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Every valid movement row posted once: events written, replays (already posted) and
    refusals by the ledger's error code."""
    batches: dict[str, ingest.FeedBatch] = {}
    for validated in feeds.values():
        batches.update(validated)
    places = stockcard.locations()
    with stockcard.ledger() as ledger:
        outcome = posting.post_feeds(ledger, batches)
    feed_store.record_feed_results(
        places.warehouse,
        run_id=context.run.run_id,
        rejects=all_rejects(batches),
        refusals=outcome.refusals,
        files=file_rows(batches, outcome),
        replenishment_config=None,
    )
    archive(batches, places.archive)
    yield dg.MaterializeResult(metadata=outcome_metadata(outcome))
    yield refusal_check(outcome)


def refusal_check(outcome: posting.PostingOutcome) -> dg.AssetCheckResult:
    refusals = outcome.refusals
    attempted = outcome.total_posted + outcome.total_replayed + outcome.total_refused
    share = outcome.total_refused / attempted if attempted else 0.0
    by_code = dict(refusals.group_by("code").len().iter_rows()) if refusals.height else {}
    return dg.AssetCheckResult(
        check_name="refusal_share",
        passed=share <= REFUSAL_SHARE_LIMIT,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_attempted": attempted,
            "refused": outcome.total_refused,
            "refusal_share": round(share, 4),
            "limit": REFUSAL_SHARE_LIMIT,
            "refusals_by_code": dg.MetadataValue.json(by_code),
            "first_refusals": dg.MetadataValue.json(readable(refusals.head(10))),
            "what_to_do": "Refused rows are in raw.posting_refusals with the ledger's code and "
            "message (e.g. insufficient_stock, period_closed); correct them at the source.",
        },
    )


def all_rejects(batches: Mapping[str, ingest.FeedBatch]) -> pl.DataFrame | None:
    frames = [batch.rejects for batch in batches.values() if batch.rejects.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def file_rows(
    batches: Mapping[str, ingest.FeedBatch], outcome: posting.PostingOutcome | None
) -> pl.DataFrame | None:
    frames = [ingest.file_summary(batch, outcome) for batch in batches.values()]
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def archive(batches: Mapping[str, ingest.FeedBatch], root: Any) -> None:
    for batch in batches.values():
        for path in batch.files:
            ingest.archive(path, root)


def outcome_metadata(outcome: posting.PostingOutcome) -> dict[str, Any]:
    return {
        "events_posted": outcome.events_written,
        "rows_posted": outcome.total_posted,
        "rows_replayed": outcome.total_replayed,
        "rows_refused": outcome.total_refused,
        "by_feed": dg.MetadataValue.json(plain(outcome.by_feed)),
    }


def readable(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{key: str(value) for key, value in row.items()} for row in frame.to_dicts()]


def plain(value: Any) -> Any:
    """Metadata is JSON: frames become row counts, everything else its text."""
    if isinstance(value, pl.DataFrame):
        return value.height
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)
