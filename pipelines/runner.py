"""Run a pipeline job in-process (what `stockcard demo` and `stockcard pipeline run` do) and
summarise it: events posted, rejects by rule, marts built, checks that failed, the quality
report. Every run is recorded in the warehouse's raw.pipeline_runs."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from pipelines.settings import JOBS, REPO_ROOT, WHOLE_JOB, Locations

MODEL_OUTPUTS = ("replenishment_suggestions", "transfer_suggestions", "abc_xyz")


@dataclass(slots=True)
class RunSummary:
    """What one run did, for the command line and for raw.pipeline_runs."""

    run_id: str
    job: str
    success: bool
    started_at: datetime
    finished_at: datetime
    files: int = 0
    rows_rejected: int = 0
    rejects_by_rule: dict[str, int] = field(default_factory=dict)
    events_posted: int = 0
    rows_replayed: int = 0
    refusals: int = 0
    refusals_by_code: dict[str, int] = field(default_factory=dict)
    events_extracted: int = 0
    models_built: int = 0
    quality_passed: bool | None = None
    quality_report: str | None = None
    failed_checks: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        return data


def definitions() -> dg.Definitions:
    """The code location, with the dbt manifest prepared first (never at import time)."""
    from pipelines.defs.dbt.project import prepare_manifest

    prepare_manifest()
    from pipelines.definitions import defs

    return defs()


def run_job(
    places: Locations,
    *,
    job: str = WHOLE_JOB,
    full_refresh: bool = False,
    instance: dg.DagsterInstance | None = None,
    run_config: dict[str, Any] | None = None,
    log_level: str = "WARNING",
    log_file: Path | None = None,
) -> RunSummary:
    """Execute `job` in this process against `places`; never raises for a failed step (the
    summary says which failed), only for a job that does not exist. With `log_file`, everything
    the run prints (Dagster's log at `log_level`, dbt's output) goes there instead."""
    from pipelines.defs.resources import StockcardResource

    # dagster.yaml turns telemetry off; this covers any other instance (a bare DAGSTER_HOME)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "yes")
    if job not in JOBS:
        raise ValueError(f"job: unknown job {job!r}; one of {', '.join(JOBS)}")
    resource = StockcardResource(
        data_dir=str(places.data_dir), ledger_url=places.ledger_url, warehouse=str(places.warehouse)
    )
    config = {
        **(run_config or (refresh_config() if full_refresh else {})),
        # the command line prints a summary; the step-by-step log is in the Dagster UI
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    started = datetime.now(UTC).replace(tzinfo=None)
    run_id = str(uuid.uuid4())
    chosen_instance = nullcontext(instance) if instance else dagster_home()
    with printed_to(log_file), chosen_instance as chosen:
        result = (
            definitions()
            .resolve_job_def(job)
            .execute_in_process(
                run_config=config,
                instance=chosen,
                resources={"stockcard": resource},
                raise_on_error=False,
                run_id=run_id,
            )
        )
    summary = summarise(result, job, started)
    if job in ("stockcard_job", "incremental_job"):
        summary = with_feed_counts(summary, places.warehouse)
        record_run(places.warehouse, summary)
    return summary


@contextmanager
def printed_to(log_file: Path | None) -> Iterator[None]:
    """Everything this process and its children print, appended to `log_file` for a while.

    Redirected at the file descriptors, not only sys.stdout: dbt's and Dagster's log handlers
    hold the original streams, and dbt runs as a child process."""
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def refresh_config() -> dict[str, Any]:
    """Extract everything again and rebuild every incremental model from scratch."""
    return {
        "ops": {
            "ledger_events": {"config": {"full_refresh": True}},
            "warehouse_models": {"config": {"full_refresh": True}},
        }
    }


@contextmanager
def dagster_home() -> Iterator[dg.DagsterInstance]:
    """The Dagster instance runs are recorded in: $DAGSTER_HOME's when it is set, else the
    repository's dagster.yaml (history under data/dagster, paths relative to the repository
    root), so `dagster dev` shows the runs started from the command line."""
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            yield instance
        return
    before_cwd = Path.cwd()
    os.environ["DAGSTER_HOME"] = str(REPO_ROOT)
    os.chdir(REPO_ROOT)
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        os.chdir(before_cwd)
        os.environ.pop("DAGSTER_HOME", None)


def summarise(result: dg.ExecuteInProcessResult, job: str, started: datetime) -> RunSummary:
    summary = RunSummary(
        run_id=result.run_id,
        job=job,
        success=result.success,
        started_at=started,
        finished_at=datetime.now(UTC).replace(tzinfo=None),
    )
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key.to_user_string()
        metadata = {name: value.value for name, value in materialization.metadata.items()}
        if key == "ledger_postings":
            summary.events_posted = int(metadata.get("events_posted", 0))
            summary.rows_replayed = int(metadata.get("rows_replayed", 0))
        elif key == "raw/ledger_events":
            summary.events_extracted = int(metadata.get("events_extracted", 0))
        elif key == "quality_report":
            summary.quality_passed = bool(metadata.get("success"))
            summary.quality_report = str(metadata.get("report"))
        elif key.startswith("marts/") or key in MODEL_OUTPUTS:
            summary.models_built += 1
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            summary.failed_checks.append(
                f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            )
    summary.failed_steps = [
        event.step_key for event in result.all_events if event.is_step_failure and event.step_key
    ]
    return summary


def with_feed_counts(summary: RunSummary, warehouse: Path) -> RunSummary:
    """Rejects and refusals of this run, by rule and by code, from the warehouse."""
    if not warehouse.exists():
        return summary
    with duckdb.connect(str(warehouse)) as con:
        present = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        if "rejects" in present:
            summary.rejects_by_rule = dict(
                con.execute(
                    "select rule, count(*) from raw.rejects where run_id = ? group by rule "
                    "order by 2 desc",
                    [summary.run_id],
                ).fetchall()
            )
            summary.rows_rejected = len(
                con.execute(
                    "select distinct feed, file, row_number from raw.rejects where run_id = ?",
                    [summary.run_id],
                ).fetchall()
            )
        if "posting_refusals" in present:
            summary.refusals_by_code = dict(
                con.execute(
                    "select code, count(*) from raw.posting_refusals where run_id = ? "
                    "group by code order by 2 desc",
                    [summary.run_id],
                ).fetchall()
            )
            summary.refusals = sum(summary.refusals_by_code.values())
        if "feed_files" in present:
            summary.files = con.execute(
                "select count(distinct file) from raw.feed_files where run_id = ?",
                [summary.run_id],
            ).fetchone()[0]
    return summary


RUNS_DDL = """
create table if not exists raw.pipeline_runs (
    run_id varchar primary key,
    job varchar not null,
    started_at timestamp not null,
    finished_at timestamp not null,
    status varchar not null,
    files bigint not null,
    rows_rejected bigint not null,
    events_posted bigint not null,
    refusals bigint not null,
    events_extracted bigint not null,
    models_built bigint not null,
    quality_passed boolean,
    quality_report varchar,
    failed_checks varchar
)
"""


def record_run(warehouse: Path, summary: RunSummary) -> None:
    """One row per run in raw.pipeline_runs (the dashboards' "last pipeline run")."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw")
        con.execute(RUNS_DDL)
        con.execute(
            "insert or replace into raw.pipeline_runs values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                summary.run_id, summary.job, summary.started_at, summary.finished_at,
                "success" if summary.success else "failure", summary.files,
                summary.rows_rejected, summary.events_posted, summary.refusals,
                summary.events_extracted, summary.models_built, summary.quality_passed,
                summary.quality_report, ", ".join(summary.failed_checks),
            ],
        )  # fmt: skip
