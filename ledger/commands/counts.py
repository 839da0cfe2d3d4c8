"""`stockcard ledger count …`: count tolerances, count sessions, blind counts and recounts, and
finalising a session (L5.3). A request is one JSON object in a file (or - for standard input);
the result is JSON."""

from __future__ import annotations

import argparse
from typing import Any

from ledger import counts
from ledger.api import Ledger
from ledger.cli import read_request
from ledger.commands.receiving import with_file

COMMANDS = {"count"}


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("count", help="cycle counts: sessions, counts, recounts (L5.3)")
    actions = parser.add_subparsers(dest="count_action", required=True)
    with_file(actions, "tolerance", "set a facility's count tolerance (optionally per category)")
    with_file(actions, "start", "open a count session: snapshot the positions in scope")
    with_file(actions, "record", "record counted quantities (blind)")
    with_file(actions, "finalise", "post the count variances and close the session")
    for name, help_text in (
        ("sheet", "the blind count sheet: what to count, no system quantities"),
        ("review", "system quantities, every count and the variances"),
    ):
        actions.add_parser(name, help=help_text).add_argument("--session", type=int, required=True)


def run(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    """The actor is named in each request, as in postings; `actor` is not used."""
    action = args.count_action
    if action == "sheet":
        return counts.count_sheet(ledger, args.session)
    if action == "review":
        return counts.count_review(ledger, args.session)
    operation = {
        "tolerance": counts.set_tolerance,
        "start": counts.start_count,
        "record": counts.record_count,
        "finalise": counts.finalise_count,
    }[action]
    return operation(ledger, read_request(args.file))
