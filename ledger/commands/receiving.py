"""`stockcard ledger receiving|qc|recall …`: expected receipts and goods receipts, QC decisions on
quarantined stock and recall holds (L5.1, L5.2). A request is one JSON object in a file (or - for
standard input); the result is JSON."""

from __future__ import annotations

import argparse
from typing import Any

from ledger import receiving
from ledger.api import Ledger
from ledger.cli import read_request

COMMANDS = {"receiving", "qc", "recall"}
REQUEST = "the request: a file holding one JSON object, or - for standard input"


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("receiving", help="expected receipts and goods receipts (L5.1)")
    actions = parser.add_subparsers(dest="receiving_action", required=True)
    with_file(actions, "expect", "register an expected receipt (ASN or purchase order)")
    with_file(actions, "receive", "receive goods against an expected receipt")
    with_file(actions, "close", "close an expected receipt (closed_short with a reason)")
    show = actions.add_parser("show", help="an expected receipt and its goods receipts")
    show.add_argument("--facility", required=True)
    show.add_argument("--reference", required=True)

    parser = commands.add_parser("qc", help="QC decisions on quarantined stock (L5.2)")
    actions = parser.add_subparsers(dest="qc_action", required=True)
    with_file(actions, "release", "release quarantined stock to available, or reject to damaged")

    parser = commands.add_parser("recall", help="recall holds on a lot (L5.2)")
    actions = parser.add_subparsers(dest="recall_action", required=True)
    with_file(actions, "hold", "quarantine a lot in every bin of a facility")
    with_file(actions, "release", "return what a recall quarantined to available")
    show = actions.add_parser("show", help="a recall and the positions it holds")
    show.add_argument("--id", type=int, required=True, dest="recall_id")


def with_file(actions: argparse._SubParsersAction, name: str, help_text: str) -> None:
    actions.add_parser(name, help=help_text).add_argument("file", help=REQUEST)


def run(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    """The actor is named in each request, as in postings; `actor` is not used."""
    command = args.ledger_command
    if command == "receiving":
        if args.receiving_action == "show":
            return receiving.show_receipt(ledger, args.facility, args.reference)
        operation = {
            "expect": receiving.register_receipt,
            "receive": receiving.receive,
            "close": receiving.close_receipt,
        }[args.receiving_action]
        return operation(ledger, read_request(args.file))
    if command == "qc":
        return receiving.release_from_quarantine(ledger, read_request(args.file))
    if args.recall_action == "show":
        return receiving.show_recall(ledger, args.recall_id)
    operation = {"hold": receiving.recall, "release": receiving.release_recall}[args.recall_action]
    return operation(ledger, read_request(args.file))
