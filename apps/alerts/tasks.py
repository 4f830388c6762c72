"""The alerts' Celery entry points: thin, each calling the service that does the work (the
services never import this module; what must run after their commit they call directly, or
enqueue by task name)."""
from celery import shared_task

from .operator import check_ingestion as check
from .services import delivery, evaluation, incidents


@shared_task(name="alerts.evaluate_pairs", ignore_result=True)
def evaluate_pairs(pair_ids: list[int]) -> None:
    """Evaluate the rules against these pairs' latest states (and send what that wrote)."""
    evaluation.evaluate_pairs(pair_ids)


@shared_task(name="alerts.deliver_webhooks")
def deliver_webhooks() -> int:
    """Send the webhook messages that are due (new ones and retries)."""
    return delivery.deliver_webhooks()


@shared_task(name="alerts.deliver_notices")
def deliver_notices() -> int:
    """Send the channel notifications that are due (new ones and retries)."""
    return delivery.deliver_notices()


@shared_task(name="alerts.deliver_now", ignore_result=True)
def deliver_now(trigger_ids: list[int]) -> None:
    """Right after incidents changed (`trigger_ids`: which, for the log): send what is due —
    their webhooks and notices among it — without waiting for the periodic delivery."""
    delivery.drain()


@shared_task(name="alerts.escalate")
def escalate() -> int:
    """Tell escalation channels about incidents left unacknowledged too long."""
    return incidents.escalate_due()


@shared_task(name="alerts.check_ingestion")
def check_ingestion() -> dict:
    """Tell the operators when our own reading of a source starts or stops being delayed."""
    return check()
