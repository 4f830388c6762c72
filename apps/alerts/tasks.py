from celery import shared_task

from . import services


@shared_task(name="alerts.deliver_webhooks")
def deliver_webhooks() -> int:
    """Send the webhook messages that are due (new ones and retries)."""
    return services.deliver_due()


@shared_task(name="alerts.evaluate_pairs", ignore_result=True)
def evaluate_pairs(pair_ids: list[int]) -> None:
    """Evaluate the rules against these pairs' latest states."""
    from apps.feeds.models import Pair
    from apps.feeds.state import pair_states

    from .evaluate import evaluate

    evaluate(pair_states(list(Pair.objects.filter(pk__in=pair_ids))).values())
