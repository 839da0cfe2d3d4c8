"""The simulator (SPEC S1): deterministic by seed, each feed in its source system's format, split
into several files, with bad rows at the share asked for; the committed sample is its output."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from models.feeds import FEEDS, MOVEMENT_FEEDS
from pipelines.ingest import pending_files, read_feed_file
from simulator import simulate
from simulator.scale import scale_of

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "inbox"
EXTENSIONS = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("inbox")
    return root, simulate(root, scale="tiny", seed=7)


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_tiny_seed_7_regenerates_the_committed_sample_byte_for_byte(tiny) -> None:
    root, _summary = tiny
    generated, committed = files_of(root), files_of(SAMPLE)
    assert sorted(generated) == sorted(committed)
    different = [name for name in generated if generated[name] != committed[name]]
    assert different == []


def test_another_seed_writes_other_feeds(tiny, tmp_path: Path) -> None:
    root, summary = tiny
    other = simulate(tmp_path, scale="tiny", seed=8)
    assert other.files.keys() == summary.files.keys()
    ours, theirs = files_of(root), files_of(tmp_path)
    pos = [name for name in ours if name.startswith("pos_sales/") and name in theirs]
    assert pos and all(ours[name] != theirs[name] for name in pos)


def test_every_feed_is_written_in_its_source_systems_format(tiny) -> None:
    root, summary = tiny
    assert set(summary.files) == set(FEEDS)
    for feed, contract in FEEDS.items():
        for path in (root / feed).iterdir():
            assert path.suffix == EXTENSIONS[contract.format], path
            if contract.format == "csv":
                header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
                assert header == list(contract.column_names), path
            elif contract.format == "parquet":
                assert pl.read_parquet(path).columns == list(contract.column_names)
            else:
                parsed = [
                    line for line in path.read_text(encoding="utf-8").splitlines()
                    if is_json_object(line)
                ]  # fmt: skip
                assert parsed and all(set(json.loads(line)) <= set(contract.column_names)
                                      for line in parsed)  # fmt: skip


def is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def test_movement_feeds_come_in_several_files_the_inbox_sees(tiny) -> None:
    root, summary = tiny
    pending = pending_files(root)
    for feed in MOVEMENT_FEEDS:
        if feed in ("consignment_settlements", "recalls"):
            continue  # monthly, and one recall a run: too rare for four weeks
        assert summary.files[feed] >= 2, feed
        assert len(pending[feed]) == summary.files[feed]


def test_bad_rows_are_mixed_in_at_the_share_asked_for(tiny) -> None:
    _root, summary = tiny
    movement_rows = sum(summary.rows[feed] for feed in MOVEMENT_FEEDS)
    bad = sum(sum(kinds.values()) for kinds in summary.bad_rows.values())
    assert 0.012 <= bad / movement_rows <= 0.03
    assert summary.bad_rows["pos_sales"]  # the biggest feed always gets some
    assert set(summary.bad_rows_by_kind) >= {
        "missing_field", "unknown_sku", "negative_qty", "non_numeric_qty", "bad_date",
        "duplicate", "closed_period",
    }  # fmt: skip
    assert not set(summary.bad_rows) - set(MOVEMENT_FEEDS)  # master data stays clean


def test_no_bad_rows_when_none_are_asked_for(tmp_path: Path) -> None:
    summary = simulate(tmp_path, scale="tiny", seed=7, bad_row_share=0.0)
    assert summary.bad_rows == {}
    rows = read_feed_file("pos_sales", sorted((tmp_path / "pos_sales").iterdir())[0])
    assert rows.height > 0


def test_the_calendar_is_in_the_past_and_the_month_before_it_is_closed(tiny) -> None:
    root, summary = tiny
    assert (summary.first_day, summary.last_day) == ("2026-09-01", "2026-09-28")
    periods = read_feed_file("periods", next((root / "periods").iterdir()))
    assert periods.rows() == [("2026-08", "closed"), ("2026-09", "open")]
    written = json.loads((root / "simulation.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(summary.as_dict()))


def test_scales_by_name_or_number_of_movements() -> None:
    assert scale_of("tiny").days == 28 and scale_of("tiny").stores == 3
    small = scale_of("small")
    assert (small.start.isoformat(), small.days) == ("2025-11-01", 365)
    assert scale_of("large").stores > scale_of("medium").stores > small.stores
    assert scale_of(200_000).target == 200_000
    with pytest.raises(ValueError, match="scale: must be one of tiny, small, medium, large"):
        scale_of("huge")
    with pytest.raises(ValueError, match="at least 1000"):
        scale_of(10)
