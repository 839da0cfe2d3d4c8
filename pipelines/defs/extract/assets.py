"""Extract stage: the ledger's new events (after the high-water mark) into DuckDB raw."""

from collections.abc import Iterator

import dagster as dg

from ledger.storage.base import Store
from pipelines import extract, feed_store
from pipelines.defs.dbt.assets import raw_sources
from pipelines.defs.resources import StockcardResource


class ExtractConfig(dg.Config):
    """`full_refresh` drops raw and extracts every event again."""

    full_refresh: bool = False


EVENTS = dg.AssetKey(["raw", "ledger_events"])
# raw tables the feeds write (rejects, replenishment configuration) belong to the post stage
RAW_TABLES = [
    key
    for key in raw_sources()
    if key != EVENTS
    and key.path[-1] not in feed_store.TABLES
    and key.path[-1] not in feed_store.CONFIG_TABLES
]


@dg.multi_asset(
    name="ledger_events",
    group_name="extract",
    specs=[
        dg.AssetSpec(
            EVENTS,
            deps=["ledger_postings"],
            description=("Stock events appended after the high-water mark (raw.extract_state)."),
        ),
        *(
            dg.AssetSpec(
                key,
                deps=["ledger_postings"],
                skippable=True,
                description=(
                    "Replaced on every extract from the ledger, read with the events so they agree."
                ),
            )
            for key in RAW_TABLES
        ),
    ],
    check_specs=[dg.AssetCheckSpec("extract_matches_ledger", asset=EVENTS, blocking=True)],
)
def ledger_events(
    context: dg.AssetExecutionContext, stockcard: StockcardResource, config: ExtractConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Stock events appended to raw.ledger_events after the high-water mark; master data,
    workflow tables and the ledger's state replaced so the warehouse can reconcile with it."""
    places = stockcard.locations()
    with stockcard.ledger() as ledger:
        summary = extract.extract(ledger.store, places.warehouse, full_refresh=config.full_refresh)
        check = extract_check(ledger.store, summary)
    context.log.info(
        f"extracted {summary['events_extracted']} events up to {summary['high_water_event_id']}"
    )
    for key in RAW_TABLES:
        yield dg.MaterializeResult(asset_key=key)
    yield check
    yield dg.MaterializeResult(
        asset_key=EVENTS,
        metadata={
            "events_extracted": summary["events_extracted"],
            "high_water_event_id": summary["high_water_event_id"],
            "full_refresh": summary["full_refresh"],
            "state_consistent": summary["state_consistent"],
            "seconds": summary["seconds"],
            "warehouse": dg.MetadataValue.path(summary["warehouse"]),
        },
    )


def extract_check(store: Store, summary: dict) -> dg.AssetCheckResult:
    """The warehouse's state tables were read at its high-water mark (so reconciliation is
    meaningful) and it is not ahead of the ledger. Events committed since, by other writers,
    are reported as `events_behind` for the next run."""
    with store.read() as tx:
        last = tx.one("select coalesce(max(event_id), 0) from stock_event")[0]
    high_water = summary["high_water_event_id"]
    passed = summary["state_consistent"] and high_water <= last
    return dg.AssetCheckResult(
        check_name="extract_matches_ledger",
        asset_key=EVENTS,
        passed=bool(passed),
        metadata={
            "ledger_last_event_id": last,
            "warehouse_high_water_event_id": high_water,
            "events_behind": last - high_water,
            "state_consistent": summary["state_consistent"],
            "what_to_do": ""
            if passed
            else (
                "The ledger kept changing while its state was read, or the warehouse is ahead "
                "of this ledger: run the job again, or with the extract's full_refresh: true."
            ),
        },
    )
