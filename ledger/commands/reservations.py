"""`stockcard ledger reservation …`, `expire` and `atp`: the promise contract (SPEC L3) on the
command line, a JSON request in from a file or -, JSON out."""

from __future__ import annotations

import argparse
from typing import Any

from ledger import reservations
from ledger.api import Ledger
from ledger.cli import as_viewer, read_request, viewer_of
from ledger.errors import validation_error
from ledger.vocabulary import Channel

COMMANDS = {"reservation", "expire", "atp"}

STEPS = {
    "reserve": reservations.reserve,
    "allocate": reservations.allocate,
    "commit": reservations.commit,
    "release": reservations.release,
    "consume": reservations.consume,
}


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "reservation", help="reserve, allocate, commit, release, consume; TTLs and backorders"
    )
    actions = parser.add_subparsers(dest="reservation_action", required=True)
    for name in STEPS:
        step = actions.add_parser(name, help=f"{name}: one JSON request from FILE or -")
        step.add_argument("file", help="a file holding one JSON request, or - for standard input")
        step.add_argument("--at", help="the time to act at instead of now (ISO 8601 with offset)")

    show = actions.add_parser("show", help="a reservation and its history")
    show.add_argument("reservation_id", type=int)
    as_viewer(show)

    ttl = actions.add_parser("ttl", help="show TTLs, or set one with --channel --stage --minutes")
    ttl.add_argument("--channel", choices=[channel.value for channel in Channel])
    ttl.add_argument("--stage", choices=[stage.value for stage in reservations.Stage])
    ttl.add_argument("--minutes", type=int)
    ttl.add_argument("--facility", help="only at this facility (default: every facility)")
    ttl.add_argument("--actor", default=None, help="who sets it (default: your user name)")
    ttl.add_argument("--role", default="sysadmin")

    policy = actions.add_parser(
        "backorder-policy", help="may a short wholesale commit split off a backorder?"
    )
    split = policy.add_mutually_exclusive_group(required=True)
    split.add_argument("--allow-split", dest="allow_split", action="store_true")
    split.add_argument("--no-split", dest="allow_split", action="store_false")
    policy.add_argument("--facility", help="only at this facility (default: the organisation)")
    policy.add_argument("--actor", default=None)
    policy.add_argument("--role", default="sysadmin")

    expire = commands.add_parser("expire", help="release every reservation whose TTL ran out")
    expire.add_argument("--at", help="expire as of this time (default: now)")
    expire.add_argument("--facility", help="only at this facility")
    expire.add_argument("--actor", default="system", help="the sweep's account (default: system)")
    expire.add_argument("--role", default="sysadmin")

    atp = commands.add_parser("atp", help="available-to-promise of a SKU at a facility")
    atp.add_argument("--sku", required=True)
    atp.add_argument("--facility", required=True)
    as_viewer(atp)


def run(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    if args.ledger_command == "atp":
        return reservations.atp(ledger, args.sku, args.facility, viewer_of(args))
    if args.ledger_command == "expire":
        return reservations.expire(
            ledger, at=args.at, facility=args.facility, actor=actor, role=args.role
        )
    action = args.reservation_action
    if action in STEPS:
        return STEPS[action](ledger, read_request(args.file), at=args.at)
    if action == "show":
        return reservations.reservation(ledger, args.reservation_id, viewer_of(args))
    if action == "backorder-policy":
        return reservations.set_backorder_policy(
            ledger, args.allow_split, facility=args.facility, actor=actor, role=args.role
        )
    return ttl_command(ledger, args, actor)


def ttl_command(ledger: Ledger, args: argparse.Namespace, actor: str) -> Any:
    wanted = (args.channel, args.stage, args.minutes)
    if wanted == (None, None, None):
        return reservations.ttls(ledger, args.facility)
    if None in wanted:
        raise validation_error("minutes", "--channel, --stage and --minutes go together")
    return reservations.set_ttl(
        ledger, args.channel, args.stage, args.minutes, facility=args.facility, actor=actor,
        role=args.role,
    )  # fmt: skip
