"""The dashboards' building blocks without a page: how numbers read, what the filters select,
how parameters reach DuckDB, and how an unreadable warehouse is told apart."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "streamlit_app"
if str(APP_DIR) not in sys.path:  # the app imports `lib` from its own folder, as Streamlit runs it
    sys.path.insert(0, str(APP_DIR))

from lib import formats, layout, queries, warehouse  # noqa: E402
from lib.filters import Filters  # noqa: E402

# -- numbers ----------------------------------------------------------------------------------


def test_quantities_read_as_they_are():
    assert formats.qty(Decimal("392.560000")) == "392.56"
    assert formats.qty(Decimal("100.000000")) == "100"
    assert formats.qty(Decimal("-1234567.5")) == "-1,234,567.5"
    assert formats.qty(Decimal("0E-6")) == "0"
    assert formats.qty(None) == formats.qty(float("nan")) == "—"


def test_money_is_rounded_half_up_to_the_cent_with_its_currency():
    assert formats.money(Decimal("392.565"), "EUR") == "EUR 392.57"
    assert formats.money(Decimal("-0.005")) == "-0.01"
    assert formats.money(Decimal("1234.5"), "USD") == "USD 1,234.50"


def test_rates_and_ratios():
    assert formats.percent(Decimal("0.769230")) == "76.9 %"
    assert formats.percent(Decimal(1)) == "100.0 %"
    assert formats.ratio(Decimal("0.202041")) == "0.20"
    assert formats.divide(10, 13) == Decimal(10) / Decimal(13)
    assert formats.divide(1, 0) is None and formats.divide(None, 3) is None


def test_a_change_shows_its_sign():
    assert formats.signed("96.56") == "+96.56"
    assert formats.signed("-0.16") == "-0.16"


def test_column_headings():
    assert layout.label("variant_id") == "SKU"
    assert layout.label("on_hand_qty") == "On hand"
    assert layout.label("shrink_value_amount") == "Shrink value"
    assert layout.label("is_reconciled") == "Reconciled"
    assert layout.label("facility_id") == "Facility"


# -- filters ----------------------------------------------------------------------------------


@pytest.fixture
def facts() -> duckdb.DuckDBPyConnection:
    """A little warehouse: three SKUs in two categories, movements at two facilities."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.dim_variants (variant_id varchar, category_name varchar)")
    con.execute(
        "insert into marts.dim_variants values ('TEE-M', 'apparel'), ('TEE-L', 'apparel'), "
        "('BOLT-8', 'hardware')"
    )
    con.execute(
        "create table moves (facility_id varchar, variant_id varchar, channel_id varchar, "
        "occurred_date date, month_start_date date)"
    )
    con.execute(
        """insert into moves values
        ('DC1', 'TEE-M', 'pos', '2026-09-10', '2026-09-01'),
        ('DC1', 'BOLT-8', 'wholesale', '2026-10-06', '2026-10-01'),
        ('ST1', 'TEE-L', 'pos', '2026-10-14', '2026-10-01'),
        ('ST1', 'TEE-M', 'ecommerce', '2026-10-20', '2026-10-01')"""
    )
    return con


def selected(con: duckdb.DuckDBPyConnection, chosen: Filters, **columns: str | None) -> list:
    condition = chosen.condition(**columns)
    sql = f"select facility_id, variant_id from moves where {condition} order by all"
    used = set(queries.PARAMETER.findall(sql))
    params = {name: value for name, value in chosen.params().items() if name in used}
    return con.sql(sql, params=params).fetchall()


def test_nothing_chosen_selects_everything(facts: duckdb.DuckDBPyConnection):
    assert Filters().condition() == "true"
    assert len(selected(facts, Filters())) == 4


def test_facility_category_and_sku_narrow_together(facts: duckdb.DuckDBPyConnection):
    assert selected(facts, Filters(facilities=("ST1",))) == [("ST1", "TEE-L"), ("ST1", "TEE-M")]
    assert selected(facts, Filters(categories=("hardware",))) == [("DC1", "BOLT-8")]
    both = Filters(facilities=("ST1",), categories=("apparel",), skus=("TEE-M",))
    assert selected(facts, both) == [("ST1", "TEE-M")]


def test_channel_and_dates_apply_only_where_the_query_names_their_column(
    facts: duckdb.DuckDBPyConnection,
):
    chosen = Filters(channels=("pos",), date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    assert len(selected(facts, chosen)) == 4  # no channel or date column named
    assert selected(facts, chosen, channel="channel_id", day="occurred_date") == [("ST1", "TEE-L")]
    # a month is in when it overlaps the dates: September is out, October in
    assert len(selected(facts, chosen, month="month_start_date")) == 3


def test_a_category_column_is_used_when_the_table_has_one(facts: duckdb.DuckDBPyConnection):
    condition = Filters(categories=("apparel",)).condition(sku=None, category="category_name")
    assert condition == "true and list_contains($categories, category_name)"


# -- the warehouse ------------------------------------------------------------------------------


def test_the_warehouse_path_comes_from_the_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("STOCKCARD_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    assert warehouse.warehouse_path() == tmp_path / "w.duckdb"
    monkeypatch.delenv("STOCKCARD_WAREHOUSE_PATH")
    assert warehouse.warehouse_path() == APP_DIR.parent / "data" / "warehouse.duckdb"


def problem(path: Path, sql: str = "select 1") -> warehouse.WarehouseUnavailable:
    with pytest.raises(warehouse.WarehouseUnavailable) as raised:
        warehouse.read(str(path), sql)
    return raised.value


def test_a_missing_or_foreign_file_is_told_apart(tmp_path: Path):
    assert problem(tmp_path / "none.duckdb").kind == "missing"
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    assert problem(junk).kind == "unreadable"


def test_a_missing_table_is_named(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    found = problem(path, "select * from marts.fct_stock_card")
    assert found.kind == "missing_table"
    assert "marts.fct_stock_card" in found.message


def test_a_warehouse_held_by_a_writer_is_busy_not_broken(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        found = problem(path)
        assert found.kind == "busy"
        assert "reload this page when the run ends" in found.hint
    finally:
        holder.communicate("")


def test_a_reader_lets_go_of_the_file_at_once(tmp_path: Path):
    """After a query the file can be opened for writing again: the pipeline is never kept out."""
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    assert warehouse.read(str(path), "select 42 as answer")["answer"].tolist() == [42]
    writer = subprocess.run(
        [sys.executable, "-c", "import sys, duckdb; duckdb.connect(sys.argv[1]).close()",
         str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert writer.returncode == 0, writer.stderr


def test_required_tables_name_what_is_absent_and_what_builds_it():
    present = frozenset({"marts.fct_stock_card"})
    warehouse.require(present, ["marts.fct_stock_card"])
    with pytest.raises(warehouse.WarehouseUnavailable) as marts:
        warehouse.require(present, ["marts.fct_transfers", "marts.fct_stock_card"])
    assert marts.value.message == "The warehouse has no `marts.fct_transfers` yet."
    assert "`stockcard pipeline run`" in marts.value.hint
    with pytest.raises(warehouse.WarehouseUnavailable) as feeds:
        warehouse.require(present, ["raw.rejects"])
    assert "feed inbox" in feeds.value.hint


def test_queries_bind_the_parameters_they_use_as_exact_values(monkeypatch, tmp_path: Path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t (facility_id varchar, qty decimal(18, 6))")
        con.execute("insert into t values ('DC1', 1.5), ('ST1', 2.25), ('ST2', 4)")
    monkeypatch.setenv("STOCKCARD_WAREHOUSE_PATH", str(path))
    found = queries.fetch(
        "select facility_id, qty from t where list_contains($facilities, facility_id) order by 1",
        {"facilities": ["DC1", "ST1"], "unused": "ignored"},
    )
    assert found.values.tolist() == [["DC1", Decimal("1.5")], ["ST1", Decimal("2.25")]]
    assert isinstance(found["qty"].iloc[0], Decimal)
