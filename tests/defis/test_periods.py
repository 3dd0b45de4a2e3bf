from datetime import date

import pytest

from defis.periods import add_months, months_started


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 10, 12), 5, date(2027, 3, 12)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_it_adds_months_clamped_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("start", "last_day", "expected"),
    [
        (date(2026, 10, 12), date(2027, 3, 11), 5),  # five whole months
        (date(2026, 10, 12), date(2027, 3, 12), 6),  # the sixth has begun: it is due
        (date(2026, 10, 12), date(2026, 10, 12), 1),
        (date(2026, 10, 12), date(2026, 10, 11), 0),
        (date(2026, 1, 31), date(2026, 2, 27), 1),
        (date(2026, 1, 31), date(2026, 2, 28), 2),
    ],
)
def test_it_counts_the_months_begun(start, last_day, expected):
    assert months_started(start, last_day) == expected
