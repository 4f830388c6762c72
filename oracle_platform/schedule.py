"""Periodic work, declared once.

Production runs these through Celery beat (`CELERY_BEAT_SCHEDULE`, synced into
django-celery-beat); `manage.py serve` runs the very same task functions from the
in-process scheduler so that a laptop needs no broker.
"""
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicTask:
    name: str  # the Celery task name
    path: str  # dotted path of the task function
    every_seconds: float
    args: tuple = ()

    @property
    def entry(self) -> str:
        """The beat entry's name: one task may run with several argument sets."""
        return ":".join((self.name, *map(str, self.args)))


def periodic_tasks(chain_intervals: dict[str, float], protocol_intervals: dict[str, float]
                   ) -> tuple[PeriodicTask, ...]:
    """The fixed tasks plus one sync entry per EVM chain and per off-chain protocol."""
    return (
        PeriodicTask("feeds.ensure_partitions", "apps.feeds.tasks.ensure_partitions", 3600),
        PeriodicTask("feeds.prune_observations", "apps.feeds.tasks.prune_observations", 3600),
        PeriodicTask("protocols.prune_sync_runs", "apps.protocols.tasks.prune_sync_runs", 600),
        PeriodicTask("api_keys.flush_usage", "apps.api_keys.tasks.flush_usage", 60),
        PeriodicTask("api_keys.republish_limits", "apps.api_keys.tasks.republish_limits", 600),
        PeriodicTask("feeds.refresh_aged_states", "apps.feeds.tasks.refresh_aged_states", 5),
        PeriodicTask("alerts.deliver_webhooks", "apps.alerts.tasks.delivery.deliver_webhooks", 1),
        PeriodicTask("alerts.deliver_notices", "apps.alerts.tasks.delivery.deliver_notices", 1),
        PeriodicTask("alerts.escalate", "apps.alerts.tasks.delivery.escalate", 30),
        PeriodicTask("billing.process_pending_events",
                     "apps.billing.tasks.process_pending_events", 60),
        PeriodicTask("billing.expire_grace", "apps.billing.tasks.expire_grace", 600),
        PeriodicTask("billing.report_overage", "apps.billing.tasks.report_overage", 300),
        PeriodicTask("alerts.check_ingestion", "apps.alerts.tasks.evaluation.check_ingestion", 15),
        PeriodicTask("status.probe", "apps.status.tasks.probe", 60),
        PeriodicTask("status.prune_probes", "apps.status.tasks.prune_probes", 3600),
        PeriodicTask("status.grant_sla_credits", "apps.status.tasks.grant_sla_credits", 3600),
        *(
            PeriodicTask("protocols.sync_chain", "apps.protocols.tasks.sync_chain",
                         interval, args=(chain,))
            for chain, interval in chain_intervals.items()
        ),
        *(
            PeriodicTask("protocols.sync_protocol", "apps.protocols.tasks.sync_protocol",
                         interval, args=(protocol,))
            for protocol, interval in protocol_intervals.items()
        ),
    )


def celery_beat_schedule(tasks: Iterable[PeriodicTask]) -> dict[str, dict]:
    return {
        task.entry: {
            "task": task.name, "schedule": task.every_seconds, "args": task.args,
            # A tick that could not start in time is worthless: never queue a backlog.
            "options": {"expires": max(task.every_seconds * 2, 1.0)},
        }
        for task in tasks
    }
