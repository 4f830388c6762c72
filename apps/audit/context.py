"""Who is acting right now, for the audit log: a context variable, so services record their
actor without every caller passing it down. AuditContextMiddleware sets it per request (the
session's user), the API's front door narrows it to the calling key; anything else — Celery
tasks, management commands, the scheduler — acts as the system."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

Via = Literal["session", "api_key", "system"]


@dataclass(frozen=True)
class Actor:
    via: Via
    user_id: int | None = None
    email: str = ""
    api_key_id: int | None = None
    api_key_prefix: str = ""
    ip: str | None = None


SYSTEM = Actor(via="system")

_actor: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)
