"""Reading feed files as text: numbers keep their exact text, broken lines and unreadable files
become rejects, a file with the wrong columns keeps its rows (SPEC P1, P2)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from models.feeds import ReferenceData, validate
from pipelines.ingest import read_feed_file, validate_files


def test_json_lines_keep_exact_numbers_and_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "po_2026-09-07.jsonl"
    path.write_text(
        '{"po_number": "PO-1", "line": 1, "qty": 0.10, "unit_cost": 4.20, "qc_required": true}\n'
        '{"po_number": "PO-1", "line": 2, "qty": 1e3\n'
        "\n"
        '["not", "an", "object"]\n',
        encoding="utf-8",
    )
    frame = read_feed_file("purchase_orders", path)
    assert frame.schema == dict.fromkeys(frame.columns, pl.String)
    first = frame.row(0, named=True)
    assert (first["qty"], first["unit_cost"], first["qc_required"]) == ("0.10", "4.20", "true")
    assert frame["_malformed"].to_list()[1:] == [
        '{"po_number": "PO-1", "line": 2, "qty": 1e3',
        '["not", "an", "object"]',
    ]


def test_parquet_columns_of_any_type_are_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "putaway_2026-09-07.parquet"
    pl.DataFrame(
        {
            "task_no": ["PA-1"],
            "qty": pl.Series([Decimal("2.500")], dtype=pl.Decimal(10, 3)),
            "moved_at": [datetime(2026, 9, 7, 8, 30, tzinfo=UTC)],
        }
    ).write_parquet(path)
    row = read_feed_file("putaways", path).row(0, named=True)
    assert row == {"task_no": "PA-1", "qty": "2.500", "moved_at": "2026-09-07T08:30:00Z"}


def test_an_unreadable_file_is_one_reject_and_the_other_files_go_on(tmp_path: Path) -> None:
    broken = tmp_path / "putaway_2026-09-07.parquet"
    broken.write_bytes(b"not parquet")
    good = tmp_path / "putaway_2026-09-14.parquet"
    pl.DataFrame({"task_no": ["PA-1"]}).write_parquet(good)
    batch = validate_files("putaways", [broken, good], ReferenceData())
    unreadable = batch.rejects.filter(pl.col("rule") == "unreadable").row(0, named=True)
    assert (unreadable["file"], unreadable["row_number"], unreadable["field"]) == (
        "putaway_2026-09-07.parquet",
        0,
        "file",
    )
    assert unreadable["message"].startswith("putaway_2026-09-07.parquet: cannot be read as parquet")
    assert batch.file_counts.select("file", "rows").rows() == [
        ("putaway_2026-09-07.parquet", 0),
        ("putaway_2026-09-14.parquet", 1),
    ]


def test_a_file_with_none_of_the_columns_keeps_every_row() -> None:
    result = validate(
        "pos_sales", pl.DataFrame({"foo": ["1", "2", "3"]}), ReferenceData(), file="f"
    )
    assert result.good.height == 0
    assert result.rejects["row_number"].unique().sort().to_list() == [1, 2, 3]
    assert set(result.rejects["rule"]) == {"required"}
