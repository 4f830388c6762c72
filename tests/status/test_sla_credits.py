"""SLA credits: the tier for a month's availability, granted once per closed month to every
enterprise organization, applied to its Stripe balance through billing (faked here), retried
until applied, never twice."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.billing import services as billing
from apps.billing.models import BillingAccount
from apps.billing.stripe_api import StripeError
from apps.status.models import API, WEBSOCKET, ComponentDay, SlaCredit, SlaMonth
from apps.status.selectors import credits_for
from apps.status.services import credit_percent, grant_sla_credits
from tests.factories import OrganizationFactory

FEBRUARY = date(2026, 2, 1)
IN_MARCH = datetime(2026, 3, 2, 6, tzinfo=UTC)
SINCE = datetime(2026, 2, 22, 1, 20, tzinfo=UTC)  # 10,000 minutes before March


class FakeStripe:
    """credit_balance as billing provides it, with Stripe's idempotency: one balance
    transaction per idempotency key, whatever the retries."""

    def __init__(self) -> None:
        self.transactions: dict[str, tuple[int, Decimal, str]] = {}
        self.calls = 0
        self.fail_after_next = False
        self.customers = True

    def credit_balance(self, organization, amount: Decimal, *, description: str,
                       idempotency_key: str) -> str | None:
        self.calls += 1
        if not self.customers:
            return None
        assert isinstance(amount, Decimal)
        self.transactions.setdefault(idempotency_key, (organization.pk, amount, description))
        if self.fail_after_next:  # Stripe applied it; this worker dies before recording it
            self.fail_after_next = False
            raise RuntimeError("worker killed")
        return f"cbtxn_{list(self.transactions).index(idempotency_key)}"


@pytest.fixture
def stripe(monkeypatch):
    fake = FakeStripe()
    monkeypatch.setattr(billing, "credit_balance", fake.credit_balance)
    return fake


def february(api_ok_minutes: int) -> None:
    """February's records: 10,000 minutes, every one probed; the API available for
    `api_ok_minutes` of them, the rest always."""
    for component in (API, WEBSOCKET, "ingestion:pyth"):
        ComponentDay.objects.create(component=component, day=date(2026, 2, 22), minutes=1360,
                                    ok_minutes=1360, since=SINCE)
        ComponentDay.objects.bulk_create([
            ComponentDay(component=component, day=date(2026, 2, day), minutes=1440,
                         ok_minutes=1440, since=datetime(2026, 2, day, tzinfo=UTC))
            for day in range(23, 29)])
    ComponentDay.objects.filter(component=API, day=date(2026, 2, 28)).update(
        ok_minutes=1440 - (10_000 - api_ok_minutes))


@pytest.mark.parametrize(("availability", "credit"), [
    ("100", "0"), ("99.950", "0"), ("99.900", "0"), ("99.899", "10"), ("99.89", "10"),
    ("99.000", "10"), ("98.999", "25"), ("98.99", "25"), ("12.5", "25"),
])
def test_credit_tiers_at_their_boundaries(availability, credit):
    assert credit_percent(Decimal(availability)) == Decimal(credit)


def test_credit_tiers_are_configurable(settings):
    settings.OP_SLA_TARGET = Decimal("99.5")
    settings.OP_SLA_CREDIT_TIERS = [["99.5", "5"], ["98", "15"], ["95", "50"]]
    assert credit_percent(Decimal("99.6")) == 0
    assert credit_percent(Decimal("99.4")) == Decimal("5")
    assert credit_percent(Decimal("97.9")) == Decimal("15")
    assert credit_percent(Decimal("90")) == Decimal("50")


def test_a_month_at_exactly_the_target_grants_nothing(db, stripe):
    OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_990)  # 99.900 %
    assert grant_sla_credits(IN_MARCH) == []
    assert SlaMonth.objects.get(month=FEBRUARY).availability == Decimal("99.900")
    assert not SlaCredit.objects.exists() and stripe.calls == 0


def test_enterprise_organizations_get_their_credit_and_no_one_else(db, stripe):
    monthly = OrganizationFactory(plan="enterprise")
    yearly = OrganizationFactory(plan="enterprise")
    BillingAccount.objects.create(organization=yearly, stripe_customer_id="cus_y",
                                  interval="yearly")
    OrganizationFactory(plan="pro")
    OrganizationFactory(plan="free")
    february(api_ok_minutes=9_989)  # 99.890 %: the 10 % tier

    applied = grant_sla_credits(IN_MARCH)

    assert {c.organization for c in applied} == {monthly, yearly}
    first = SlaCredit.objects.get(organization=monthly)
    assert (first.month, first.availability, first.credit_percent, first.amount,
            first.currency) == (FEBRUARY, Decimal("99.890"), Decimal("10"), Decimal("49.90"),
                                "usd")
    assert SlaCredit.objects.get(organization=yearly).amount == Decimal("41.58")  # 4990 / 12
    for credit in SlaCredit.objects.all():
        assert credit.applied_at == IN_MARCH and credit.stripe_balance_transaction_id
        for value in (credit.availability, credit.credit_percent, credit.amount):
            assert isinstance(value, Decimal)
    keys = {f"sla-credit-{monthly.pk}-2026-02", f"sla-credit-{yearly.pk}-2026-02"}
    assert set(stripe.transactions) == keys
    assert "February 2026: availability 99.890 %" in stripe.transactions[
        f"sla-credit-{monthly.pk}-2026-02"][2]


def test_a_month_far_below_the_target_credits_a_quarter_of_the_fee(db, stripe):
    org = OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_899)  # 98.990 %
    grant_sla_credits(IN_MARCH)
    credit = SlaCredit.objects.get(organization=org)
    assert (credit.credit_percent, credit.amount) == (Decimal("25"), Decimal("124.75"))


def test_running_twice_grants_once(db, stripe):
    OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_899)
    assert len(grant_sla_credits(IN_MARCH)) == 1
    assert grant_sla_credits(IN_MARCH.replace(hour=7)) == []
    assert SlaCredit.objects.count() == 1 and stripe.calls == 1
    # The month was settled once: an organization on enterprise since then gets nothing for it.
    OrganizationFactory(plan="enterprise")
    assert grant_sla_credits(IN_MARCH.replace(day=3)) == []
    assert SlaCredit.objects.count() == 1


def test_a_crash_between_stripe_and_the_database_does_not_credit_twice(db, stripe):
    org = OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_899)
    stripe.fail_after_next = True
    with pytest.raises(RuntimeError):
        grant_sla_credits(IN_MARCH)
    credit = SlaCredit.objects.get(organization=org)
    assert credit.applied_at is None  # recorded, not known to be applied

    (applied,) = grant_sla_credits(IN_MARCH.replace(hour=7))  # the next run retries it
    assert applied.stripe_balance_transaction_id == "cbtxn_0"
    assert len(stripe.transactions) == 1 and stripe.calls == 2


def test_a_credit_without_a_stripe_customer_stays_recorded_and_is_retried(db, stripe,
                                                                           monkeypatch):
    OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_899)
    stripe.customers = False  # billing off, or no Stripe customer yet
    assert grant_sla_credits(IN_MARCH) == []
    assert SlaCredit.objects.get().applied_at is None

    def stripe_down(*args, **kwargs):
        raise StripeError("Stripe is unavailable")

    monkeypatch.setattr(billing, "credit_balance", stripe_down)
    assert grant_sla_credits(IN_MARCH.replace(hour=7)) == []
    monkeypatch.setattr(billing, "credit_balance", stripe.credit_balance)
    stripe.customers = True
    (applied,) = grant_sla_credits(IN_MARCH.replace(hour=8))
    assert applied.applied_at == IN_MARCH.replace(hour=8)


def test_a_month_is_settled_only_once_it_is_closed(db, stripe):
    OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_899)
    assert grant_sla_credits(datetime(2026, 2, 28, 23, 59, tzinfo=UTC)) == []
    assert grant_sla_credits(datetime(2026, 3, 1, 0, 5, tzinfo=UTC)) == []  # still settling
    assert not SlaMonth.objects.exists()
    assert len(grant_sla_credits(IN_MARCH)) == 1


def test_months_without_a_single_probe_once_records_began_are_unavailable(db, stripe):
    org = OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_899)
    grant_sla_credits(datetime(2026, 5, 2, tzinfo=UTC))  # the platform was down since March
    assert dict(SlaMonth.objects.values_list("month", "availability")) == {
        FEBRUARY: Decimal("98.990"), date(2026, 3, 1): Decimal("0.000"),
        date(2026, 4, 1): Decimal("0.000")}
    assert [c.month for c in credits_for(org)] == [date(2026, 4, 1), date(2026, 3, 1), FEBRUARY]


def test_months_before_records_began_are_never_settled(db, stripe):
    february(api_ok_minutes=10_000)
    grant_sla_credits(datetime(2026, 3, 2, tzinfo=UTC))
    assert list(SlaMonth.objects.values_list("month", flat=True)) == [FEBRUARY]


def test_credits_for_shows_an_organization_only_its_own(db, stripe):
    mine, theirs = OrganizationFactory(plan="enterprise"), OrganizationFactory(plan="enterprise")
    february(api_ok_minutes=9_899)
    grant_sla_credits(IN_MARCH)
    assert [c.organization for c in credits_for(mine)] == [mine]
    assert [c.organization for c in credits_for(theirs)] == [theirs]
