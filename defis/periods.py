"""Monthly periods, as the fees count them: period k of something that starts on `start`
begins on start + (k - 1) months, clamped to the end of a shorter month (31 January + 1
month = 28 or 29 February). A period counts once it has begun on or before the last day.

This module imports no app: the apps import it.
"""

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_started(start: date, last_day: date) -> int:
    """How many periods have begun between `start` and `last_day`, both included."""
    if last_day < start:
        return 0
    count = (last_day.year - start.year) * 12 + last_day.month - start.month + 1
    while count > 0 and add_months(start, count - 1) > last_day:
        count -= 1
    return count
