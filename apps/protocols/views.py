"""The ingestion health page: is the platform itself reading every source on time?"""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .selectors import ingestion_health


@login_required
def health(request: HttpRequest) -> HttpResponse:
    sources = ingestion_health(timezone.now())
    template = "protocols/_health_rows.html" if request.htmx else "protocols/health.html"
    return render(request, template, {"sources": sources,
                                      "delayed": [s for s in sources if s["delayed"]]})
