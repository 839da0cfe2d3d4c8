"""The drill-down filters of every page (facility, category, SKU, channel, period or dates): the
sidebar widgets, and the SQL condition and named parameters they add to a query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st
from lib import queries


@dataclass(frozen=True, slots=True)
class Filters:
    """What the user narrowed the page to; an empty tuple or None means everything."""

    facilities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    period: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def condition(
        self,
        *,
        facility: str | None = "facility_id",
        sku: str | None = "variant_id",
        category: str | None = None,
        channel: str | None = None,
        day: str | None = None,
        month: str | None = None,
    ) -> str:
        """A SQL condition over the named columns (`true` when nothing is filtered); a column
        given as None is not filtered. The category is matched on its own column when there is
        one, else through the SKU column."""
        parts = ["true"]
        if facility and self.facilities:
            parts.append(f"list_contains($facilities, {facility})")
        if category and self.categories:
            parts.append(f"list_contains($categories, {category})")
        elif sku and self.categories:
            parts.append(
                f"{sku} in (select variant_id from marts.dim_variants "
                "where list_contains($categories, category_name))"
            )
        if sku and self.skus:
            parts.append(f"list_contains($skus, {sku})")
        if channel and self.channels:
            parts.append(f"list_contains($channels, {channel})")
        if day and self.date_from:
            parts.append(f"{day} >= $date_from")
        if day and self.date_to:
            parts.append(f"{day} <= $date_to")
        if month and self.date_from:
            parts.append(f"{month} >= date_trunc('month', $date_from::date)")
        if month and self.date_to:
            parts.append(f"{month} <= $date_to")
        return " and ".join(parts)

    def params(self) -> dict[str, Any]:
        """Every named parameter a condition may use; `queries.fetch` passes those it uses."""
        return {
            "facilities": list(self.facilities),
            "categories": list(self.categories),
            "skus": list(self.skus),
            "channels": list(self.channels),
            "period": self.period,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


def sidebar(
    *,
    facility: bool = True,
    category: bool = True,
    sku: bool = True,
    channel: bool = False,
    period: bool = False,
    dates: bool = False,
) -> Filters:
    """Draw the filters a page uses in the sidebar; their values follow the user across pages."""
    choices = queries.choices()
    chosen: dict[str, Any] = {}
    with st.sidebar:
        st.subheader("Filters")
        if facility:
            chosen["facilities"] = pick("Facility", choices.facilities, "facility")
        if category:
            chosen["categories"] = pick("Category", choices.categories, "category")
        if sku:
            chosen["skus"] = pick("SKU", choices.skus, "sku", labels=choices.sku_labels)
        if channel:
            chosen["channels"] = pick("Channel", choices.channels, "channel")
        if period and choices.periods:
            chosen["period"] = st.selectbox(
                "Period", choices.periods, index=len(choices.periods) - 1,
                key="filter_period", persist_state="session",
                help="Ledger period (month); KPI trends compare it with the period before.",
            )  # fmt: skip
        if dates and choices.first_date:
            chosen.update(date_range(choices.first_date, choices.last_date))
    return Filters(**chosen)


def pick(
    label: str, options: tuple[str, ...], name: str, labels: dict[str, str] | None = None
) -> tuple[str, ...]:
    named = labels or {}
    picked = st.multiselect(
        label, options, key=f"filter_{name}", persist_state="session", placeholder="All",
        format_func=lambda option: named.get(option, option),
    )  # fmt: skip
    return tuple(picked)


def date_range(first: date, last: date) -> dict[str, date]:
    picked = st.date_input(
        "Business dates", value=(first, last), min_value=first, max_value=last,
        key="filter_dates", persist_state="session", format="YYYY-MM-DD",
    )  # fmt: skip
    if isinstance(picked, tuple) and len(picked) == 2:
        return {"date_from": picked[0], "date_to": picked[1]}
    if isinstance(picked, tuple) and len(picked) == 1:  # the user is choosing the end
        return {"date_from": picked[0], "date_to": picked[0]}
    return {}
