"""`stockcard ledger …`: the ledger's command line, JSON in and JSON out.

Posting reads JSON lines and prints one JSON result per input line; the exit status is 1 when
any line was rejected, so scripts can stop on it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from ledger import commands as workflow_commands
from ledger.access import Viewer
from ledger.api import Ledger
from ledger.errors import LedgerError
from ledger.storage import DEFAULT_URL

BATCH = 500


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    ledger = subparsers.add_parser("ledger", help="the stock ledger: post, look up, close periods")
    ledger.add_argument("--db", help=f"ledger URL (default $STOCKCARD_LEDGER_URL or {DEFAULT_URL})")
    commands = ledger.add_subparsers(dest="ledger_command", required=True)

    commands.add_parser("init", help="create or upgrade the ledger (idempotent)")

    apply = commands.add_parser("apply", help="master data and configuration, JSON lines")
    apply.add_argument("file", help="a file of JSON lines, or - for standard input")
    apply.add_argument("--actor", default=None, help="who applies it (default: your user name)")
    apply.add_argument("--role", default="sysadmin")

    post = commands.add_parser("post", help="posting requests, JSON lines; one result a line")
    post.add_argument("file", help="a file of JSON lines, or - for standard input")

    balance = commands.add_parser("balance", help="a SKU's positions in every facility")
    balance.add_argument("--sku", required=True)
    balance.add_argument("--facility")
    balance.add_argument("--as-of", help="business time, ISO 8601 with offset")
    as_viewer(balance)

    card = commands.add_parser("card", help="the stock card of a SKU at a facility")
    card.add_argument("--sku", required=True)
    card.add_argument("--facility", required=True)
    card.add_argument("--from", dest="start")
    card.add_argument("--to", dest="end")
    as_viewer(card)

    valuation = commands.add_parser("valuation", help="qty, value, average cost and FIFO layers")
    valuation.add_argument("--sku", required=True)
    valuation.add_argument("--facility", required=True)
    as_viewer(valuation)

    period = commands.add_parser("period", help="close, reopen, lock, list or show periods")
    period.add_argument("action", choices=["close", "reopen", "lock", "list", "snapshot"])
    period.add_argument("period", nargs="?", help="the period code, e.g. 2026-10")
    period.add_argument("--actor", default=None)
    period.add_argument("--role", default="finance")
    period.add_argument("--justification", help="why a closed period is reopened")

    outbox = commands.add_parser("outbox", help="outbox messages after a sequence number")
    outbox.add_argument("--after", type=int, default=0)
    outbox.add_argument("--limit", type=int, default=1000)

    for module in workflow_commands.modules():
        module.add_commands(commands)


def run(args: argparse.Namespace) -> int:
    with Ledger.open(args.db) as ledger:
        try:
            if args.ledger_command == "init":
                return emit(ledger.init())
            if args.ledger_command == "post":
                with opened(args.file) as stream:
                    return post_lines(ledger, stream, sys.stdout)
            return emit(dispatch(ledger, args))
        except LedgerError as error:
            emit({"ok": False, "error": error.to_json()})
            return 1


def dispatch(ledger: Ledger, args: argparse.Namespace) -> Any:
    command = args.ledger_command
    actor = getattr(args, "actor", None) or getpass.getuser()
    if command == "apply":
        with opened(args.file) as stream:
            records = [record for _, record in read_lines(stream, strict=True)]
        return {"ok": True, "results": ledger.apply(records, actor=actor, role=args.role)}
    if command == "balance":
        return ledger.balance(args.sku, args.facility, args.as_of, viewer_of(args))
    if command == "card":
        return ledger.card(args.sku, args.facility, args.start, args.end, viewer_of(args))
    if command == "valuation":
        return ledger.valuation(args.sku, args.facility, viewer_of(args))
    if command == "outbox":
        return ledger.outbox(args.after, args.limit)
    if command == "period":
        return period_command(ledger, args, actor)
    for module in workflow_commands.modules():
        if command in module.COMMANDS:
            return module.run(ledger, args, actor)
    raise LedgerError("validation_error", f"command: unknown command {command!r}")


def as_viewer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", help="read as this actor (with --role): granted facilities only")
    parser.add_argument("--role", help="the role the actor reads in")


def viewer_of(args: argparse.Namespace) -> Viewer | None:
    if args.actor and args.role:
        return Viewer(args.actor, args.role)
    if args.actor or args.role:
        raise LedgerError("validation_error", "role: --actor and --role go together", field="role")
    return None


def period_command(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    if args.action == "list":
        return ledger.periods()
    if not args.period:
        raise LedgerError("validation_error", "period: is required", field="period")
    if args.action == "snapshot":
        return ledger.period_snapshot(args.period)
    if args.action == "close":
        return ledger.close_period(args.period, actor=actor, role=args.role)
    if args.action == "lock":
        return ledger.lock_period(args.period, actor=actor, role=args.role)
    return ledger.reopen_period(
        args.period, actor=actor, role=args.role, justification=args.justification
    )


def post_lines(ledger: Ledger, stream: TextIO, out: TextIO) -> int:
    """Post JSON lines in batches; print one result per line, in input order."""
    rejected = False
    batch: list[tuple[int, Any]] = []

    def flush() -> None:
        nonlocal rejected
        requests = [request for _, request in batch if not isinstance(request, LedgerError)]
        outcomes = iter(ledger.post_many(requests))
        for line, request in batch:
            outcome = request if isinstance(request, LedgerError) else next(outcomes)
            if isinstance(outcome, LedgerError):
                rejected = True
                body = {"ok": False, "line": line, "error": outcome.to_json()}
            else:
                body = {"line": line, **outcome.to_json()}
            out.write(json.dumps(body) + "\n")
        batch.clear()

    for line, request in read_lines(stream, strict=False):
        batch.append((line, request))
        if len(batch) >= BATCH:
            flush()
    flush()
    return 1 if rejected else 0


def read_lines(stream: TextIO, *, strict: bool) -> Iterator[tuple[int, Any]]:
    """(line number, object) per non-blank line; numbers are read as exact decimals."""
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            yield number, json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            problem = LedgerError(
                "validation_error", f"line {number}: not valid JSON ({error.msg})", field="line"
            )
            if strict:
                raise problem from None
            yield number, problem


def read_request(name: str) -> Any:
    """One JSON object from a file or standard input; numbers are read as exact decimals."""
    with opened(name) as stream:
        try:
            return json.load(stream, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise LedgerError(
                "validation_error", f"file: not valid JSON ({error.msg})", field="file"
            ) from None


class opened:
    """A file argument, with - for standard input."""

    def __init__(self, name: str):
        self.name = name
        self.stream: TextIO | None = None

    def __enter__(self) -> TextIO:
        if self.name == "-":
            return sys.stdin
        try:
            self.stream = Path(self.name).open(encoding="utf-8")
        except OSError as error:
            raise LedgerError("validation_error", f"file: {error}", field="file") from None
        return self.stream

    def __exit__(self, *exc: object) -> None:
        if self.stream is not None:
            self.stream.close()


def emit(body: Any) -> int:
    print(json.dumps(body, indent=2, default=str))
    return 0
