"""Server-side chart geometry: the CSP forbids inline script and style, so bars are SVG attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import format_date, ngettext

from ..i18n import month_name

WIDTH, HEIGHT = 960, 220
TOP, BOTTOM = 24, 32  # room for the counts above the bars and the month labels below


@dataclass(frozen=True)
class Bar:
    """One month's bar, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    count: int
    label: str
    year: str
    title: str
    label_x: float
    month: str = ""  # the month and its year as one phrase of the language ("June 2026", "2026年6月")


MIN_MONTHS = 6


def bars(chart: list[tuple[str, int]]) -> list[Bar]:
    """Lay out one bar per month, scaled to the busiest month, from the first month with enrollments."""
    while len(chart) > MIN_MONTHS and chart[0][1] == 0:
        chart = chart[1:]  # a rollout that began recently should fill the chart, not its right edge
    if not chart:
        return []
    slot = WIDTH / len(chart)
    peak = max(count for _, count in chart) or 1
    room = HEIGHT - TOP - BOTTOM
    out = []
    for index, (month, count) in enumerate(chart):
        day = date.fromisoformat(f"{month}-01")
        height = round(room * count / peak, 1)
        # The first bar and each January carry the year, so the axis reads without a legend.
        year = format_date(day, "y") if day.month == 1 or index == 0 else ""
        x = round(index * slot + slot * 0.15, 1)
        out.append(Bar(x=x, y=round(TOP + room - height, 1), width=round(slot * 0.7, 1), height=height, count=count,
                       label=format_date(day, "LLL"), year=year,
                       title=ngettext("%(month)s: %(num)s enrolled", "%(month)s: %(num)s enrolled", count,
                                      month=month_name(day)),
                       label_x=round(index * slot + slot / 2, 1), month=month_name(day)))
    return out


SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 300, 90, 6


@dataclass(frozen=True)
class Spark:
    """One series of the history as SVG geometry: a line through the days, a dot on each."""

    points: str  # polyline "x,y x,y ..."
    dots: list[tuple[float, float]]
    peak: float  # the value the top of the plot stands for (0: every known day was 0)


def spark(values: list[float | None], peak: float | None = None) -> Spark:
    """Lay a series out over the days, scaled to its peak (or `peak`); unknown days leave no dot."""
    known = [v for v in values if v is not None]
    label = peak if peak is not None else max(known, default=0)
    top = label or 1
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(values) - 1, 1)
    room = SPARK_HEIGHT - 2 * SPARK_PAD
    dots = [(round(SPARK_PAD + index * step, 1), round(SPARK_PAD + room - room * value / top, 1))
            for index, value in enumerate(values) if value is not None]
    if len(values) == 1 and dots:
        dots = [(SPARK_WIDTH / 2, dots[0][1])]  # one day: a dot in the middle, not at the left edge
    return Spark(" ".join(f"{x},{y}" for x, y in dots), dots, label)
