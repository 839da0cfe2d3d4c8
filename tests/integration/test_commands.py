"""The small commands around the pipeline: `stockcard sql` (read-only analyst SQL on the
warehouse) and `stockcard tour` (the ledger alone)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from stockcard.cli import main


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.stock (sku varchar, qty decimal(18, 6))")
        con.execute("insert into marts.stock values ('TEE-M', 12.5), ('BOLT-8', 0.000001)")
    return path


def test_sql_prints_exact_decimals_as_a_table_csv_or_json(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "select sku, qty from marts.stock order by sku"
    assert main(["sql", "--warehouse", str(warehouse), query]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["sku", "qty"]
    assert table[2].split() == ["BOLT-8", "0.000001"]
    assert table[-1] == "(2 rows)"

    assert main(["sql", "--warehouse", str(warehouse), "--format", "csv", query]) == 0
    assert capsys.readouterr().out.splitlines() == ["sku,qty", "BOLT-8,0.000001", "TEE-M,12.500000"]

    assert main(["sql", "--warehouse", str(warehouse), "--format", "json", query]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[1] == {"sku": "TEE-M", "qty": "12.500000"}


def test_sql_cannot_change_the_warehouse(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--warehouse", str(warehouse), "delete from marts.stock"]) == 1
    assert "read-only" in capsys.readouterr().err
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.stock").fetchone() == (2,)


def test_sql_on_a_missing_warehouse_says_how_to_build_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--warehouse", str(tmp_path / "none.duckdb"), "select 1"]) == 2
    assert "stockcard demo" in capsys.readouterr().err


def test_the_tour_posts_into_a_fresh_ledger_and_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tour", "--db", f"sqlite:///{tmp_path / 'tour.sqlite'}"]) == 0
    out = capsys.readouterr().out
    assert "Outbox" in out
    assert "TEE-BLU-M" in out


def test_the_demo_never_uses_a_ledger_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.settings import data_folder, locations

    monkeypatch.setenv("STOCKCARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STOCKCARD_LEDGER_URL", "postgresql://somebody@db.example/real")
    monkeypatch.setenv("STOCKCARD_WAREHOUSE_PATH", str(tmp_path / "real.duckdb"))
    places = locations(data_folder())
    assert places.ledger_url == f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite'}"
    assert places.warehouse == tmp_path / "data" / "warehouse.duckdb"
    # without a folder given, the environment chooses (the pipeline's own commands)
    assert locations().ledger_url == "postgresql://somebody@db.example/real"


def test_the_demo_leaves_a_ledger_it_did_not_make_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(b"not the demo's")
    assert main(["demo", "--scale", "tiny", "--data-dir", str(tmp_path)]) == 2
    assert "was not made by the demo" in capsys.readouterr().err
    assert ledger.read_bytes() == b"not the demo's"
