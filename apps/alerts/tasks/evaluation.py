"""Celery entry points of the evaluation: rules against new pair states, and the operators'
ingestion check."""
from celery import shared_task

from apps.alerts import operator
from apps.alerts.services import evaluation


@shared_task(name="alerts.evaluate_pairs", ignore_result=True)
def evaluate_pairs(pair_ids: list[int]) -> None:
    """Evaluate the rules against these pairs' latest states; once that commits, what it wrote
    is sent by `alerts.deliver_now` (tasks/delivery.py), queued by name."""
    evaluation.evaluate_pairs(pair_ids)


@shared_task(name="alerts.check_ingestion")
def check_ingestion() -> dict:
    """Tell the operators when our own reading of a source starts or stops being delayed."""
    return operator.check_ingestion()
