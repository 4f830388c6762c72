"""An Enterprise organization sees its SLA credits on its billing page (the `sla_credits` tag
of apps/status, loaded by the billing template); no one sees another organization's, and an
organization never on Enterprise sees no SLA section at all."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.accounts.models import Organization
from apps.billing import services as billing
from apps.status.models import SlaCredit


def credit(org: Organization, month: date, amount: str, *, applied: bool = False,
           minutes: int | None = None) -> SlaCredit:
    return SlaCredit.objects.create(
        organization=org, month=month, availability=Decimal("98.990"),
        credit_percent=Decimal("25"), amount=Decimal(amount), enterprise_minutes=minutes,
        applied_at=datetime(2026, 3, 2, 6, tzinfo=UTC) if applied else None,
        stripe_balance_transaction_id="cbtxn_1" if applied else "")


def billing_page(client, user, org: Organization) -> str:
    client.force_login(user)
    response = client.get(reverse("billing", args=[org.slug]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def enterprise(tenants):
    """Both tenants' organizations on Enterprise; only the first has credits."""
    for org in (tenants["org"], tenants["outsider_org"]):
        Organization.objects.filter(pk=org.pk).update(plan="enterprise")
    credit(tenants["org"], date(2026, 2, 1), "124.75", applied=True)
    credit(tenants["org"], date(2026, 4, 1), "62.38", minutes=15 * 1440)
    return tenants


def test_an_enterprise_organization_sees_its_credits_on_its_billing_page(client, enterprise):
    page = billing_page(client, enterprise["owner"], enterprise["org"])

    assert 'id="sla-credits"' in page
    assert page.index('id="limits"') < page.index('id="sla-credits"')  # after the usage
    february = page[page.index('id="sla-credit-2026-02"'):]
    february = february[:february.index("</tr>")]
    assert "February 2026" in february and "98.990 %" in february and "25 %" in february
    assert "124.75 USD" in february and "applied" in february and "pending" not in february
    april = page[page.index('id="sla-credit-2026-04"'):]
    april = april[:april.index("</tr>")]
    assert "62.38 USD" in april and "pending" in april
    assert "for 15.0 of 30 days on Enterprise" in april
    assert page.index("April 2026") < page.index("February 2026")  # newest first


def test_another_organization_does_not_see_those_credits(client, enterprise):
    page = billing_page(client, enterprise["outsider"], enterprise["outsider_org"])

    assert 'id="sla-credits"' in page  # on Enterprise too, with no credit of its own
    assert "No credits" in page
    for theirs in ("124.75", "62.38", "February 2026", "April 2026", "sla-credit-2026"):
        assert theirs not in page


def test_an_organization_never_on_enterprise_sees_no_sla_section(client, tenants):
    billing.apply_plan(tenants["org"], "pro", reason="test")  # never Enterprise
    page = billing_page(client, tenants["owner"], tenants["org"])
    assert 'id="sla-credits"' not in page and "SLA credits" not in page


def test_an_organization_that_left_enterprise_still_sees_its_section(client, tenants):
    billing.apply_plan(tenants["org"], "enterprise", reason="test")
    billing.apply_plan(tenants["org"], "pro", reason="test")
    page = billing_page(client, tenants["owner"], tenants["org"])
    assert 'id="sla-credits"' in page and "No credits" in page
