from django.dispatch import receiver

from apps.accounts.models import Organization
from apps.billing.signals import plan_changed
from apps.common.enqueue import enqueue
from apps.feeds.signals import pairs_refreshed

from .services import plan_limits, rules
from .tasks.evaluation import evaluate_pairs


@receiver(pairs_refreshed, dispatch_uid="alerts.evaluate_refreshed_pairs")
def evaluate_refreshed_pairs(sender, states: dict[int, dict], **kwargs) -> None:
    """New states may open or resolve incidents; the evaluation runs off the write path."""
    enqueue(evaluate_pairs, sorted(states))


@receiver(plan_changed, dispatch_uid="alerts.plan_changed")
def fit_the_plan(sender, organization: Organization, **kwargs) -> None:
    """Pause what the new plan does not allow, resume what it allows again. Rules first: the
    `alert.resolved` of the incidents a paused rule closes go to every endpoint still there (one
    about to be paused keeps it queued, and gets it when it resumes)."""
    rules.enforce_rules(organization)
    plan_limits.enforce_endpoints(organization)
    plan_limits.enforce_channels(organization)
