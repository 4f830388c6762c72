"""What the alert channels are told.

A `Notification` is a transport-neutral message about one incident (opened, acknowledged,
resolved) or a test. The incidents service builds one per transition
(apps/alerts/services/incidents.py), the delivery hands it to each channel's transport
(apps/alerts/services/channels.py: `notify_channel`); `test_notification` is what the "Send a
test" button sends.
"""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal

from django.utils import timezone

Kind = Literal["opened", "acknowledged", "resolved", "test"]
Severity = Literal["critical", "warning", "info"]
KINDS: tuple[str, ...] = ("opened", "acknowledged", "resolved", "test")
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")


@dataclass(frozen=True)
class Notification:
    """One message to every channel of an organization.

    `dedup_key` is stable for one incident (e.g. "incident-42"): PagerDuty groups trigger,
    acknowledge and resolve by it, email threads by it, webhooks carry it. `details` are short
    label → value strings (prices as strings, never floats). `ack_url` is a signed one-click
    acknowledge link built by the caller; `incident_url` the incident's page.
    """

    kind: Kind
    title: str
    summary: str
    severity: Severity
    organization: str
    subject: str
    dedup_key: str
    occurred_at: datetime
    details: dict[str, str] = field(default_factory=dict)
    incident_url: str | None = None
    ack_url: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")
        if timezone.is_naive(self.occurred_at):
            raise ValueError("occurred_at must be an aware datetime")
        if not self.dedup_key:
            raise ValueError("dedup_key is required")

    def as_json(self) -> dict:
        """Its fields as JSON (what a `Notice` stores)."""
        return {**asdict(self), "occurred_at": self.occurred_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> Notification:
        return cls(**{**data, "occurred_at": datetime.fromisoformat(data["occurred_at"])})

    @property
    def status_label(self) -> str:
        return {"opened": "Opened", "acknowledged": "Acknowledged", "resolved": "Resolved",
                "test": "Test"}[self.kind]

    @property
    def headline(self) -> str:
        """One line: the subject of an email, the header of a Slack message."""
        if self.kind == "opened":
            return f"[{self.severity.upper()}] {self.title}"
        if self.kind == "test":
            return self.title
        return f"{self.status_label}: {self.title}"

    @property
    def emoji(self) -> str:
        if self.kind == "resolved":
            return "✅"
        if self.kind == "acknowledged":
            return "👀"
        if self.kind == "test":
            return "🔔"
        return {"critical": "🔴", "warning": "🟠", "info": "🔵"}[self.severity]


def test_notification(organization_name: str) -> Notification:
    """The message the "Send a test" button sends (a fresh dedup key each time)."""
    return Notification(
        kind="test",
        title="Test notification from Oracle Platform",
        summary=(f"This is a test sent on request for {organization_name}. If you can read it, "
                 "this channel will receive the organization's alerts."),
        severity="info",
        organization=organization_name,
        subject="channel-test",
        dedup_key=f"test-{secrets.token_hex(8)}",
        occurred_at=timezone.now(),
    )


# Not a pytest test, despite its name.
test_notification.__test__ = False  # type: ignore[attr-defined]  # function attribute, for pytest
