"""The staff-only devnet page: what the simulated market is doing, and its faults."""
import json
import threading

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.alerts.models import Channel, WebhookEndpoint
from apps.alerts.signing import SignatureError, verify
from apps.common.http import HtmxRequest

from .control import DevnetClient, DevnetUnavailable
from .faults import SPECS, FaultError


def _client() -> DevnetClient:
    return DevnetClient(settings.OP_DEVNET_CONTROL_URL, timeout=3)


@staff_member_required
def devnet_page(request: HtmxRequest) -> HttpResponse:
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


# --- a webhook receiver for trying alerts locally ------------------------------------------------

RECEIVED_KEY = "devnet:webhooks:received"
RECEIVED_KEEP = 100
MAX_BODY = 64 * 1024


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest) -> HttpResponse:
    """A local endpoint to point webhooks and generic-webhook channels at on the devnet
    (`http://127.0.0.1:8000/devnet/webhooks/receive/`): it keeps the last deliveries."""
    if settings.OP_NETWORK != "devnet":
        raise Http404("only on the devnet")
    body = request.body[:MAX_BODY]
    with _received_lock:  # deliveries arrive concurrently; one process serves the devnet
        _remember(request, body)
    return HttpResponse("ok", content_type="text/plain")


_received_lock = threading.Lock()


def _remember(request: HttpRequest, body: bytes) -> None:
    received = cache.get(RECEIVED_KEY) or []
    received.insert(0, {
        "at": timezone.now().isoformat(), "path": request.get_full_path(),
        "msg_id": request.headers.get("webhook-id", ""),
        "headers": {k: v for k, v in request.headers.items() if k.lower().startswith("webhook-")},
        "body": body.decode("utf-8", errors="replace"),
    })
    cache.set(RECEIVED_KEY, received[:RECEIVED_KEEP], None)


@staff_member_required
def received_webhooks(request: HttpRequest) -> HttpResponse:
    """What the local receiver got, each checked against the secret of the endpoint or
    channel it was sent to."""
    path = reverse("devnet_webhook_receive")
    # Any host and port: the receiver is whichever local server the endpoint names.
    secrets = [e.secret for e in WebhookEndpoint.objects.filter(url__contains=path)]
    for channel in Channel.objects.filter(kind=Channel.Kind.WEBHOOK):  # generic webhooks too
        config = json.loads(channel.config)
        if path in config.get("url", "") and config.get("secret"):
            secrets.append(config["secret"])
    rows = []
    for item in cache.get(RECEIVED_KEY) or []:
        verdict = "no endpoint with this URL"
        for secret in secrets:
            try:
                verify(secret, item["headers"], item["body"].encode(), tolerance=10**9)
                verdict = "signature valid"
                break
            except SignatureError as error:
                verdict = f"invalid: {error}"
        rows.append({**item, "verdict": verdict})
    return render(request, "devnet/webhooks.html",
                  {"received": rows, "url": request.build_absolute_uri(path)})
