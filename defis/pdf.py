"""PDF documents: a Django template rendered to HTML, then to PDF by WeasyPrint.

Every document of the project goes through `render_pdf` and `pdf_response`: asset labels,
loan agreements, receipts, funder reports. Documents extend `pdf/base.html`; the shared
print stylesheet `pdf/print.css` is parsed once per process, because parsing CSS is what
makes a PDF slow, not laying it out. No CSS framework in PDFs.

Resources are never fetched over the network: the document may name static files
(`{% static 'img/logo.svg' %}`), read from disk, and data: URIs (QR codes); anything
else is left out with a warning in WeasyPrint's log.

This module imports no app: the apps import it.
"""

import os
from functools import cache
from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.text import get_valid_filename
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcherResponse

PRINT_STYLESHEET = "pdf/print.css"
# Any absolute URL does: it only lets "/static/…" in a template resolve to an address
# whose path the fetcher below understands.
BASE_URL = "http://pdf.invalid/"


@cache
def font_config() -> FontConfiguration:
    """Shared by the stylesheet and every document, so that fonts are looked up once."""
    return FontConfiguration()


@cache
def stylesheet(template_name: str) -> weasyprint.CSS:
    """A stylesheet template, parsed once per process and reused by every document."""
    return weasyprint.CSS(string=render_to_string(template_name), font_config=font_config())


def print_stylesheet() -> weasyprint.CSS:
    """The stylesheet every document gets: page size, margins, page numbers, type."""
    return stylesheet(PRINT_STYLESHEET)


def _static_file(url_path: str) -> str | None:
    """The file on disk behind a static URL path, or None."""
    static_prefix = urlsplit(settings.STATIC_URL).path
    if not static_prefix.startswith("/"):
        static_prefix = "/" + static_prefix
    if not url_path.startswith(static_prefix):
        return None
    relative = unquote(url_path.removeprefix(static_prefix))
    try:
        # The finders know the app and project folders (development, tests); STATIC_ROOT
        # holds the collected files in production.
        path = finders.find(relative) or FileSystemStorage(settings.STATIC_ROOT).path(relative)
    except SuspiciousFileOperation:  # "../" out of the static folders
        return None
    return path if os.path.isfile(path) else None


class _LocalFetcher(weasyprint.URLFetcher):
    """Static files from disk and data: URIs; nothing from the network."""

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = _static_file(urlsplit(url).path)
        if path is None:
            raise ValueError(f"Not a static file: {url}")
        with open(path, "rb") as file:
            return URLFetcherResponse(url, file.read())


def render_document(
    template_name: str, context: dict, *, request=None, stylesheets: tuple[str, ...] = ()
):
    """Lay out a template that extends `pdf/base.html`: a WeasyPrint document, whose pages
    can be combined with other documents' by `combine`.

    `stylesheets` names the document's own stylesheet templates, parsed once per process
    (a document printed often should keep its rules there rather than in a <style> block,
    which is parsed again at every render). They come after the print stylesheet, so their
    rules win on a tie."""
    html = render_to_string(template_name, context, request=request)
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=_LocalFetcher())
    sheets = [print_stylesheet(), *(stylesheet(name) for name in stylesheets)]
    return document.render(stylesheets=sheets, font_config=font_config())


def render_pdf(
    template_name: str, context: dict, *, request=None, stylesheets: tuple[str, ...] = ()
) -> bytes:
    """Render a template that extends `pdf/base.html` to the bytes of a PDF."""
    document = render_document(template_name, context, request=request, stylesheets=stylesheets)
    return document.write_pdf()


def combine(documents) -> bytes:
    """One PDF of several documents laid out apart, each keeping its own page numbers
    ("Page 1 / 3" restarts with every document)."""
    documents = list(documents)
    if not documents:
        raise ValueError("No document to combine.")
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()


def pdf_response(pdf_bytes: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    """The PDF as a download: shown in the browser (inline) or saved (attachment)."""
    try:
        filename = get_valid_filename(filename)
    except SuspiciousFileOperation:
        filename = "document.pdf"
    response = HttpResponse(pdf_bytes, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=not inline, filename=filename
    )
    # Documents may hold personal data and are opened on shared computers: no copy is kept
    # in the browser's cache or in a proxy.
    patch_cache_control(response, private=True, no_store=True)
    return response
