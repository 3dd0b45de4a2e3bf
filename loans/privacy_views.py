"""Answering a trainee's access request: everything held about one trainee, as JSON and PDF
(loans.privacy). Staff only: a coordinator asks Défis, which answers the person."""

import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

from defis.pdf import pdf_response
from defis.permissions import staff_required
from trainees.models import Trainee

from . import privacy


def _trainee(request, pk) -> Trainee:
    return get_object_or_404(Trainee.objects.visible_to(request.user), pk=pk)


@staff_required
def trainee_export_json(request, pk):
    file = privacy.trainee_file(_trainee(request, pk))
    content = json.dumps(privacy.as_json(file), ensure_ascii=False, indent=2)
    response = HttpResponse(content, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"stagiaire-{file.trainee.pk}.json"
    )
    # Personal data, perhaps on a shared computer: no copy in the browser's cache or a proxy.
    patch_cache_control(response, private=True, no_store=True)
    return response


@staff_required
def trainee_export_pdf(request, pk):
    file = privacy.trainee_file(_trainee(request, pk))
    return pdf_response(privacy.render_pdf(file), f"stagiaire-{file.trainee.pk}.pdf", inline=False)
