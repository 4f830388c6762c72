"""Email: a multipart message (plain text + self-contained HTML) rendered from
`templates/alerts/email/notification.txt` / `.html`, sent through Django's mail backend
(`EMAIL_URL`) from `DEFAULT_FROM_EMAIL`.

Config: `{"to": ["ops@example.com", …]}` (1 to 10 addresses). The messages of one incident share
a `References` header, so mail clients thread opened / acknowledged / resolved together.
SMTP trouble is transient, except every recipient refused with a 5xx code (permanent).
"""
from __future__ import annotations

import re
import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string

from apps.alerts.notifications import Notification

from .base import ConfigError, ConfigField, Delivery, Transport, raise_if

MAX_RECIPIENTS = 10
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


class EmailTransport(Transport):
    kind = "email"
    label = "Email"
    config_fields = (
        ConfigField("to", "Email recipients", "Up to 10 addresses, separated by commas or spaces.",
                    max_length=2000),
    )
    config_summary_fields = {"to": (list, "the recipients")}

    @classmethod
    def summary(cls, config: dict) -> list[tuple[str, str]]:
        return [("Recipients", ", ".join(str(a) for a in config.get("to") or []) or "—")]

    @classmethod
    def config_summary(cls, config: dict) -> dict:
        to = config.get("to")
        return {"to": [str(a) for a in to]} if isinstance(to, list) else {}

    @classmethod
    def validate_config(cls, config: dict) -> dict:
        to = config.get("to")
        if isinstance(to, str):
            to = [part for part in re.split(r"[,\s;]+", to) if part]
        if not isinstance(to, list) or not to:
            raise ValidationError({"to": "Enter at least one email address."})
        cleaned: list[str] = []
        bad: list[str] = []
        for address in to:
            address = str(address).strip()
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
                continue
            if address.lower() not in (a.lower() for a in cleaned):
                cleaned.append(address)
        if bad:
            raise_if({"to": f"Not an email address: {', '.join(bad[:5])}."})
        if len(cleaned) > MAX_RECIPIENTS:
            raise_if({"to": f"At most {MAX_RECIPIENTS} addresses."})
        return {"to": cleaned}

    def message(self, n: Notification) -> EmailMultiAlternatives:
        (to,) = self._require("to")
        if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
            raise ConfigError("email channel config: 'to' must be a list of addresses")
        context = {"n": n, "details": list(n.details.items()),
                   "show_ack": bool(n.ack_url) and n.kind == "opened"}
        subject = " ".join(f"{n.headline} — {n.organization}".split())[:200]
        thread = f"<{_UNSAFE_ID.sub('-', n.dedup_key)[:100]}.alerts@oracle-platform>"
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("alerts/email/notification.txt", context),
            to=to,
            headers={"References": thread, "X-Oracle-Platform-Dedup-Key":
                     _UNSAFE_ID.sub("-", n.dedup_key)[:100]},
        )
        message.attach_alternative(render_to_string("alerts/email/notification.html", context),
                                   "text/html")
        return message

    def notify(self, notification: Notification) -> Delivery:
        message = self.message(notification)
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _text in refused.recipients.values()]
            detail = f"every recipient was refused: {', '.join(refused.recipients)}"
            if codes and all(500 <= code < 600 for code in codes):
                return Delivery.failed_permanently(detail)
            return Delivery.transient(detail)
        except (smtplib.SMTPException, OSError) as error:
            return Delivery.transient(f"sending mail failed: {type(error).__name__}: {error}")
        return Delivery.delivered()
