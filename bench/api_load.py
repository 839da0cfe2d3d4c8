"""HTTP API load benchmark: `stockcard serve` on a loopback port over a fresh ledger, driven
from this process by asyncio httpx clients with a bounded number of requests per scenario.

    uv run python bench/api_load.py [--requests 2000] [--concurrency 8] [--workers 1]
                                    [--postgres]

It reports throughput and p50/p95/p99 of stock checks, reservations and postings next to the
seed's targets (stock check p95 < 50 ms at 10,000/s; reservation p95 < 100 ms at 1,000/s;
inventory update p95 < 100 ms at 2,000/s). It asserts nothing. The load is closed-loop (a
fixed number of requests in flight), so throughput is what the server sustained on this
machine, not the targets' offered rates; server and client share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import Ledger  # noqa: E402
from ledger.http import tokens  # noqa: E402

SKUS = 50
TARGETS = {
    "stock check": ("p95 < 50 ms at 10,000/s", 50.0, 10_000),
    "reservation": ("p95 < 100 ms at 1,000/s", 100.0, 1_000),
    "posting": ("p95 < 100 ms at 2,000/s", 100.0, 2_000),
}


def world() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"type": "org", "code": "RET", "currency": "EUR"},
        {"type": "facility", "code": "DC1", "org": "RET", "facility_type": "warehouse",
         "bins": [{"code": "A1"}, {"code": "A2"}]},
        {"type": "item", "code": "TEE", "costing_method": "moving_average"},
        {"type": "grant", "actor": "bench", "role": "sysadmin"},
        {"type": "grant", "actor": "bench", "role": "store_keeper"},
        {"type": "period", "code": "2026-10"},
    ]  # fmt: skip
    records += [{"type": "variant", "sku": f"SKU-{n}", "item": "TEE"} for n in range(SKUS)]
    return records


def prepare(url: str) -> str:
    """A ledger with stock in every SKU and a store keeper's token."""
    with Ledger.open(url) as ledger:
        ledger.init()
        ledger.apply(world(), actor="bench", role="sysadmin")
        ledger.post_many(
            [posting(f"seed-{n}", f"SKU-{n}", "receipt", "1000000") for n in range(SKUS)]
        )
        issued = tokens.issue(
            ledger, actor="bench", role="store_keeper", by="bench", by_role="sysadmin"
        )
    return issued["token"]


def posting(key: str, sku: str, kind: str, qty: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": key, "kind": kind, "sku": sku, "facility": "DC1", "qty": qty,
        "actor": "bench", "role": "store_keeper", "occurred_at": "2026-10-15T10:00:00Z",
        "source": {"document_type": "bench", "document_id": key},
    }  # fmt: skip
    if kind == "receipt":
        body.update(unit_cost="2.00", currency="EUR")
    return body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "stockcard.cli", "serve", "--db", url, "--host",
               "127.0.0.1", "--port", str(port), "--workers", str(workers)]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start within 60 s")


Request = Callable[[int], tuple[str, str, dict[str, Any] | None]]


def scenarios() -> dict[str, Request]:
    run = itertools.count()

    def stock_check(n: int) -> tuple[str, str, dict[str, Any] | None]:
        return "GET", f"/v1/facilities/DC1/skus/SKU-{n % SKUS}/stock", None

    def reservation(n: int) -> tuple[str, str, dict[str, Any] | None]:
        body = {"sku": f"SKU-{n % SKUS}", "facility": "DC1", "qty": "1", "channel": "ecommerce",
                "reference": {"document_type": "order", "document_id": f"SO-{n}", "line": "1"},
                "idempotency_key": f"res-{n}"}  # fmt: skip
        return "POST", "/v1/reservations", body

    def update(n: int) -> tuple[str, str, dict[str, Any] | None]:
        kind = "issue" if n % 2 else "receipt"
        body = posting(f"post-{next(run)}-{n}", f"SKU-{n % SKUS}", kind, "1")
        body.pop("actor")
        body.pop("role")
        return "POST", "/v1/postings", body

    return {"stock check": stock_check, "reservation": reservation, "posting": update}


async def drive(
    base: str, token: str, build: Request, total: int, concurrency: int
) -> tuple[float, list[float], int]:
    """Send `total` requests with `concurrency` in flight; (seconds, latencies ms, failures)."""
    numbers = iter(range(total))
    latencies: list[float] = []
    failures = 0
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:

        async def worker() -> None:
            nonlocal failures
            for n in numbers:
                method, path, body = build(n)
                started = time.perf_counter()
                response = await c.request(method, path, json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, failures


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def run(backend: str, url: str, args: argparse.Namespace) -> None:
    token = prepare(url)
    port = free_port()
    server = serve(url, port, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        print(f"\n{backend}: {args.workers} worker(s), {args.concurrency} in flight, "
              f"{args.requests} requests per scenario")  # fmt: skip
        print(f"{'scenario':<12} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'fail':>5}  target")  # fmt: skip
        for name, build in scenarios().items():
            asyncio.run(drive(base, token, build, min(200, args.requests), args.concurrency))
            seconds, latencies, failures = asyncio.run(
                drive(base, token, build, args.requests, args.concurrency)
            )
            target, p95_goal, rate_goal = TARGETS[name]
            rate, p95 = len(latencies) / seconds, percentile(latencies, 95)
            notes = ["p95 met" if p95 < p95_goal else "p95 missed"]
            if rate < rate_goal:
                notes.append("rate not reached here")
            print(
                f"{name:<12} {rate:>8.0f} {statistics.median(latencies):>8.1f} {p95:>8.1f} "
                f"{percentile(latencies, 99):>8.1f} {failures:>5}  {target} ({', '.join(notes)})"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per scenario (bounded)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    args = parser.parse_args()
    args.requests = max(1, min(args.requests, 100_000))
    with tempfile.TemporaryDirectory() as directory:
        run("SQLite", f"sqlite:///{directory}/ledger.sqlite", args)
    if args.postgres:
        from tests.pgserver import ThrowawayPostgres

        with ThrowawayPostgres(durable=True) as server:
            run("PostgreSQL", server.create_database("api_bench"), args)


if __name__ == "__main__":
    main()
