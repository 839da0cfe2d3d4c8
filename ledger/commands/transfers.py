"""`stockcard ledger transfer …`: transfers between facilities (SPEC L4), a JSON request in from
a file (or - for standard input), the JSON result out."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ledger import transfers
from ledger.cli import as_viewer, read_request, viewer_of

if TYPE_CHECKING:
    from ledger.api import Ledger

COMMANDS = frozenset({"transfer"})

Operation = Callable[["Ledger", Mapping[str, Any]], dict[str, Any]]
WRITES: dict[str, tuple[Operation, str]] = {
    "request": (transfers.request_transfer, "create a transfer request (draft)"),
    "submit": (transfers.submit_transfer, "submit a draft: approval needed or submitted"),
    "approve": (transfers.approve_transfer, "approve, optionally adjusting line quantities"),
    "cancel": (transfers.cancel_transfer, "cancel a transfer before anything ships"),
    "ship": (transfers.ship_transfer, "ship from the source into the in-transit node"),
    "receive": (transfers.receive_shipment, "receive a shipment, with exceptions"),
}


def add_commands(commands: argparse._SubParsersAction) -> None:
    transfer = commands.add_parser(
        "transfer", help="transfers between facilities: request, approve, ship, receive, read"
    )
    actions = transfer.add_subparsers(dest="transfer_action", required=True)
    for name, (_, help_text) in WRITES.items():
        action = actions.add_parser(name, help=help_text)
        action.add_argument("file", help="the JSON request, or - for standard input")
    show = actions.add_parser("show", help="one transfer: lines, shipments, receipts, exceptions")
    show.add_argument("transfer_id", type=int)
    as_viewer(show)
    listing = actions.add_parser("list", help="transfers, newest first")
    listing.add_argument("--status", help="e.g. pending_approval, receiving")
    listing.add_argument("--source", help="source facility code")
    listing.add_argument("--destination", help="destination facility code")
    as_viewer(listing)


def run(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    """The actor and role of a write are the request's own fields, as for postings."""
    action = args.transfer_action
    if action == "show":
        return transfers.transfer(ledger, args.transfer_id, viewer_of(args))
    if action == "list":
        return transfers.transfers(
            ledger, args.status, args.source, args.destination, viewer_of(args)
        )
    operation, _ = WRITES[action]
    return operation(ledger, read_request(args.file))
