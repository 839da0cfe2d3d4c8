"""How big a simulated retailer is: its calendar, stores, assortment and demand, from a named
scale or a target number of ledger movements."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

NAMED_SCALES = {"tiny": 3_500, "small": 35_000, "medium": 1_000_000, "large": 10_000_000}
SHORT_CALENDAR = (date(2026, 9, 1), 28)  # tiny: four weeks
FULL_CALENDAR = (date(2025, 11, 1), 365)  # a retail year, November to October
SHORT_UP_TO = 8_000  # targets up to this many movements use the short calendar


@dataclass(frozen=True, slots=True)
class Scale:
    """The size of the simulated world. `units` multiplies the assortment (one unit is a few
    items of every category); `target` is the number of ledger movements aimed at."""

    name: str
    target: int
    start: date
    days: int
    stores: int
    units: int

    @property
    def end(self) -> date:
        """The last simulated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def closed_month(self) -> str:
        """The month before the calendar: closed in the master data, so rows dated in it are
        refused by the contracts."""
        before = self.start - timedelta(days=1)
        return f"{before.year:04d}-{before.month:02d}"

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]


def scale_of(scale: str | int) -> Scale:
    """A named scale ("tiny", "small", "medium", "large") or a target number of movements."""
    if isinstance(scale, str):
        if scale not in NAMED_SCALES:
            names = ", ".join(NAMED_SCALES)
            raise ValueError(
                f"scale: must be one of {names} or a number of movements, got {scale!r}"
            )
        name, target = scale, NAMED_SCALES[scale]
    elif isinstance(scale, int) and not isinstance(scale, bool) and scale >= 1_000:
        name, target = str(scale), scale
    else:
        raise ValueError(f"scale: must be a name or an integer of at least 1000, got {scale!r}")
    if target <= SHORT_UP_TO:
        start, days = SHORT_CALENDAR
        return Scale(name, target, start, days, stores=3, units=2)
    start, days = FULL_CALENDAR
    stores = max(4, min(80, round(math.sqrt(target) / 80)))
    units = max(4, min(600, round(target / (days * stores * 5.5))))
    return Scale(name, target, start, days, stores, units)


def local_offset(day: date) -> timedelta:
    """The stores' UTC offset on a day: Central European Time, summer time from the last Sunday
    of March to the last Sunday of October (the day's noon decides; shops are shut at night).
    Computed, not looked up, so the files are the same on every machine."""
    summer = last_sunday(day.year, 3) <= day < last_sunday(day.year, 10)
    return timedelta(hours=2 if summer else 1)


def last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def at(day: date, minute: float) -> datetime:
    """A local wall-clock time on `day` (minutes after midnight, may exceed a day) in UTC."""
    local = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minute)
    return local - local_offset(day)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_text(moment: datetime) -> str:
    """A time as the stores' tills write it: local wall-clock time with its offset."""
    offset = local_offset(moment.astimezone(UTC).date())
    wall = moment.astimezone(UTC) + offset
    hours, rest = divmod(int(offset.total_seconds()) // 60, 60)
    return wall.strftime("%Y-%m-%dT%H:%M:%S") + f"+{hours:02d}:{rest:02d}"
