from celery import shared_task

from . import services


@shared_task(name="status.probe", ignore_result=True)
def probe() -> None:
    """Every 60 s: call the API and the WebSocket API from outside, note each protocol's
    ingestion state, and record them (the /status/ page and the SLA read these records)."""
    services.run_probe()


@shared_task(name="status.prune_probes")
def prune_probes() -> int:
    """Drop probe rows past OP_STATUS_PROBE_RETENTION_DAYS (the daily rollup is kept)."""
    return services.prune_probe_results()


@shared_task(name="status.grant_sla_credits")
def grant_sla_credits() -> int:
    """Settle each closed month once (its availability and the enterprise organizations'
    credits), and apply the credits not applied yet to their Stripe balances."""
    return len(services.grant_sla_credits())
