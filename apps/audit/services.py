"""Writing the audit log. Call `record` inside the transaction of the change it describes, so an
event exists exactly when its change does. Before/after hold what a tenant needs to see what
changed — never a secret: for key material, webhook secrets and channel credentials, record
that they changed, not their value."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from .actions import ACTIONS
from .context import Actor, current_actor
from .models import AuditEvent

_REPR_LENGTH = AuditEvent._meta.get_field("target_repr").max_length or 200


def record(organization_id: int, action: str, *, target: models.Model | None = None,
           target_repr: str = "", before: dict | None = None, after: dict | None = None,
           actor: Actor | None = None) -> AuditEvent:
    """Append an event to the organization's audit log; `actor` defaults to whoever is acting
    now (apps.audit.context). `target_repr` defaults to str(target)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}: add it to apps/audit/actions.py.")
    actor = actor or current_actor()
    target_type = target_id = ""
    if target is not None:
        target_type, target_id = target._meta.label_lower, str(target.pk or "")
        target_repr = target_repr or str(target)
    return AuditEvent.objects.create(
        organization_id=organization_id, action=action, target_type=target_type,
        target_id=target_id, target_repr=target_repr[:_REPR_LENGTH], before=before,
        after=after, via=actor.via, actor_user_id=actor.user_id, actor_email=actor.email,
        api_key_id=actor.api_key_id, api_key_prefix=actor.api_key_prefix, ip=actor.ip,
    )


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, as (before, after); a field missing on one side is None."""
    changed = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}
