from celery import shared_task
from django.db import connection, transaction

from apps.common.enqueue import enqueue

from . import services

EVALUATION_LOCK = 0x0A1E7  # pg_advisory_xact_lock key of the rule evaluation


@shared_task(name="alerts.deliver_webhooks")
def deliver_webhooks() -> int:
    """Send the webhook messages that are due (new ones and retries)."""
    return services.deliver_due()


@shared_task(name="alerts.evaluate_pairs", ignore_result=True)
def evaluate_pairs(pair_ids: list[int]) -> None:
    """Evaluate the rules against these pairs' latest states."""
    from apps.feeds.models import Pair
    from apps.feeds.pair_state import pair_states

    from .changes import publish_changes
    from .evaluate import evaluate

    with transaction.atomic():
        # One evaluation at a time, each reading the states only once it holds the lock: two
        # workers racing on one subject would collide on its incident (rolling a whole batch
        # back), and an older state evaluated after a newer one would reopen what it resolved.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVALUATION_LOCK])
        states = list(pair_states(list(Pair.objects.filter(pk__in=pair_ids))).values())
        evaluate(states)
        messages = publish_changes(states)
    if messages:
        enqueue(deliver_now, [m.pk for m in messages])


@shared_task(name="alerts.deliver_notices")
def deliver_notices() -> int:
    """Send the channel notifications that are due (new ones and retries)."""
    from . import notices

    return notices.deliver_due()


@shared_task(name="alerts.escalate")
def escalate() -> int:
    """Tell escalation channels about incidents left unacknowledged too long."""
    from . import notices

    return notices.escalate_due()


@shared_task(name="alerts.deliver_now", ignore_result=True)
def deliver_now(trigger_ids: list[int]) -> None:
    """Right after incidents changed or events were written (`trigger_ids`: which, for the
    log): send what is due — their webhooks and notices among it — without waiting for the
    periodic delivery."""
    from . import notices

    for _ in range(20):  # a burst of incidents may leave more than one batch due
        if services.deliver_due() + notices.deliver_due() == 0:
            break


@shared_task(name="alerts.check_ingestion")
def check_ingestion() -> dict:
    """Tell the operators when our own reading of a source starts or stops being delayed."""
    from .operator import check_ingestion as check

    return check()
