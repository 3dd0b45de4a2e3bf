"""Money: Decimal euros with two places, shown the French way ("7,00 €")."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format

CENT = Decimal("0.01")


def to_euros(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_euros(value) -> str:
    """'1 234,50 €' in French (non-breaking spaces), '1,234.50 €' in English."""
    if value is None or value == "":
        return ""
    amount = number_format(to_euros(value), decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{amount}\N{NO-BREAK SPACE}€"
