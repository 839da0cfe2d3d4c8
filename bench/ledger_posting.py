"""Ledger posting benchmark: single postings and batches through the Python API, on SQLite
(WAL, synchronous=FULL) and PostgreSQL, against a bare SQLite baseline in the same run.

    uv run python bench/ledger_posting.py [--single 5000] [--batch-total 50000] [--no-postgres]

It reports figures; it asserts nothing. Goals on SQLite: 10,000 single postings/s with p99
under 2 ms, 100,000 movements/s in batches.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import Ledger, LedgerError  # noqa: E402

SKUS = 200
BATCH = 1000


def world() -> list[dict]:
    records = [
        {"type": "org", "code": "RET", "currency": "EUR"},
        {"type": "facility", "code": "DC1", "org": "RET", "facility_type": "warehouse",
         "bins": [{"code": "A1"}, {"code": "A2"}]},
        {"type": "item", "code": "AVG", "costing_method": "moving_average"},
        {"type": "item", "code": "FIFO", "costing_method": "fifo"},
        {"type": "grant", "actor": "bench", "role": "sysadmin"},
        {"type": "grant", "actor": "bench", "role": "store_keeper"},
    ]  # fmt: skip
    for n in range(SKUS):
        item = "FIFO" if n % 4 == 0 else "AVG"
        records.append({"type": "variant", "sku": f"SKU-{n:04d}", "item": item})
    return records


def movement(n: int, prefix: str) -> dict:
    """A realistic mix: a receipt for every three issues, spread over the SKUs."""
    sku = f"SKU-{n % SKUS:04d}"
    base = {
        "idempotency_key": f"{prefix}-{n}",
        "sku": sku,
        "facility": "DC1",
        "actor": "bench",
        "role": "store_keeper",
        "source": {"document_type": "bench", "document_id": str(n)},
        "occurred_at": "2026-10-15T10:00:00Z",
    }
    if (n // SKUS) % 4 == 0:
        return {**base, "kind": "receipt", "qty": "40", "unit_cost": f"{1 + n % 7}.25",
                "currency": "EUR"}  # fmt: skip
    return {**base, "kind": "issue", "qty": "3"}


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def single_postings(ledger: Ledger, count: int, prefix: str) -> dict:
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        request = movement(n, prefix)
        t0 = time.perf_counter()
        ledger.post(request)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return {
        "postings": count,
        "per_second": round(count / elapsed),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
    }


def batch_postings(ledger: Ledger, total: int, prefix: str) -> dict:
    requests = [movement(n, prefix) for n in range(total)]
    started = time.perf_counter()
    for offset in range(0, total, BATCH):
        outcomes = ledger.post_many(requests[offset : offset + BATCH])
        rejected = [o for o in outcomes if isinstance(o, LedgerError)]
        if rejected:
            raise SystemExit(f"benchmark posting rejected: {rejected[0]!r}")
    elapsed = time.perf_counter() - started
    return {"movements": total, "batch": BATCH, "per_second": round(total / elapsed)}


def fresh_ledger(url: str) -> Ledger:
    ledger = Ledger.open(url)
    ledger.init()
    ledger.apply(world(), actor="bench", role="sysadmin")
    return ledger


def bare_sqlite(path: Path, count: int, batch: int | None) -> dict:
    """The floor: one balance read, one event insert, one balance upsert per movement."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma synchronous = FULL")
    conn.execute(
        "create table event (id integer primary key, position integer, qty integer, "
        "occurred_at text, payload text)"
    )
    conn.execute("create table balance (position integer primary key, qty integer)")
    latencies: list[float] = []

    def one(n: int) -> None:
        conn.execute("select qty from balance where position = ?", (n % SKUS,)).fetchone()
        conn.execute(
            "insert into event (position, qty, occurred_at, payload) values (?, ?, ?, ?)",
            (n % SKUS, 3, "2026-10-15T10:00:00.000000Z", "bench"),
        )
        conn.execute(
            "insert into balance (position, qty) values (?, ?) "
            "on conflict (position) do update set qty = qty + excluded.qty",
            (n % SKUS, 3),
        )

    started = time.perf_counter()
    step = batch or 1
    for offset in range(0, count, step):
        t0 = time.perf_counter()
        conn.execute("begin immediate")
        for n in range(offset, min(offset + step, count)):
            one(n)
        conn.execute("commit")
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    conn.close()
    result = {"per_second": round(count / elapsed)}
    if batch is None:
        result["p50_ms"] = round(statistics.median(latencies) * 1000, 3)
        result["p99_ms"] = round(percentile(latencies, 99) * 1000, 3)
    return result


def measure(name: str, work: Callable[[], dict]) -> dict:
    print(f"  {name} …", file=sys.stderr, flush=True)
    return work()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=5000)
    parser.add_argument("--batch-total", type=int, default=50_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="stockcard-bench-") as tmp:
        folder = Path(tmp)
        report["sqlite_baseline_single"] = measure(
            "bare SQLite, one movement per transaction",
            lambda: bare_sqlite(folder / "bare1.sqlite", args.single, None),
        )
        report["sqlite_baseline_batch"] = measure(
            "bare SQLite, batches",
            lambda: bare_sqlite(folder / "bare2.sqlite", args.batch_total, BATCH),
        )
        ledger = fresh_ledger(f"sqlite:///{folder}/ledger.sqlite")
        report["sqlite_single"] = measure(
            "ledger on SQLite, single postings", lambda: single_postings(ledger, args.single, "s")
        )
        report["sqlite_batch"] = measure(
            "ledger on SQLite, batches", lambda: batch_postings(ledger, args.batch_total, "b")
        )
        ledger.close()
        if not args.no_postgres:
            from tests.pgserver import ThrowawayPostgres

            with ThrowawayPostgres(durable=True) as server:
                ledger = fresh_ledger(server.start())
                count = max(1, args.single // 5)
                report["postgres_single"] = measure(
                    "ledger on PostgreSQL, single postings",
                    lambda: single_postings(ledger, count, "s"),
                )
                report["postgres_batch"] = measure(
                    "ledger on PostgreSQL, batches",
                    lambda: batch_postings(ledger, args.batch_total // 5, "b"),
                )
                ledger.close()
    single, bare = report["sqlite_single"], report["sqlite_baseline_single"]
    batch, bare_batch = report["sqlite_batch"], report["sqlite_baseline_batch"]
    report["ratios"] = {
        "single_ledger_over_baseline": round(single["per_second"] / bare["per_second"], 3),
        "batch_ledger_over_baseline": round(batch["per_second"] / bare_batch["per_second"], 3),
    }
    report["goals"] = {
        "sqlite_single_per_second>=10000": single["per_second"] >= 10_000,
        "sqlite_single_p99_ms<2": single["p99_ms"] < 2,
        "sqlite_batch_per_second>=100000": batch["per_second"] >= 100_000,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
