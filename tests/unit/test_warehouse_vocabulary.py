"""The warehouse's copies of the ledger's closed lists stay the ledger's: a reason added to the
ledger and not to the dbt macro would silently count short-shipped demand as withdrawn."""

from __future__ import annotations

import re

from ledger.reservations import ShortShipReason
from pipelines.warehouse import PROJECT_DIR


def macro_body(name: str, text: str) -> str:
    found = re.search(rf"macro {name}\(\)\s*-?%\}}(.*?)\{{%-? endmacro", text, re.DOTALL)
    assert found, name
    return found.group(1)


def test_short_ship_reasons_macro_lists_the_ledgers_short_ship_reasons():
    text = (PROJECT_DIR / "macros" / "durations.sql").read_text()
    listed = set(re.findall(r"'([a-z_]+)'", macro_body("short_ship_reasons", text)))
    assert listed == {reason.value for reason in ShortShipReason}
