"""The Dagster pipeline end to end: `stockcard demo` at a tiny scale from an empty data folder,
re-runs that post and extract nothing twice, a full rebuild equal to the incremental runs, and
the definitions with their schedules and inbox sensor.

The demo is run once for the module (simulate, post, extract, dbt build, models, quality);
the other tests continue from its data folder.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ledger import Ledger
from pipelines import runner
from pipelines.settings import Locations, locations
from stockcard.cli import main

COMPARED_TABLES = (
    "raw.ledger_events", "marts.fct_stock_card", "marts.fct_daily_stock_snapshots",
    "marts.fct_period_snapshots", "marts.fct_cost_layers", "marts.fct_average_cost_history",
    "marts.rpt_adjustment_trend", "marts.rpt_inventory_turnover",
)  # fmt: skip


@dataclass
class Demo:
    places: Locations
    exit_code: int
    output: str


@pytest.fixture(scope="module")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, dagster_home: Path) -> Demo:
    data = tmp_path_factory.mktemp("data")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["demo", "--scale", "tiny", "--seed", "7", "--data-dir", str(data)])
    return Demo(locations(data), code, output.getvalue())


def event_count(places: Locations) -> int:
    with Ledger.open(places.ledger_url) as ledger, ledger.store.read() as tx:
        return tx.one("select count(*) from stock_event")[0]


def query(places: Locations, sql: str) -> list[tuple]:
    with duckdb.connect(str(places.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_demo_runs_the_whole_job_from_an_empty_data_folder(demo: Demo) -> None:
    assert demo.exit_code == 0, demo.output
    places = demo.places
    posted = event_count(places)
    assert posted > 1000
    expected = (
        "events posted", "rows rejected", "marts built", "stockcard dashboard",
        "stockcard pipeline dev", "dbt docs serve", "quality (marts vs ledger)",
    )  # fmt: skip
    for words in expected:
        assert words in demo.output, words
    # the bad rows the simulator planted were rejected with their rule, the rest went on
    rules = {row[0] for row in query(places, "select distinct rule from raw.rejects")}
    assert len(rules) >= 5, rules
    [(marts,)] = query(
        places,
        "select count(*) from information_schema.tables where table_schema = 'marts'",
    )
    assert marts >= 30
    [(status, events_posted, quality_passed)] = query(
        places,
        "select status, events_posted, quality_passed from raw.pipeline_runs "
        "where job = 'stockcard_job'",
    )
    assert (status, events_posted, quality_passed) == ("success", posted, True)
    assert query(places, "select count(*) from marts.replenishment_suggestions")[0][0] > 0
    assert (places.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site").is_dir()
    waiting = [path for path in places.inbox.glob("*/*") if path.is_file()]
    assert waiting == [], "processed files move to the archive"


def test_running_again_posts_nothing_twice_and_extracts_nothing_twice(demo: Demo) -> None:
    places = demo.places
    before = event_count(places)
    # the source systems send every file again
    for archived in places.archive.rglob("*"):
        if archived.is_file():
            target = places.inbox / archived.relative_to(places.archive)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(archived, target)

    summary = runner.run_job(places, instance=dg.DagsterInstance.ephemeral())

    assert summary.success, summary.failed_steps
    assert summary.events_posted == 0
    assert summary.rows_replayed > 0
    assert summary.events_extracted == 0
    assert event_count(places) == before
    assert query(places, "select count(*) from raw.ledger_events")[0][0] == before


def test_a_full_rebuild_gives_the_same_tables_as_the_incremental_runs(demo: Demo) -> None:
    places = demo.places
    before = {table: sorted_rows(places, table) for table in COMPARED_TABLES}

    summary = runner.run_job(places, full_refresh=True, instance=dg.DagsterInstance.ephemeral())

    assert summary.success, summary.failed_steps
    assert summary.events_extracted == event_count(places)
    after = {table: sorted_rows(places, table) for table in COMPARED_TABLES}
    for table in COMPARED_TABLES:
        assert after[table] == before[table], table


def sorted_rows(places: Locations, table: str) -> list[tuple]:
    return sorted(query(places, f"select * from {table}"), key=repr)


def test_the_definitions_load_with_every_stage(dagster_home: Path) -> None:
    defs = runner.definitions()
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    for key in ("raw_master_data", "ledger_master_data", "ledger_postings", "raw/ledger_events",
                "marts/fct_stock_card", "marts/rpt_adjustment_trend",
                "replenishment_suggestions", "transfer_suggestions", "abc_xyz",
                "quality_report"):  # fmt: skip
        assert key in keys, key
    assert any(key.startswith("raw_pos") for key in keys)
    # the reconciliation tests are asset checks on the marts they reconcile
    from pipelines.defs.dbt.assets import warehouse_models

    checks = {(key.asset_key.to_user_string(), key.name) for key in warehouse_models.check_keys}
    assert ("marts/fct_stock_card", "assert_stock_card_matches_ledger_balances") in checks
    assert ("marts/fct_cost_layers", "assert_fifo_layers_match_ledger") in checks
    for job in runner.JOBS:
        assert defs.resolve_job_def(job).name == job


@pytest.mark.parametrize(
    "schedule", ["hourly_incremental", "daily_snapshot", "monthly_period_close",
                 "reservation_expiry"],
)  # fmt: skip
def test_each_schedule_evaluates_to_a_run(schedule: str, dagster_home: Path) -> None:
    definition = runner.definitions().resolve_schedule_def(schedule)
    at = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    result = definition.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=at))
    assert len(result.run_requests or []) == 1
    assert definition.job_name in runner.JOBS


def test_the_inbox_sensor_asks_for_one_run_per_new_set_of_files(
    tmp_path: Path, dagster_home: Path
) -> None:
    from pipelines.defs.resources import StockcardResource

    sensor = runner.definitions().resolve_sensor_def("inbox_sensor")
    resources = {"stockcard": StockcardResource(data_dir=str(tmp_path))}

    def tick() -> dg.SensorResult:
        with dg.build_sensor_context(resources=resources) as context:
            return sensor.evaluate_tick(context)

    assert tick().run_requests == []
    feed = next(iter(sample_inbox().iterdir()))
    shutil.copytree(feed, tmp_path / "inbox" / feed.name)
    first = tick().run_requests
    assert len(first) == 1
    assert sensor.job_name == "incremental_job"
    assert tick().run_requests[0].run_key == first[0].run_key


def sample_inbox() -> Path:
    return Path(__file__).resolve().parents[2] / "data" / "sample" / "inbox"


def test_the_incremental_job_runs_on_movement_files_alone(demo: Demo) -> None:
    places = demo.places
    sent = sorted((places.archive / "pos_sales").iterdir())[0]
    target = places.inbox / "pos_sales" / sent.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sent, target)

    summary = runner.run_job(places, job="incremental_job", instance=dg.DagsterInstance.ephemeral())

    assert summary.success, summary.failed_steps
    assert (summary.events_posted, summary.files) == (0, 1)
    assert summary.rows_replayed > 0
    assert summary.models_built > 0, "the marts are updated without a master-data drop"
    assert summary.quality_passed is None, "quality waits for the daily run"


def test_an_unreadable_master_data_file_is_one_reject_and_the_rest_goes_on(
    tmp_path: Path, dagster_home: Path
) -> None:
    from pipelines.defs.ingest.assets import raw_master_data
    from pipelines.defs.resources import StockcardResource

    for feed in ("parties", "facilities", "bins"):
        shutil.copytree(sample_inbox() / feed, tmp_path / "inbox" / feed)
    (tmp_path / "inbox" / "parties" / "parties_2026-09-02.jsonl").write_bytes(b"\xff\xfe\x00{")

    result = dg.materialize(
        [raw_master_data], resources={"stockcard": StockcardResource(data_dir=str(tmp_path))}
    )

    batches = result.output_for_node("raw_master_data")
    parties = batches["parties"]
    assert parties.rejects.get_column("file").to_list() == ["parties_2026-09-02.jsonl"]
    assert parties.good.height > 0
    assert batches["facilities"].rejects.height == 0
    assert batches["bins"].good.height > 0
