from django.dispatch import receiver

from apps.common.enqueue import enqueue
from apps.feeds.signals import pairs_refreshed

from .tasks.evaluation import evaluate_pairs


@receiver(pairs_refreshed, dispatch_uid="alerts.evaluate_refreshed_pairs")
def evaluate_refreshed_pairs(sender, states: dict[int, dict], **kwargs) -> None:
    """New states may open or resolve incidents; the evaluation runs off the write path."""
    enqueue(evaluate_pairs, sorted(states))
