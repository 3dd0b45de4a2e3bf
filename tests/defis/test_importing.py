"""The spreadsheet helpers every import and export shares."""

import io

import openpyxl
import pytest
import tablib

from defis.importing import CSV, XLSX, spreadsheet_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("-12,5", "-12,5"),
        ("Léa", "Léa"),
        (12, 12),
        (None, None),
    ],
)
def test_text_that_would_run_as_a_formula_is_quoted(value, expected):
    assert spreadsheet_text(value) == expected


def test_exports_never_hold_a_formula():
    dataset = tablib.Dataset(["=1+1", "Léa"], headers=["Prénom", "Nom"])
    csv_text = CSV().export_data(dataset)
    assert "'=1+1" in csv_text
    workbook = openpyxl.load_workbook(io.BytesIO(XLSX().export_data(dataset)))
    cell = workbook.active["A2"]
    assert (cell.value, cell.data_type) == ("'=1+1", "s")
    assert dataset[0][0] == "=1+1"  # the dataset itself is left as it was
