"""defis.pdf: the helper every PDF of the project goes through."""

import copy
import io

import pytest
from pypdf import PdfReader

from defis import pdf

SAMPLE = """{% extends "pdf/base.html" %}
{% block title %}Sample document{% endblock %}
{% block content %}
  <h1>{{ heading }}</h1>
  <p style="break-before: page">Second page</p>
{% endblock %}"""


@pytest.fixture
def sample_template(settings):
    """pdf/sample.html, from memory: the repository holds no test template."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["APP_DIRS"] = False
    templates[0]["OPTIONS"]["loaders"] = [
        ("django.template.loaders.locmem.Loader", {"pdf/sample.html": SAMPLE}),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    settings.TEMPLATES = templates
    return "pdf/sample.html"


def test_it_renders_a_template_to_a_pdf(sample_template):
    content = pdf.render_pdf(sample_template, {"heading": "Prêt n° 2025-001 & co"})

    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 2
    first_page = reader.pages[0].extract_text()
    assert "Prêt n° 2025-001 & co" in first_page
    assert reader.metadata.title == "Sample document"


def test_it_numbers_the_pages_by_default(sample_template):
    reader = PdfReader(io.BytesIO(pdf.render_pdf(sample_template, {"heading": "Title"})))

    assert "Page 1 / 2" in reader.pages[0].extract_text()
    assert "Page 2 / 2" in reader.pages[1].extract_text()
    # A4, in points.
    assert round(reader.pages[0].mediabox.width) == 595
    assert round(reader.pages[0].mediabox.height) == 842


def test_it_builds_the_print_stylesheet_once(sample_template):
    pdf.stylesheet.cache_clear()

    pdf.render_pdf(sample_template, {"heading": "One"})
    pdf.render_pdf(sample_template, {"heading": "Two"})

    info = pdf.stylesheet.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert pdf.print_stylesheet() is pdf.print_stylesheet()


def test_a_documents_own_stylesheet_is_parsed_once_too(sample_template):
    pdf.stylesheet.cache_clear()
    own = ("pdf/loans/agreement.css",)

    pdf.render_pdf(sample_template, {"heading": "One"}, stylesheets=own)
    pdf.render_pdf(sample_template, {"heading": "Two"}, stylesheets=own)

    info = pdf.stylesheet.cache_info()
    assert (info.misses, info.hits) == (2, 2)  # the print stylesheet and the document's


def test_it_reads_static_files_from_disk_and_nothing_else():
    fetcher = pdf._LocalFetcher()

    favicon = fetcher.fetch(pdf.BASE_URL + "static/img/favicon.svg")
    assert favicon.read().startswith(b"<svg")
    with pytest.raises(ValueError):
        fetcher.fetch("https://example.com/logo.png")
    with pytest.raises(ValueError):
        fetcher.fetch(pdf.BASE_URL + "static/../../defis/settings.py")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"


def test_it_shows_the_pdf_in_the_browser():
    response = pdf.pdf_response(b"%PDF-1.7 ...", "etiquettes-DEF-0001-DEF-0024.pdf")

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="etiquettes-DEF-0001-DEF-0024.pdf"'
    assert response.content == b"%PDF-1.7 ..."
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_it_offers_the_pdf_as_a_download():
    response = pdf.pdf_response(b"%PDF-1.7 ...", "convention.pdf", inline=False)

    assert response["Content-Disposition"] == 'attachment; filename="convention.pdf"'


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ('../../etc/"passwd".pdf', 'inline; filename="....etcpasswd.pdf"'),
        ("reçu Le Gall.pdf", "inline; filename*=utf-8''re%C3%A7u_Le_Gall.pdf"),
        ("/", 'inline; filename="document.pdf"'),
    ],
)
def test_it_makes_the_filename_safe(filename, expected):
    response = pdf.pdf_response(b"%PDF-1.7 ...", filename)

    assert response["Content-Disposition"] == expected
