"""This site's own pages. The accounts and proxy apps bring theirs; the home page is the
project's, and shows how a page uses them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.pages import current_record, display_name


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    record = current_record(request)
    name = display_name(record.public_claims()) if record else None
    return render(request, "home.html", {"record": record, "display_name": name})
