"""Ingest stage: the feed files waiting in the inbox, read and validated against their Pandera
contracts. Bad rows become rejects (feed, file, row, rule, message); good rows go on.

Master-data and configuration feeds are validated together (a variant may name an item that
arrives in the same drop); movement feeds, one asset each, after that master data is applied.
"""

from collections.abc import Iterator

import dagster as dg

from models.feeds import FEEDS
from pipelines import ingest
from pipelines.defs.resources import StockcardResource

MASTER_FEEDS = tuple(name for name, feed in FEEDS.items() if feed.role in ("master", "config"))
MOVEMENT_FEEDS = tuple(name for name, feed in FEEDS.items() if feed.role == "movement")
REJECT_SHARE_LIMIT = 0.25


@dg.asset(
    group_name="ingest",
    check_specs=[dg.AssetCheckSpec("reject_share", asset="raw_master_data")],
)
def raw_master_data(
    context: dg.AssetExecutionContext, stockcard: StockcardResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Master data (parties, facilities, bins, items, variants, reason codes, grants, periods,
    tolerances) and replenishment configuration from the inbox, validated."""
    pending = ingest.pending_files(stockcard.locations().inbox)
    # read once: the frames feed the reference data and then their own validation, and a file
    # that cannot be read becomes a reject instead of failing the run
    reads = {
        feed: ingest.read_files(feed, pending[feed]) for feed in MASTER_FEEDS if pending.get(feed)
    }
    with stockcard.ledger() as ledger:
        reference = ingest.reference_data(
            ledger, {feed: read.frames for feed, read in reads.items()}
        )
    batches = {
        feed: ingest.validate_files(feed, pending[feed], reference, read=read)
        for feed, read in reads.items()
    }
    yield from batch_output(context, "raw_master_data", batches)


def movement_asset(feed: str) -> dg.AssetsDefinition:
    name = f"raw_{feed}"

    @dg.asset(
        name=name,
        group_name="ingest",
        deps=["ledger_master_data"],
        description=FEEDS[feed].description,
        check_specs=[dg.AssetCheckSpec("reject_share", asset=name)],
    )
    def raw_feed(
        context: dg.AssetExecutionContext, stockcard: StockcardResource
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        paths = ingest.pending_files(stockcard.locations().inbox).get(feed, [])
        with stockcard.ledger() as ledger:
            reference = ingest.reference_data(ledger)
        batches = {feed: ingest.validate_files(feed, paths, reference)} if paths else {}
        yield from batch_output(context, name, batches)

    return raw_feed


def batch_output(
    context: dg.AssetExecutionContext, asset: str, batches: dict[str, ingest.FeedBatch]
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The validated batches, with what a person checks first: files, rows, rejects by rule."""
    rows = sum(batch.good.height + batch.rejected_rows for batch in batches.values())
    rejected = sum(batch.rejected_rows for batch in batches.values())
    by_rule: dict[str, int] = {}
    for batch in batches.values():
        for rule, count in batch.rejects.group_by("rule").len().iter_rows():
            by_rule[rule] = by_rule.get(rule, 0) + count
    first = [batch.rejects.head(5).to_dicts() for batch in batches.values()]
    share = rejected / rows if rows else 0.0
    context.log.info(f"{asset}: {rows} rows, {rejected} rejected")
    check = dg.AssetCheckResult(
        check_name="reject_share",
        asset_key=asset,
        passed=share <= REJECT_SHARE_LIMIT,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows": rows,
            "rejected_rows": rejected,
            "reject_share": round(share, 4),
            "limit": REJECT_SHARE_LIMIT,
            "rejects_by_rule": dg.MetadataValue.json(by_rule),
            "first_rejects": dg.MetadataValue.json([row for rows_ in first for row in rows_][:10]),
            "what_to_do": "Rejected rows are in raw.rejects with their rule and message; fix them "
            "at the source and drop a corrected file in the inbox.",
        },
    )
    yield dg.Output(
        batches,
        metadata={
            "files": sum(len(batch.files) for batch in batches.values()),
            "rows": rows,
            "valid_rows": rows - rejected,
            "rejected_rows": rejected,
        },
    )
    yield check


# One module-level name per movement feed (raw_pos_sales, raw_shipments, …): the defs folder
# loader collects the asset definitions it finds as module attributes.
globals().update({f"raw_{feed}": movement_asset(feed) for feed in MOVEMENT_FEEDS})
