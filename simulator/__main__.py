"""`python -m simulator --inbox data/inbox --scale tiny --seed 7`: write the feeds, print the
summary as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simulator.run import simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Write a simulated retailer's feed files."
    )
    parser.add_argument("--inbox", type=Path, default=Path("data/inbox"))
    parser.add_argument(
        "--scale", default="small", help="tiny, small, medium, large or a number of movements"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bad-row-share", type=float, default=0.02)
    args = parser.parse_args(argv)
    scale: str | int = int(args.scale) if args.scale.isdigit() else args.scale
    try:
        summary = simulate(
            args.inbox, scale=scale, seed=args.seed, bad_row_share=args.bad_row_share
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
