"""The operator alert: when our own reading of a source is delayed (no recent sync, or its
circuit breaker open), the tenants' staleness rules stay quiet — the platform, not the oracle,
is behind — and the people who run this instance are told instead: the staff accounts, by
email, once when it starts and once when it recovers."""
from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.core.mail import send_mail
from django.utils import timezone

from apps.accounts.models import User
from apps.feeds.models import Chain
from apps.protocols.models import Protocol
from apps.protocols.selectors import ingestion_delays

logger = logging.getLogger(__name__)

DELAYED_KEY = "alerts:operator:delayed"  # the sources already reported as delayed


def check_ingestion(now: datetime | None = None) -> dict[str, list[str]]:
    """Compare the delayed sources with those already reported; tell the operators about
    the change. Returns what started and what recovered."""
    now = now or timezone.now()
    delays = ingestion_delays(now)
    protocols = dict(Protocol.objects.values_list("pk", "name"))
    chains = dict(Chain.objects.values_list("pk", "name"))
    current = {f"{protocols.get(p, p)} on {chains.get(c, 'its API') if c else 'its API'}": why
               for (p, c), why in delays.items()}
    reported = cache.get(DELAYED_KEY) or {}
    started = sorted(set(current) - set(reported))
    recovered = sorted(set(reported) - set(current))
    if started or recovered:
        cache.set(DELAYED_KEY, current, None)
        lines = [f"Delayed: {name} ({current[name]})" for name in started] + \
                [f"Recovered: {name}" for name in recovered]
        for line in lines:
            (logger.error if line.startswith("Delayed") else logger.warning)(
                "ingestion %s", line)
        staff = list(User.objects.filter(is_staff=True, is_active=True)
                     .values_list("email", flat=True))
        if staff:
            send_mail(f"Oracle Platform ingestion: {len(started)} delayed, "
                      f"{len(recovered)} recovered",
                      "Our own reading of these sources changed. While a source is delayed its "
                      "feeds show 'unknown — ingestion delayed' and tenants' staleness alerts "
                      "stay quiet.\n\n" + "\n".join(lines) + "\n\nSee /health/.",
                      None, staff, fail_silently=True)
    return {"started": started, "recovered": recovered}
