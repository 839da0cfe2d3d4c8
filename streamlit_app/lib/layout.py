"""Building blocks the pages share: a section that turns an unreadable warehouse into advice,
tables with a CSV download, KPI cards with the change since the previous period."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st
from lib import formats
from lib.warehouse import WarehouseUnavailable


def advise(problem: WarehouseUnavailable) -> None:
    """What is wrong and what to run, never a traceback."""
    box = st.warning if problem.kind in ("busy", "missing_table") else st.info
    box(f"{problem.message}\n\n{problem.hint}", icon=":material/info:")


@contextmanager
def section(title: str | None = None) -> Iterator[None]:
    """A part of a page; when the warehouse cannot give it its data, the part says so and the
    rest of the page goes on."""
    if title:
        st.subheader(title)
    try:
        yield
    except WarehouseUnavailable as problem:
        advise(problem)


def table(
    frame: pd.DataFrame,
    name: str,
    *,
    empty: str = "Nothing to show for these filters.",
    column_config: Mapping[str, Any] | None = None,
) -> None:
    """A table, or a note when it has no rows, with the rows as a CSV download."""
    if frame.empty:
        st.caption(empty)
        return
    labels = {name: label(name) for name in frame.columns}
    st.dataframe(frame, hide_index=True, column_config={**labels, **(column_config or {})})
    st.download_button(
        "Download CSV",
        data=frame.to_csv(index=False).encode(),
        file_name=f"{slug(name)}.csv",
        mime="text/csv",
        key=f"csv_{slug(name)}",
        icon=":material/download:",
        on_click="ignore",
    )


LABELS = {
    "variant_id": "SKU",
    "event_id": "Event",
    "event_kind": "Kind",
    "reversed_event_kind": "Reverses a",
    "reverses_event_id": "Reverses event",
    "occurred_at": "Business time",
    "month_start_date": "Month",
    "period_id": "Period",
    "bin_code": "Bin",
    "lot_number": "Lot",
    "reason_code": "Reason",
    "movement_qty": "Qty",
    "position_running_qty": "Position balance",
    "facility_running_qty": "On hand after",
    "facility_available_running_qty": "Available after",
    "is_owned": "Owned",
    "as_of_date": "As of",
    "abc_class": "ABC class",
    "xyz_class": "XYZ class",
    "demand_cv": "Demand CV",
}


def label(column: str) -> str:
    """A column's heading: `on_hand_qty` → On hand, `shrink_value_amount` → Shrink value.
    CSV downloads keep the warehouse's column names."""
    if column in LABELS:
        return LABELS[column]
    words = column.removesuffix("_id").removesuffix("_qty").removesuffix("_amount")
    words = words.removeprefix("is_").replace("_", " ")
    return words[:1].upper() + words[1:]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def kpi(
    label: str,
    current: Decimal | None,
    previous: Decimal | None,
    show: Any = formats.qty,
    *,
    show_change: Any = None,
    help: str | None = None,
    lower_is_better: bool = False,
    trend: list[float] | None = None,
) -> None:
    """A KPI card: this period's value and its change since the previous period."""
    change = formats.difference(current, previous)
    if change is None:
        delta = None
    elif change == 0:
        delta = "±0"
    else:
        delta = formats.signed((show_change or show)(change))
    st.metric(
        label,
        show(current),
        delta=delta,
        delta_color="off" if change == 0 else "inverse" if lower_is_better else "normal",
        help=help,
        border=True,
        chart_data=trend or None,
        chart_type="line",
        height="stretch",
    )


def money_by_currency(frame: pd.DataFrame, amount: str) -> str:
    """Amounts summed per currency (a total never mixes currencies)."""
    if frame.empty:
        return formats.money(Decimal(0))
    totals = frame.groupby("currency_code", dropna=False)[amount].sum()
    # consigned stock has no currency and is never valued: its zero adds nothing to read
    shown = [
        formats.money(total, currency if isinstance(currency, str) else None)
        for currency, total in totals.items()
        if isinstance(currency, str) or total != 0
    ]
    return " · ".join(shown) or formats.money(Decimal(0))


def numbers_for_chart(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """A copy with the named decimal columns as floats: charts draw floats, tables keep decimals."""
    drawn = frame.copy()
    for name in columns:
        drawn[name] = drawn[name].astype("float64")
    return drawn
