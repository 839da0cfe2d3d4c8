"""The ledger's command line (L9.1), driven as a user would: `stockcard ledger …` in a process of
its own, JSON lines in, JSON out, one result per posted line and exit status 1 on a rejection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from tests.pgserver import ThrowawayPostgres
from tests.support import WORLD

ROOT = Path(__file__).resolve().parents[2]
SOURCE = {"document_type": "GRN", "document_id": "GRN-1"}


def stockcard(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stockcard.cli", "ledger", "--db", db, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def ok(db: str, *args: str) -> Any:
    """Run a command that must succeed; its JSON output."""
    done = stockcard(db, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def json_lines(path: Path, records: list[Any]) -> str:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return str(path)


def request(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "idempotency_key": key, "actor": "alice", "role": "inventory_controller",
        "source": SOURCE, "occurred_at": "2026-10-15T10:00:00Z", **fields,
    }  # fmt: skip


def receipt(key: str, sku: str, qty: str, facility: str = "DC1", **fields: Any) -> dict:
    return request(
        key, kind="receipt", sku=sku, facility=facility, qty=qty, unit_cost="5.00",
        currency="EUR", **fields,
    )  # fmt: skip


def set_up(db: str, tmp_path: Path) -> None:
    assert ok(db, "init")["ok"] is True
    applied = ok(db, "apply", json_lines(tmp_path / "world.jsonl", WORLD), "--actor", "ops")
    assert applied["ok"] is True
    assert {result["status"] for result in applied["results"]} == {"created"}


def post_mixed(db: str, tmp_path: Path) -> tuple[int, list[dict]]:
    """A good line, a bad line, a line that is not JSON, a blank line and another good line."""
    path = tmp_path / "post.jsonl"
    path.write_text(
        json.dumps(receipt("grn-1", "TEE-M", "10")) + "\n"
        + json.dumps(receipt("grn-2", "TEE-XXL", "1")) + "\n"
        + '{"idempotency_key": "grn-3", "kind": \n'
        + "\n"
        + json.dumps(receipt("grn-4", "TEE-M", "4", facility="ST1")) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    done = stockcard(db, "post", str(path))
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def assert_mixed_results(status: int, results: list[dict]) -> None:
    assert status == 1
    assert [result["line"] for result in results] == [1, 2, 3, 5]
    good, unknown, broken, store = results
    assert good["ok"] is True
    assert good["replayed"] is False
    assert [(e["kind"], e["sku"], e["qty"]) for e in good["events"]] == [("receipt", "TEE-M", "10")]
    assert unknown["ok"] is False
    assert (unknown["error"]["code"], unknown["error"]["field"]) == ("unknown_sku", "sku")
    assert broken["ok"] is False
    assert (broken["error"]["code"], broken["error"]["field"]) == ("validation_error", "line")
    assert "line 3" in broken["error"]["message"]
    assert store["ok"] is True
    assert store["events"][0]["facility"] == "ST1"


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite ledger with the standard world, set up in-process (the commands that do it are
    tested on their own below)."""
    url = f"sqlite:///{tmp_path}/l.sqlite"
    with Ledger.open(url) as ledger:
        ledger.init()
        ledger.apply(WORLD, actor="ops", role="sysadmin")
    return url


def test_init_and_apply_are_idempotent(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/l.sqlite"
    world = json_lines(tmp_path / "world.jsonl", WORLD)
    first = ok(url, "init")
    created = ok(url, "apply", world, "--actor", "ops")
    again = ok(url, "init")
    unchanged = ok(url, "apply", world, "--actor", "ops")
    assert first == again == {"ok": True, "backend": "sqlite", "schema_version": 1}
    assert {result["status"] for result in created["results"]} == {"created"}
    assert {result["status"] for result in unchanged["results"]} == {"unchanged"}
    assert len(created["results"]) == len(WORLD)


def test_post_prints_one_result_per_line_in_order_and_fails_on_a_rejection(db: str, tmp_path: Path):
    status, results = post_mixed(db, tmp_path)
    assert_mixed_results(status, results)


def test_posting_the_same_file_again_replays_it(db: str, tmp_path: Path):
    post_mixed(db, tmp_path)
    status, results = post_mixed(db, tmp_path)
    assert status == 1
    assert [result.get("replayed") for result in results] == [True, None, None, True]
    [dc1] = ok(db, "balance", "--sku", "TEE-M", "--facility", "DC1")["facilities"]
    assert dc1["on_hand"] == "10"


def test_post_of_only_good_lines_exits_zero(db: str, tmp_path: Path):
    path = json_lines(
        tmp_path / "good.jsonl", [receipt("a", "TEE-M", "1"), receipt("b", "TEE-L", "2")]
    )
    done = stockcard(db, "post", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [json.loads(line)["ok"] for line in done.stdout.splitlines()] == [True, True]


def test_post_reads_standard_input(db: str):
    done = subprocess.run(
        [sys.executable, "-m", "stockcard.cli", "ledger", "--db", db, "post", "-"],
        cwd=ROOT, input=json.dumps(receipt("stdin-1", "TEE-M", "2")) + "\n",
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"][0]["qty"] == "2"


def test_balance_card_and_valuation(db: str, tmp_path: Path):
    records = [
        receipt("r-1", "TEE-M", "10", occurred_at="2026-09-10T10:00:00Z"),
        receipt("r-2", "TEE-M", "6", facility="ST1", occurred_at="2026-10-01T10:00:00Z"),
        request("i-1", kind="issue", sku="TEE-M", facility="DC1", qty="3",
                occurred_at="2026-10-20T10:00:00Z"),
    ]  # fmt: skip
    done = stockcard(db, "post", json_lines(tmp_path / "moves.jsonl", records))
    assert done.returncode == 0, done.stdout

    balance = ok(db, "balance", "--sku", "TEE-M")
    assert [(f["facility"], f["on_hand"]) for f in balance["facilities"]] == [
        ("DC1", "7"), ("ST1", "6"),
    ]  # fmt: skip
    september = ok(db, "balance", "--sku", "TEE-M", "--as-of", "2026-09-30T23:59:59Z")
    assert september["as_of"] == "2026-09-30T23:59:59Z"
    assert [(f["facility"], f["on_hand"]) for f in september["facilities"]] == [("DC1", "10")]

    card = ok(db, "card", "--sku", "TEE-M", "--facility", "DC1")
    assert [(e["kind"], e["qty"], e["balance_qty"]) for e in card["events"]] == [
        ("receipt", "10", "10"), ("issue", "-3", "7"),
    ]  # fmt: skip
    october = ok(db, "card", "--sku", "TEE-M", "--facility", "DC1", "--from", "2026-10-01T00:00Z")
    assert (october["opening_qty"], october["closing_qty"]) == ("10", "7")
    assert [e["kind"] for e in october["events"]] == ["issue"]

    valuation = ok(db, "valuation", "--sku", "TEE-M", "--facility", "DC1")
    assert (valuation["qty"], valuation["value"], valuation["avg_cost"]) == ("7", "35.00", "5")


def test_a_lookup_of_an_unknown_sku_fails_with_a_json_error(db: str):
    done = stockcard(db, "balance", "--sku", "NOPE")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {
        "ok": False,
        "error": {"code": "unknown_sku", "message": "sku: no such sku 'NOPE'", "field": "sku"},
    }


def test_period_close_and_list(db: str, tmp_path: Path):
    stockcard(db, "post", json_lines(
        tmp_path / "sept.jsonl", [receipt("r-1", "TEE-M", "10", occurred_at="2026-09-10T10:00Z")]
    ))  # fmt: skip

    closed = ok(db, "period", "close", "2026-09", "--role", "finance", "--actor", "fiona")
    assert closed == {"ok": True, "period": "2026-09", "status": "closed", "close_version": 1}

    periods = ok(db, "period", "list")
    assert [(p["period"], p["status"]) for p in periods] == [
        ("2026-09", "closed"), ("2026-10", "open"), ("2026-11", "open"),
    ]  # fmt: skip
    snapshot = ok(db, "period", "snapshot", "2026-09")
    assert [(p["sku"], p["closing_qty"], p["closing_value"]) for p in snapshot["positions"]] == [
        ("TEE-M", "10", "50.00")
    ]

    late = stockcard(db, "post", json_lines(
        tmp_path / "late.jsonl", [receipt("r-2", "TEE-M", "1", occurred_at="2026-09-30T10:00Z")]
    ))  # fmt: skip
    assert late.returncode == 1
    assert json.loads(late.stdout)["error"]["code"] == "period_closed"


def test_a_refused_period_command_fails_with_a_json_error(db: str):
    done = stockcard(db, "period", "close", "2026-10", "--role", "finance", "--actor", "fiona")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "period_order"
    refused = stockcard(
        db, "period", "reopen", "2026-09", "--role", "finance_manager", "--actor", "frank"
    )
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["error"]
    assert (error["code"], error["field"]) == ("validation_error", "justification")


def test_apply_of_a_bad_record_applies_nothing(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/l.sqlite"
    ok(url, "init")
    tee_m = WORLD.index(next(r for r in WORLD if r.get("sku") == "TEE-M"))
    bad = [*WORLD[: tee_m + 1], {"type": "item", "code": "X", "costing_method": "lifo"}]
    done = stockcard(url, "apply", json_lines(tmp_path / "bad.jsonl", bad), "--actor", "ops")
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert (error["code"], error["field"]) == (
        "validation_error",
        f"records[{len(bad) - 1}].costing_method",
    )
    lookup = stockcard(url, "balance", "--sku", "TEE-M")
    assert lookup.returncode == 1
    assert json.loads(lookup.stdout)["error"]["code"] == "unknown_sku"


def test_init_apply_and_post_on_postgresql(pg_server: ThrowawayPostgres, tmp_path: Path):
    url = pg_server.create_database("stockcard_cli_pg")
    initialised = ok(url, "init")
    assert initialised["backend"] == "postgresql"
    set_up(url, tmp_path)
    status, results = post_mixed(url, tmp_path)
    assert_mixed_results(status, results)
    balance = ok(url, "balance", "--sku", "TEE-M")
    assert [(f["facility"], f["on_hand"]) for f in balance["facilities"]] == [
        ("DC1", "10"), ("ST1", "4"),
    ]  # fmt: skip
