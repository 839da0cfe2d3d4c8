"""Jobs, schedules and the inbox sensor (SPEC P6): hourly incremental, daily snapshot, monthly
period close, reservation expiry; a sensor that starts the incremental job when files arrive."""

import hashlib
from datetime import UTC, date, datetime

import dagster as dg

from pipelines import ingest, ledger_tasks, posting
from pipelines.defs.resources import StockcardResource

# The scheduled ledger work runs as the pipeline's service account; the master data grants it
# finance (to close periods) and sysadmin (to sweep expired reservations).
SCHEDULER_ACTOR = posting.PIPELINE_ACTOR

EVERYTHING = dg.AssetSelection.all()
REPORTS = dg.AssetSelection.tag("reports", "")
DOWNSTREAM_OF_REPORTS = dg.AssetSelection.groups("models", "quality")

whole_job = dg.define_asset_job(
    "stockcard_job",
    selection=EVERYTHING,
    description="The whole pipeline: ingest → post → extract → dbt (all marts and KPI reports) "
    "→ models → quality. The daily snapshot run, and what `stockcard demo` runs in-process.",
)
incremental_job = dg.define_asset_job(
    "incremental_job",
    selection=EVERYTHING - REPORTS - DOWNSTREAM_OF_REPORTS,
    description="New feed files posted, new events extracted, incremental marts updated; "
    "KPI reports, models and quality wait for the daily run.",
)


class LedgerTaskConfig(dg.Config):
    actor: str = SCHEDULER_ACTOR
    today: str = ""  # YYYY-MM-DD; empty means the run's date (UTC)


@dg.op
def close_finished_periods(
    context: dg.OpExecutionContext, stockcard: StockcardResource, config: LedgerTaskConfig
) -> dict:
    today = date.fromisoformat(config.today) if config.today else datetime.now(UTC).date()
    with stockcard.ledger() as ledger:
        outcome = ledger_tasks.close_finished_periods(ledger, today, actor=config.actor)
    context.log.info(f"period close: {outcome}")
    if outcome["refused"]:
        raise dg.Failure(
            description=f"the ledger refused to close {outcome['refused']['period']}",
            metadata={"closed": ", ".join(outcome["closed"]), **outcome["refused"]},
        )
    return outcome


@dg.op
def expire_reservations(
    context: dg.OpExecutionContext, stockcard: StockcardResource, config: LedgerTaskConfig
) -> dict:
    with stockcard.ledger() as ledger:
        outcome = ledger_tasks.expire_reservations(ledger, actor=config.actor)
    context.log.info(f"reservation expiry: {outcome}")
    return outcome


@dg.job(description="Close every finished month in the ledger (writes period snapshots).")
def period_close_job() -> None:
    close_finished_periods()


@dg.job(description="Release reservation holds whose TTL has run out (inventory_expired).")
def reservation_expiry_job() -> None:
    expire_reservations()


hourly_incremental = dg.ScheduleDefinition(
    name="hourly_incremental", cron_schedule="5 * * * *", job=incremental_job
)
daily_snapshot = dg.ScheduleDefinition(
    name="daily_snapshot", cron_schedule="30 1 * * *", job=whole_job
)
monthly_period_close = dg.ScheduleDefinition(
    name="monthly_period_close", cron_schedule="0 3 1 * *", job=period_close_job
)
reservation_expiry = dg.ScheduleDefinition(
    name="reservation_expiry", cron_schedule="*/5 * * * *", job=reservation_expiry_job
)


@dg.sensor(job=incremental_job, minimum_interval_seconds=60)
def inbox_sensor(
    context: dg.SensorEvaluationContext, stockcard: StockcardResource
) -> dg.SensorResult:
    """A run when files are waiting in the inbox; the same set of files never starts two runs
    (run_key), and files stay until a run has posted and archived them."""
    pending = ingest.pending_files(stockcard.locations().inbox)
    names = sorted(str(path) for paths in pending.values() for path in paths)
    if not names:
        return dg.SensorResult(skip_reason="the inbox is empty")
    key = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"inbox-{key}", tags={"files": str(len(names))})],
        cursor=key,
    )
