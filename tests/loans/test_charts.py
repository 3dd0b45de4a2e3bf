"""The SVG charts drawn on the server: well-formed markup, French axis labels, and nothing a
Content Security Policy without 'unsafe-inline' would block."""

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from defis.periods import add_months
from loans.charts import burndown_svg, euros_label, month_label, share_bar_svg

SVG = "{http://www.w3.org/2000/svg}"
NBSP = "\N{NO-BREAK SPACE}"


@pytest.fixture(autouse=True)
def french():
    with translation.override("fr"):
        yield


def points(months=24, drawn_until=10, share=Decimal("300.00"), committed=Decimal("150.00")):
    """A two-year envelope from January 2026: 300 € drawn a month for ten months, then the
    committed periods at 150 € a month."""
    result = []
    consumed = Decimal("0.00")
    forecast = None
    for index in range(months):
        month = add_months(date(2026, 1, 1), index)
        if index < drawn_until:
            consumed += share
            result.append((month, consumed, consumed if index == drawn_until - 1 else None))
            forecast = consumed
        else:
            forecast += committed
            result.append((month, None, forecast))
    return result


def texts(svg):
    return [element.text for element in ET.fromstring(svg).iter(f"{SVG}text")]


def test_it_is_well_formed_svg_with_an_accessible_name():
    svg = burndown_svg(points(), amount=Decimal("15000.00"), title="Enveloppe « Région »")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title.text == "Enveloppe « Région »"
    assert root.get("aria-labelledby") == title.get("id")


def test_it_labels_the_axes_the_french_way():
    labels = texts(burndown_svg(points(), amount=Decimal("15000.00")))
    assert f"15{NBSP}000{NBSP}€" in labels
    assert f"0{NBSP}€" in labels
    assert "janv. 2026" in labels
    # Two years of months: every third one is labelled, so that they do not overlap.
    assert "avr. 2026" in labels and "févr. 2026" not in labels
    assert "janv. 2027" in labels


def test_it_speaks_english_in_english():
    with translation.override("en"):
        labels = texts(burndown_svg(points(), amount=Decimal("15000.00")))
    assert "Jan. 2026" in labels
    assert "15,000\N{NO-BREAK SPACE}€" in labels
    assert "Left after what was drawn" in labels


def test_it_uses_presentation_attributes_and_no_style_nor_script():
    svg = burndown_svg(
        points(), amount=Decimal("15000.00"), today=date(2026, 10, 14), pace=Decimal("300")
    )
    bar = share_bar_svg(amount=Decimal(100), consumed=Decimal(60), committed=Decimal(70))
    for markup in (svg, bar):
        assert "style=" not in markup
        assert "<script" not in markup and "<style" not in markup
        assert " on" not in markup.replace(" one", "")  # no event handler attribute
    assert 'fill="#0b4f6c"' in bar


def test_it_escapes_what_it_is_given():
    svg = burndown_svg(points(3, 2), amount=Decimal("1000"), title="<b>A & B</b>")
    assert "<b>" not in svg
    assert ET.fromstring(svg).find(f"{SVG}title").text == "<b>A & B</b>"


def test_it_draws_the_lines_what_was_drawn_and_what_is_committed():
    root = ET.fromstring(
        burndown_svg(
            points(), amount=Decimal("15000.00"), today=date(2026, 10, 1), pace=Decimal("300")
        )
    )
    lines = {line.get("stroke"): line for line in root.iter(f"{SVG}polyline")}
    drawn, committed, pace = lines["#0b4f6c"], lines["#1a7f8e"], lines["#6c757d"]
    assert len(drawn.get("points").split()) == 10
    # The committed line carries on from the last month drawn, to the envelope's end.
    assert len(committed.get("points").split()) == 15
    assert drawn.get("points").split()[-1] == committed.get("points").split()[0]
    assert committed.get("stroke-dasharray")
    assert pace.get("stroke-dasharray")
    assert "aujourd’hui" in texts(ET.tostring(root, encoding="unicode"))


def test_an_overrun_goes_below_zero_and_is_marked():
    overrun = points(12, 6, share=Decimal("200.00"), committed=Decimal("400.00"))
    root = ET.fromstring(burndown_svg(overrun, amount=Decimal("2000.00")))
    assert any(c.get("fill") == "#b02a37" for c in root.iter(f"{SVG}circle"))
    assert any(r.get("fill") == "#f8d7da" for r in root.iter(f"{SVG}rect"))
    assert any(text.startswith("-") for text in texts(ET.tostring(root, encoding="unicode")))


def test_a_single_month_and_no_drawing_at_all_still_make_a_chart():
    ET.fromstring(burndown_svg([(date(2026, 1, 1), Decimal("0"), None)], amount=Decimal("100")))
    ET.fromstring(burndown_svg([(date(2026, 1, 1), None, Decimal("30"))], amount=Decimal("100")))
    ET.fromstring(burndown_svg([], amount=Decimal("100")))


def test_the_share_bar_says_what_it_shows():
    bar = share_bar_svg(amount=Decimal(15000), consumed=Decimal(1050), committed=Decimal(900))
    root = ET.fromstring(bar)
    assert root.get("aria-label") == (
        f"1{NBSP}050{NBSP}€ consommés, 900{NBSP}€ engagés, 13{NBSP}050{NBSP}€ disponibles"
    )
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")]
    assert widths[1] == pytest.approx(240 * 1050 / 15000, abs=0.1)


def test_labels_keep_cents_only_when_there_are_some():
    assert euros_label(Decimal("2500.00")) == f"2{NBSP}500{NBSP}€"
    assert euros_label(Decimal("12.50")) == f"12,50{NBSP}€"
    assert month_label(date(2027, 1, 1)) == "janv. 2027"
