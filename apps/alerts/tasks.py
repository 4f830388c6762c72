from celery import shared_task

from . import services


@shared_task(name="alerts.deliver_webhooks")
def deliver_webhooks() -> int:
    """Send the webhook messages that are due (new ones and retries)."""
    return services.deliver_due()
