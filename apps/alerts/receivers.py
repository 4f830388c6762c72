from django.dispatch import receiver

from apps.accounts.models import Organization
from apps.billing.signals import plan_changed
from apps.common.enqueue import enqueue
from apps.feeds.signals import pairs_refreshed

from .services import plan_limits
from .tasks.evaluation import evaluate_pairs


@receiver(pairs_refreshed, dispatch_uid="alerts.evaluate_refreshed_pairs")
def evaluate_refreshed_pairs(sender, states: dict[int, dict], **kwargs) -> None:
    """New states may open or resolve incidents; the evaluation runs off the write path."""
    enqueue(evaluate_pairs, sorted(states))


@receiver(plan_changed, dispatch_uid="alerts.plan_changed")
def fit_the_plan(sender, organization: Organization, **kwargs) -> None:
    """Pause what the new plan does not allow, resume what it allows again."""
    plan_limits.enforce_plan(organization)
