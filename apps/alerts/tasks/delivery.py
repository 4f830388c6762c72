"""Celery entry points of the sending: webhooks and channel notices, right after an evaluation
or an acknowledgement (`deliver_now`), periodically for retries, and escalation."""
import logging

from celery import shared_task

from apps.alerts.services import delivery, incidents

logger = logging.getLogger(__name__)


@shared_task(name="alerts.deliver_now", ignore_result=True)
def deliver_now(trigger_ids: list[int]) -> None:
    """Right after incidents changed or webhook events were written (`trigger_ids`: the
    incidents, for the log): send what is due without waiting for the periodic delivery. A task
    of its own, so a slow receiver never holds up the next evaluation."""
    logger.debug("delivering after incidents %s changed", trigger_ids)
    delivery.drain()


@shared_task(name="alerts.deliver_webhooks")
def deliver_webhooks() -> int:
    """Send the webhook messages that are due (new ones and retries)."""
    return delivery.deliver_webhooks()


@shared_task(name="alerts.deliver_notices")
def deliver_notices() -> int:
    """Send the channel notifications that are due (new ones and retries)."""
    return delivery.deliver_notices()


@shared_task(name="alerts.escalate")
def escalate() -> int:
    """Tell escalation channels about incidents left unacknowledged too long."""
    return incidents.escalate_due()
