"""Charts drawn on the server as SVG markup, so that the same chart goes into a page and into a
PDF (WeasyPrint draws inline SVG).

The markup uses SVG presentation attributes only (``fill="#0b4f6c"``), never a ``style``
attribute nor a script: the pages are meant to run under a Content Security Policy without
'unsafe-inline'. Every text is escaped, so the functions return the markup marked safe (a
`SafeString`, a `str`): a template prints it as it is.

    burndown_svg(points, *, amount, today=None, pace=None, title="", chart_id="burndown",
                 width=760, height=320) -> SafeString

    points: [(month, consumed, forecast), ...], one per calendar month, in order, where
      - month: a `date` in that month (its first day, say);
      - consumed: the cumulative amount drawn by the end of the month (`Decimal`), or None for
        the months to come;
      - forecast: the cumulative amount drawn plus the committed periods falling up to that
        month (`Decimal`), or None for the months gone by.
      `loans.envelope_stats.EnvelopeStats.chart_points()` gives them for an envelope.
    amount: the envelope's amount (`Decimal`).
    today: draws a "today" mark on that month.
    pace: a `Decimal` per month: draws the dotted line of what is left at that pace, from the
      last month drawn on.
    title: the chart's accessible name (a <title>), defaults to "Burn-down of the envelope".
    chart_id: a prefix for the ids inside the SVG (two charts on one page need two).
    width, height: the size in CSS pixels (the viewBox is the same; a stylesheet may scale it:
      `svg.burndown-chart { width: 100%; height: auto }`). On an A4 portrait page with the
      print stylesheet's margins, width=640, height=280 fits the text width.

  It draws what is left in the envelope month by month: the amount less what was drawn
  (solid), then less the committed periods (dashed), against the euros on the left axis
  ("15 000 €") and the months below ("janv. 2027"), in the active language.

    share_bar_svg(*, amount, consumed, committed, width=240, height=12) -> SafeString

  A horizontal bar: consumed, committed and available as shares of the amount (what goes
  over the amount in red), with an accessible label.

Amounts stay `Decimal` until they become a coordinate.
"""

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

BLUE = "#0b4f6c"  # the Défis blue: what was drawn
TEAL = "#1a7f8e"  # the committed periods
GREY = "#6c757d"
LIGHT = "#dee2e6"
RED = "#b02a37"
PALE_RED = "#f8d7da"
TEXT = "#212529"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

Point = tuple[date, Decimal | None, Decimal | None]


def euros_label(value: Decimal) -> str:
    """An axis label: "15 000 €", "2 500 €", "12,50 €" (no cents when round)."""
    value = Decimal(value)
    places = 0 if value == value.to_integral_value() else 2
    text = number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)
    return f"{text}\N{NO-BREAK SPACE}€"


# The months as the French abbreviate them ("janv.", "févr.", "juil."): Django's own short
# names are not those.
MONTHS = (
    pgettext_lazy("abbreviated month", "Jan."),
    pgettext_lazy("abbreviated month", "Feb."),
    pgettext_lazy("abbreviated month", "Mar."),
    pgettext_lazy("abbreviated month", "Apr."),
    pgettext_lazy("abbreviated month", "May"),
    pgettext_lazy("abbreviated month", "Jun."),
    pgettext_lazy("abbreviated month", "Jul."),
    pgettext_lazy("abbreviated month", "Aug."),
    pgettext_lazy("abbreviated month", "Sep."),
    pgettext_lazy("abbreviated month", "Oct."),
    pgettext_lazy("abbreviated month", "Nov."),
    pgettext_lazy("abbreviated month", "Dec."),
)


def month_label(month: date) -> str:
    """ "janv. 2027" in French, "Jan. 2027" in English."""
    return f"{MONTHS[month.month - 1]} {month.year}"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _nice_step(span: Decimal, ticks: int = 5) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` intervals."""
    if span <= 0:
        return Decimal(1)
    raw = span / ticks
    power = Decimal(10) ** math.floor(math.log10(raw))
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        step = power * factor
        if step >= raw:
            return step
    return power * 10


def _month_stride(count: int, slot: float, room: float = 74.0) -> int:
    """Label every n-th month, so that labels do not overlap."""
    for stride in (1, 2, 3, 4, 6, 12, 24):
        if stride * slot >= room:
            return stride
    return max(1, math.ceil(room / max(slot, 1)))


def _text(x, y, content, *, anchor="start", size=12, fill=TEXT, weight=None) -> str:
    extra = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}"{extra}>{escape(content)}</text>'
    )


def _polyline(points, *, stroke, width=2.5, dash=None) -> str:
    if len(points) < 2:
        return ""
    coordinates = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<polyline points="{coordinates}" fill="none" stroke="{stroke}" '
        f'stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"{dashed}/>'
    )


def burndown_svg(
    points: Sequence[Point],
    *,
    amount: Decimal,
    today: date | None = None,
    pace: Decimal | None = None,
    title: str = "",
    chart_id: str = "burndown",
    width: int = 760,
    height: int = 320,
) -> SafeString:
    """What is left in the envelope month by month; see the module docstring."""
    title = title or _("Burn-down of the envelope")
    amount = Decimal(amount)
    points = list(points)
    left, right, top, bottom = 84.0, 16.0, 44.0, 44.0
    plot_width, plot_height = width - left - right, height - top - bottom

    # What is left: the amount less the cumulative drawings (or the forecast).
    actual = [
        (i, amount - consumed) for i, (_, consumed, _f) in enumerate(points) if consumed is not None
    ]
    forecast = [(i, amount - value) for i, (_, _c, value) in enumerate(points) if value is not None]
    if actual and forecast and forecast[0][0] >= actual[-1][0] and forecast[0] != actual[-1]:
        forecast.insert(0, actual[-1])  # the dashed line carries on from the last month drawn
    pace_line = []
    if pace and actual:
        start_index, start_value = actual[-1]
        pace_line = [
            (i, start_value - Decimal(pace) * (i - start_index))
            for i in range(start_index, len(points))
        ]
    values = [value for _i, value in actual + forecast + pace_line] + [amount, Decimal(0)]
    lowest, highest = min(values), max(values)
    step = _nice_step(highest - lowest)
    y_min = (lowest / step).to_integral_value(rounding="ROUND_FLOOR") * step
    y_max = (highest / step).to_integral_value(rounding="ROUND_CEILING") * step
    if y_max == y_min:
        y_max = y_min + step
    count = max(len(points), 1)
    slot = plot_width / count

    def x_of(index: float) -> float:
        return left + (index + 0.5) * slot

    def y_of(value: Decimal) -> float:
        return top + float((y_max - value) / (y_max - y_min)) * plot_height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="burndown-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" font-family="{escape(FONT)}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    # Below zero: the envelope is overrun.
    if y_min < 0:
        parts.append(
            f'<rect x="{_number(left)}" y="{_number(y_of(Decimal(0)))}" '
            f'width="{_number(plot_width)}" height="{_number(y_of(y_min) - y_of(Decimal(0)))}" '
            f'fill="{PALE_RED}"/>'
        )
    # The euros, on the left.
    tick = y_min
    while tick <= y_max:
        y = y_of(tick)
        line = GREY if tick == 0 else LIGHT
        parts.append(
            f'<line x1="{_number(left)}" y1="{_number(y)}" x2="{_number(width - right)}" '
            f'y2="{_number(y)}" stroke="{line}" stroke-width="1"/>'
        )
        parts.append(_text(left - 8, y + 4, euros_label(tick), anchor="end", size=11, fill=GREY))
        tick += step
    # The months, below.
    stride = _month_stride(count, slot)
    axis_y = top + plot_height
    for index, (month, _c, _f) in enumerate(points):
        x = x_of(index)
        labelled = index % stride == 0
        parts.append(
            f'<line x1="{_number(x)}" y1="{_number(axis_y)}" x2="{_number(x)}" '
            f'y2="{_number(axis_y + (6 if labelled else 3))}" stroke="{GREY}" stroke-width="1"/>'
        )
        if labelled:
            parts.append(_text(x, axis_y + 20, month_label(month), anchor="middle", size=11))
    # Today.
    if today is not None:
        for index, (month, _c, _f) in enumerate(points):
            if (month.year, month.month) == (today.year, today.month):
                x = x_of(index)
                parts.append(
                    f'<line x1="{_number(x)}" y1="{_number(top)}" x2="{_number(x)}" '
                    f'y2="{_number(axis_y)}" stroke="{GREY}" stroke-width="1" '
                    f'stroke-dasharray="2 3"/>'
                )
                parts.append(_text(x + 4, top + 12, _("today"), size=11, fill=GREY))
    # The lines.
    parts.append(
        _polyline([(x_of(i), y_of(v)) for i, v in pace_line], stroke=GREY, width=1.5, dash="1 4")
    )
    parts.append(
        _polyline([(x_of(i), y_of(v)) for i, v in forecast], stroke=TEAL, width=2.5, dash="7 5")
    )
    parts.append(_polyline([(x_of(i), y_of(v)) for i, v in actual], stroke=BLUE, width=2.5))
    if len(actual) == 1:
        i, v = actual[0]
        parts.append(
            f'<circle cx="{_number(x_of(i))}" cy="{_number(y_of(v))}" r="3" fill="{BLUE}"/>'
        )
    overrun = next(((i, v) for i, v in forecast if v < 0), None) or next(
        ((i, v) for i, v in actual if v < 0), None
    )
    if overrun is not None:
        i, v = overrun
        parts.append(
            f'<circle cx="{_number(x_of(i))}" cy="{_number(y_of(v))}" r="5" fill="{RED}" '
            f'stroke="#ffffff" stroke-width="1.5"/>'
        )
    # The legend, above.
    legend = [
        (BLUE, None, _("Left after what was drawn")),
        (TEAL, "7 5", _("Left after the committed loans")),
    ]
    if pace_line:
        legend.append((GREY, "1 4", _("At the recent pace")))
    x = left
    for colour, dash, label in legend:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{_number(x)}" y1="18" x2="{_number(x + 26)}" y2="18" stroke="{colour}" '
            f'stroke-width="2.5"{dashed}/>'
        )
        parts.append(_text(x + 32, 22, label, size=12))
        x += 44 + 6.6 * len(label)
    parts.append("</svg>")
    # Every text above went through escape().
    return mark_safe("".join(part for part in parts if part))


def share_bar_svg(
    *, amount: Decimal, consumed: Decimal, committed: Decimal, width: int = 240, height: int = 12
) -> SafeString:
    """Consumed, committed and available as shares of the amount, in one bar."""
    amount = Decimal(amount)
    consumed, committed = Decimal(consumed), Decimal(committed)
    whole = max(amount, consumed + committed, Decimal("0.01"))

    def share(value: Decimal) -> float:
        return float(max(value, Decimal(0)) / whole) * width

    used, engaged = share(consumed), share(committed)
    over = share(consumed + committed - amount) if consumed + committed > amount else 0.0
    label = _("%(consumed)s consumed, %(committed)s committed, %(available)s available") % {
        "consumed": euros_label(consumed),
        "committed": euros_label(committed),
        "available": euros_label(amount - consumed - committed),
    }
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="share-bar" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" rx="2" fill="{LIGHT}"/>',
        f'<rect x="0" y="0" width="{_number(used)}" height="{height}" fill="{BLUE}"/>',
        f'<rect x="{_number(used)}" y="0" width="{_number(engaged)}" height="{height}" '
        f'fill="{TEAL}"/>',
    ]
    if over:
        parts.append(
            f'<rect x="{_number(width - over)}" y="0" width="{_number(over)}" '
            f'height="{height}" fill="{RED}"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
