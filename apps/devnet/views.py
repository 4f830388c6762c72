"""The staff-only devnet page: what the simulated market is doing, and its faults."""
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .control import DevnetClient, DevnetUnavailable
from .faults import SPECS, FaultError


def _client() -> DevnetClient:
    return DevnetClient(settings.OP_DEVNET_CONTROL_URL, timeout=3)


@staff_member_required
def devnet_page(request: HttpRequest) -> HttpResponse:
    template = "devnet/_status.html" if request.htmx else "devnet/page.html"
    try:
        status, error = _client().status(), None
    except DevnetUnavailable as unavailable:
        status, error = None, str(unavailable)
    return render(request, template, {
        "status": status, "error": error,
        "kinds": {kind: spec for kind, spec in SPECS.items()},
    })


@staff_member_required
@require_POST
def inject_fault(request: HttpRequest) -> HttpResponse:
    kind, target = request.POST.get("kind", ""), request.POST.get("target", "").strip()
    value = request.POST.get("value", "").strip()
    params = {}
    if value and SPECS.get(kind) and SPECS[kind].params:
        params[next(iter(SPECS[kind].params))] = value
    try:
        fault = _client().inject(kind, target, **params)
    except (FaultError, DevnetUnavailable) as error:
        messages.error(request, f"Fault not injected: {error}")
    else:
        messages.success(request, f"Injected #{fault['id']}: {fault['kind']} {fault['target']}.")
    return redirect("devnet")


@staff_member_required
@require_POST
def clear_faults(request: HttpRequest) -> HttpResponse:
    fault_id = request.POST.get("fault")
    try:
        cleared = _client().clear(int(fault_id) if fault_id else None)
    except (FaultError, DevnetUnavailable, ValueError) as error:
        messages.error(request, f"Nothing cleared: {error}")
    else:
        messages.success(request, f"Cleared {len(cleared)} fault(s).")
    return redirect("devnet")
