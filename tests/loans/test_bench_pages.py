"""`make bench` (manage.py bench_pages): one run, at a tiny fraction of the design scale,
measures every key page, the floor, an agreement and billing, and writes its table into its
own section of the benchmarks document, leaving the rest of the document alone."""

import os
import subprocess
import sys
from pathlib import Path

from loans.management.commands.bench_pages import SECTION_TITLE, write_section

ROOT = Path(__file__).resolve().parents[2]
KEY_PAGES = [
    "staff dashboard",
    "laptop list",
    "request queue",
    "loan list",
    "loan page",
    "coordinator's trainee list",
    "arrears",
    "envelope page",
    "reconciliation report",
]


def test_one_run_measures_every_key_page_and_writes_its_section(tmp_path):
    document = tmp_path / "benchmarks.md"
    document.write_text("# Benchmarks\n\n## Loan documents (issue 5)\n\nKept as it is.\n")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(DJANGO_SETTINGS_MODULE="defis.settings", DJANGO_DEBUG="1")
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench_pages",
            *("--fraction", "0.002", "--runs", "2", "--renders", "1"),
            *("--write", "--output", str(document)),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    text = document.read_text()
    assert text.startswith("# Benchmarks\n\n## Loan documents (issue 5)\n\nKept as it is.\n")
    assert SECTION_TITLE in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    for page in ["floor: layout after one query", *KEY_PAGES]:
        rows = [row for row in table if page in row]
        assert rows, page
        cells = [cell.strip() for cell in rows[0].split("|")[1:-1]]
        assert int(cells[1]) > 0 and cells[2].endswith(" ms") and cells[3].endswith(" ms"), rows
    assert any("ratio agreement / plain" in row for row in table)
    assert any(row.startswith("| billing run, every open loan") for row in table)


def test_writing_again_replaces_the_databases_part_and_keeps_the_other(tmp_path):
    text = "# Benchmarks\n\n## Loan documents (issue 5)\n\nKept.\n"
    document = tmp_path / "benchmarks.md"
    document.write_text(text)
    write_section(document, "first sqlite\n", vendor="sqlite", title="SQLite")
    write_section(document, "first pg\n", vendor="postgresql", title="PostgreSQL")
    write_section(document, "second sqlite\n", vendor="sqlite", title="SQLite")
    result = document.read_text()
    assert result.startswith(text)
    assert result.count(SECTION_TITLE) == 1
    assert "second sqlite" in result and "first sqlite" not in result
    assert "first pg" in result
    assert result.count("<!-- bench:pages:sqlite:start -->") == 1
