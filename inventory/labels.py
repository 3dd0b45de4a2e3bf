"""Asset labels: A4 sheets of 3 × 8 self-adhesive labels of 70 × 37 mm, one per laptop.

Each label shows the asset tag, the brand and model, the serial number and the
association's name, and a QR code that opens the laptop's page in the application.
A partly used sheet can go through the printer again: `skip` leaves its used positions
blank.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import segno
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from defis.forms import is_id
from defis.models import Association
from defis.pdf import pdf_response, render_pdf
from defis.permissions import staff_required

from .models import Laptop

LABELS_PER_SHEET = 24  # 3 columns × 8 rows
# One print run at most: 20 sheets (and an address that every browser and server accepts).
MAX_LABELS = 20 * LABELS_PER_SHEET
DEFAULT_OWNER = "Défis"


@dataclass(frozen=True)
class Label:
    asset_tag: str
    name: str
    serial_number: str
    owner: str
    qr_code: str  # an SVG data URI, for <img src>


def qr_code_data_uri(url: str) -> str:
    """A QR code of `url` as an SVG data URI. Error correction M survives a scratched
    label. The 2-module quiet zone is completed by the label's own white margin."""
    return segno.make(url, error="m").svg_data_uri(border=2, omitsize=True)


def laptop_label(laptop: Laptop, *, url: str, owner: str) -> Label:
    """What one label shows; `url` is the absolute address of the laptop's page."""
    return Label(
        asset_tag=laptop.asset_tag,
        name=laptop.name,
        serial_number=laptop.serial_number,
        owner=owner,
        qr_code=qr_code_data_uri(url),
    )


def label_sheets(labels: Iterable[Label], *, skip: int = 0) -> list[list[Label | None]]:
    """The labels laid out on sheets, after `skip` blank positions (None)."""
    positions: list[Label | None] = [None] * skip + list(labels)
    return [
        positions[start : start + LABELS_PER_SHEET]
        for start in range(0, len(positions), LABELS_PER_SHEET)
    ]


class LabelRequestError(Exception):
    """The laptops or the skip count asked for cannot be read; the message says why."""


def _chosen_ids(values: Sequence[str]) -> set[int]:
    values = [value for value in values if value.strip()]
    if not values:
        raise LabelRequestError(_("Choose at least one laptop to print its label."))
    try:
        ids = {int(value) for value in values}
    except ValueError:
        ids = set()
    # Out of range ids would make the database fail rather than find nothing.
    if not ids or not all(is_id(pk) for pk in ids):
        raise LabelRequestError(
            _("The chosen laptops could not be read. Choose them again in the list.")
        )
    if len(ids) > MAX_LABELS:
        raise LabelRequestError(too_many_labels(len(ids)))
    return ids


def too_many_labels(count: int) -> str:
    return _(
        "%(count)s laptops chosen: print at most %(max)s labels at a time (%(sheets)s sheets)."
    ) % {"count": count, "max": MAX_LABELS, "sheets": MAX_LABELS // LABELS_PER_SHEET}


def _skip(value: str) -> int:
    try:
        skip = int(value or 0)
    except ValueError:
        skip = -1
    if not 0 <= skip < LABELS_PER_SHEET:
        raise LabelRequestError(
            _("The number of labels already used on the sheet must be between 0 and %(max)s.")
            % {"max": LABELS_PER_SHEET - 1}
        )
    return skip


def _back(request):
    """Back to the page the request came from when it is ours, else to the laptop list."""
    referer = request.headers.get("referer", "")
    if (
        url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        # Never back to this very address: bad parameters would send the browser in circles.
        and not referer.split("?")[0].endswith(request.path)
    ):
        return redirect(referer)
    return redirect("inventory:laptops")


def _filename(laptops: Sequence[Laptop]) -> str:
    tags = dict.fromkeys([laptops[0].asset_tag, laptops[-1].asset_tag])
    return "etiquettes-" + "-".join(tags) + ".pdf"


@staff_required
def labels_pdf(request):
    """GET ?laptop=3&laptop=7[&skip=5]: the labels of those laptops, in asset-tag order."""
    try:
        ids = _chosen_ids(request.GET.getlist("laptop"))
        skip = _skip(request.GET.get("skip", ""))
        laptops = list(
            Laptop.objects.filter(pk__in=ids)
            .only("pk", "asset_tag", "brand", "model", "serial_number")
            .order_by("asset_tag")
        )
        if len(laptops) != len(ids):
            raise LabelRequestError(
                _("Some of the chosen laptops no longer exist. Choose them again in the list.")
            )
    except LabelRequestError as error:
        messages.error(request, str(error))
        return _back(request)

    owner = Association.objects.current().name or DEFAULT_OWNER
    labels = [
        laptop_label(laptop, url=request.build_absolute_uri(laptop.get_absolute_url()), owner=owner)
        for laptop in laptops
    ]
    pdf = render_pdf(
        "pdf/inventory/labels.html",
        {"sheets": label_sheets(labels, skip=skip)},
        request=request,
    )
    return pdf_response(pdf, _filename(laptops))
