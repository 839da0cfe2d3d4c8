"""The quality stage: Great Expectations compares the marts with the ledger itself (closing
balances, valuations, event totals feeding the KPI reports, the adjustment report) and writes
Data Docs; a warehouse that disagrees with the ledger fails with the rows that differ."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ledger import Ledger
from ledger.demo import MASTER_DATA, movements
from pipelines.extract import extract
from pipelines.quality import check_quality
from pipelines.warehouse import build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, Path]]:
    folder = tmp_path_factory.mktemp("quality")
    ledger = Ledger.open(f"sqlite:///{folder / 'ledger.sqlite'}")
    ledger.init()
    ledger.apply(MASTER_DATA, actor="demo", role="sysadmin")
    outcomes = ledger.post_many(movements())
    assert all(hasattr(outcome, "event_ids") for outcome in outcomes)
    warehouse = folder / "warehouse.duckdb"
    extract(ledger.store, warehouse)
    assert build(warehouse).success
    yield ledger, warehouse
    ledger.close()


def test_marts_agree_with_the_ledger_and_the_report_can_be_opened(
    built: tuple[Ledger, Path], tmp_path: Path
) -> None:
    ledger, warehouse = built
    report = check_quality(ledger.store, warehouse, tmp_path / "quality")
    assert report.success, [check for check in report.checks if not check.success]
    assert [check.name for check in report.checks] == [
        "closing_balances_match_ledger",
        "owned_valuations_match_ledger",
        "kpi_inputs_match_ledger_events",
        "adjustment_report_matches_ledger",
    ]
    assert all(check.rows_compared > 0 for check in report.checks)
    index = Path(report.report_path)
    assert index.is_file()
    html = index.read_text()
    assert "closing_balances_match_ledger" in html
    # a second run reuses the project and still builds the report
    again = check_quality(ledger.store, warehouse, tmp_path / "quality")
    assert again.success


def test_a_mart_that_disagrees_with_the_ledger_fails_with_the_rows_that_differ(
    built: tuple[Ledger, Path], tmp_path: Path
) -> None:
    ledger, warehouse = built
    tampered = tmp_path / "tampered.duckdb"
    shutil.copy(warehouse, tampered)
    with duckdb.connect(str(tampered)) as con:
        position, sequence = con.execute(
            "select position_id, max(position_sequence) from marts.fct_stock_card "
            "where bucket = 'available' group by position_id order by position_id limit 1"
        ).fetchone()
        con.execute(
            "update marts.fct_stock_card set running_qty = running_qty + 1 "
            "where position_id = ? and position_sequence = ?",
            [position, sequence],
        )
    report = check_quality(ledger.store, tampered, tmp_path / "quality")
    assert not report.success
    failed = {check.name: check for check in report.failed()}
    assert set(failed) == {"closing_balances_match_ledger"}
    check = failed["closing_balances_match_ledger"]
    assert check.failed_expectations == ["expect_column_pair_values_to_be_equal"]
    assert [row["position_id"] for row in check.first_failures] == [position]
    row = check.first_failures[0]
    assert Decimal(row["mart_qty"]) == Decimal(row["ledger_qty"]) + 1
