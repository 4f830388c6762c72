import logging

from celery import shared_task

from . import metering, services, webhooks
from .models import StripeEvent

logger = logging.getLogger(__name__)


@shared_task(name=webhooks.PROCESS_TASK)
def process_event(event_pks: list[int]) -> None:
    """Bring organizations up to date after Stripe events; a failure is recorded on the event
    and the sweep below tries it again."""
    for event in StripeEvent.objects.filter(pk__in=event_pks).order_by("created"):
        try:
            webhooks.process(event)
        except Exception:
            logger.exception("stripe event %s failed; retried by the sweep", event.event_id)


@shared_task(name="billing.process_pending_events")
def process_pending_events() -> int:
    """Events whose processing failed or never ran (a worker died): tried again."""
    done, failed = webhooks.process_pending()
    for event, error in failed:
        logger.error("stripe event %s failed again: %s", event.event_id, error)
    return done


@shared_task(name="billing.expire_grace")
def expire_grace() -> int:
    """Past-due organizations beyond the grace period fall back to Free."""
    return services.expire_grace()


@shared_task(name="billing.report_overage")
def report_overage() -> int:
    """Report closed hours' overage to Stripe's Billing Meter, once each."""
    return metering.report_overage()
