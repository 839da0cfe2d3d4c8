"""The extract's page conversion: ledger rows become Arrow columns with exact decimals, never
floats, and columns without a single value still get a type DuckDB can store."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from ledger import export
from pipelines.extract import ARROW_DECIMAL, arrow_column, event_page


def test_event_page_keeps_decimals_exact_with_six_places():
    row = dict.fromkeys(export.EVENT_FIELDS)
    row.update(event_id=7, qty=Decimal("-1.5"), cost_delta=Decimal("-6.50"), kind="issue")
    page = event_page([tuple(row[name] for name in export.EVENT_FIELDS)])

    for name in export.DECIMAL_FIELDS:
        assert page.schema.field(name).type == ARROW_DECIMAL
    assert page.column("qty").to_pylist() == [Decimal("-1.500000")]
    assert page.column("cost_delta").to_pylist() == [Decimal("-6.500000")]


def test_a_column_of_nulls_becomes_text_not_arrows_null_type():
    assert arrow_column([None, None], is_decimal=False).type == pa.string()
    assert arrow_column([Decimal("1"), None], is_decimal=False).type == ARROW_DECIMAL
