from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import sync
from .models import SignedPayload, SyncRun


@shared_task(name="protocols.sync_chain", ignore_result=True)
def sync_chain(slug: str) -> None:
    """One sync tick for one EVM chain (beat runs it every OP_CHAIN_POLL_INTERVAL seconds)."""
    sync.sync_chain(slug)


@shared_task(name="protocols.sync_protocol", ignore_result=True)
def sync_protocol(slug: str) -> None:
    """One sync tick for one off-chain protocol (its HTTP API)."""
    sync.sync_protocol(slug)


@shared_task(name="protocols.prune_sync_runs")
def prune_sync_runs() -> int:
    """Drop sync runs and kept signed payloads past their retention."""
    now = timezone.now()
    runs, _ = SyncRun.objects.filter(
        started_at__lt=now - timedelta(hours=settings.OP_SYNC_RUN_RETENTION_HOURS)).delete()
    payloads, _ = SignedPayload.objects.filter(
        received_at__lt=now - timedelta(hours=settings.OP_SIGNED_PAYLOAD_RETENTION_HOURS)
    ).delete()
    return runs + payloads
