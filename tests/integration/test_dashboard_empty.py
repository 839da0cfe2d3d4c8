"""Every dashboard page on a warehouse it cannot show: missing, not a DuckDB file, without marts,
without a single event, locked by a writing pipeline, or missing some tables. Each page says
what is wrong and what to run, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.integration.test_dashboard_warehouse import known_warehouse

APP_DIR = Path(__file__).resolve().parents[2] / "streamlit_app"
APP = APP_DIR / "streamlit_app.py"
PAGES = sorted(path.stem for path in (APP_DIR / "app_pages").glob("*.py"))
OpenPage = Callable[[str], AppTest]


def test_every_page_is_in_the_navigation():
    """The parametrised tests below cover every file in app_pages/, and the app offers them all."""
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert len(PAGES) == 10
    for page in PAGES:
        app.switch_page(f"app_pages/{page}.py")  # raises for a page the navigation lacks


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], OpenPage]:
    def on(warehouse: Path) -> OpenPage:
        monkeypatch.setenv("STOCKCARD_WAREHOUSE_PATH", str(warehouse))

        def opened(page: str) -> AppTest:
            app = AppTest.from_file(str(APP), default_timeout=60).run()
            if page != "overview":
                app.switch_page(f"app_pages/{page}.py").run()
            assert not app.exception, [error.value for error in app.exception]
            return app

        return opened

    return on


def advice(app: AppTest) -> str:
    """Everything the page says in its message boxes."""
    boxes = [*app.info, *app.warning, *app.error]
    return "\n".join(box.value for box in boxes)


@pytest.mark.parametrize("page", PAGES)
def test_a_missing_warehouse_says_how_to_build_one(
    page: str, open_page: Callable[[Path], OpenPage], tmp_path: Path
):
    app = open_page(tmp_path / "nowhere.duckdb")(page)
    said = advice(app)
    assert "There is no warehouse at" in said
    assert "`stockcard demo`" in said and "`stockcard pipeline run`" in said
    assert app.title[0].value  # the page keeps its title


@pytest.mark.parametrize("page", PAGES)
def test_a_file_that_is_not_a_warehouse_is_named(
    page: str, open_page: Callable[[Path], OpenPage], tmp_path: Path
):
    junk = tmp_path / "warehouse.duckdb"
    junk.write_text("not a database")
    said = advice(open_page(junk)(page))
    assert "cannot be read as a DuckDB warehouse" in said


@pytest.mark.parametrize("page", PAGES)
def test_a_warehouse_without_marts_says_to_run_the_pipeline(
    page: str, open_page: Callable[[Path], OpenPage], tmp_path: Path
):
    empty = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(empty)).close()
    said = advice(open_page(empty)(page))
    assert "has no marts yet" in said
    assert "`stockcard pipeline run`" in said


@pytest.mark.parametrize("page", PAGES)
def test_a_warehouse_without_events_says_so(
    page: str, open_page: Callable[[Path], OpenPage], tmp_path: Path
):
    """Built from a ledger nothing was posted to: the stock card is there, and empty."""
    eventless = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(eventless)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_stock_card (event_id bigint, occurred_date date, "
            "facility_id varchar, variant_id varchar, movement_qty decimal(18, 6))"
        )
    said = advice(open_page(eventless)(page))
    assert "holds no stock events yet" in said


@pytest.fixture
def writing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the known warehouse that another process holds open for writing, as the
    pipeline does while it runs."""
    source = known_warehouse(tmp_path_factory)
    copy = tmp_path_factory.mktemp("locked") / "warehouse.duckdb"
    shutil.copy(source, copy)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(copy)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "writing"
    yield copy
    holder.communicate("")  # closing its input lets it finish


HOLD_OPEN = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("create table if not exists raw.pipeline_lock (held boolean)")
print("writing", flush=True)
sys.stdin.read()
connection.close()
"""


@pytest.mark.parametrize("page", PAGES)
def test_a_warehouse_being_written_asks_to_wait(
    page: str, open_page: Callable[[Path], OpenPage], writing: Path
):
    said = advice(open_page(writing)(page))
    assert "is being written by the pipeline right now" in said
    assert "reload this page when the run ends" in said


@pytest.fixture
def without_workflow_marts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built before the transfer and workflow marts, the feed tables and the model
    outputs existed."""
    source = known_warehouse(tmp_path_factory)
    copy = tmp_path_factory.mktemp("older") / "warehouse.duckdb"
    shutil.copy(source, copy)
    with duckdb.connect(str(copy)) as con:
        for (name,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name in ('fct_transfers', 'fct_transfer_shipments', "
            "'rpt_transfer_summary', 'rpt_transfer_lead_times', 'rpt_transfer_volumes', "
            "'rpt_transfer_performance', 'rpt_pending_actions', 'rpt_fill_rate', "
            "'rpt_stock_accuracy', 'fct_count_lines', 'rpt_count_variance', "
            "'rpt_cycle_times', 'rejects', 'posting_refusals', 'feed_files', 'pipeline_runs', "
            "'replenishment_suggestions', 'transfer_suggestions', 'abc_xyz')"
        ).fetchall():
            con.execute(f"drop table {name} cascade")
    return copy


@pytest.mark.parametrize("page", PAGES)
def test_a_missing_table_is_named_and_the_rest_of_the_page_stays(
    page: str, open_page: Callable[[Path], OpenPage], without_workflow_marts: Path
):
    app = open_page(without_workflow_marts)(page)
    if page in ("transfers", "counts"):
        said = advice(app)
        assert "The warehouse has no `marts." in said
        assert "The marts are built by the pipeline" in said
    if page == "overview":
        shown = {metric.label: metric.value for metric in app.metric}
        assert shown["Stock value"] == "EUR 392.56"
        assert "The warehouse has no `marts.rpt_pending_actions` yet." in advice(app)
    if page == "replenishment":
        assert "computed by the pipeline's model stage" in advice(app)
    if page == "data_quality":
        said = advice(app)
        assert "The warehouse has no `raw.pipeline_runs` yet." in said
        assert "`stockcard pipeline run`" in said
        assert {metric.label for metric in app.metric} >= {"Facility + SKUs reconciled"}
