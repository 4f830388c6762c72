"""SLA credits: the tier for a month's availability, granted once per closed month to every
organization for the time it was on Enterprise in that month (its plan history from the audit
log), applied to its Stripe balance through billing (faked here), retried until applied, never
twice."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from apps.accounts.models import Organization
from apps.billing import services as billing
from apps.billing.models import BillingAccount
from apps.billing.stripe_api import StripeError
from apps.status.models import API, WEBSOCKET, ComponentDay, SlaCredit, SlaMonth
from apps.status.selectors import PlanChange, PlanInterval, credits_for, plan_intervals
from apps.status.services import credit_percent, grant_sla_credits
from tests.factories import OrganizationFactory

FEBRUARY = date(2026, 2, 1)
IN_MARCH = datetime(2026, 3, 2, 6, tzinfo=UTC)
SINCE = datetime(2026, 2, 22, 1, 20, tzinfo=UTC)  # 10,000 minutes before March
LAST_YEAR = datetime(2025, 6, 1, tzinfo=UTC)
FEBRUARY_MINUTES = 28 * 24 * 60


def organization(plan: str = "free", *, created: datetime = LAST_YEAR, **kwargs) -> Organization:
    """An organization that exists since `created` (long before February by default), on
    `plan` from its creation."""
    org = OrganizationFactory(plan=plan, **kwargs)
    Organization.objects.filter(pk=org.pk).update(created_at=created)
    org.refresh_from_db()
    return org


def change_plan(org: Organization, plan: str, at: datetime) -> None:
    """The plan changes through billing at `at` (which records it in the audit log)."""
    with time_machine.travel(at, tick=False):
        assert billing.apply_plan(org, plan, reason="test")


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
    organization("enterprise")
    february(api_ok_minutes=9_990)  # 99.900 %
    assert grant_sla_credits(IN_MARCH) == []
    assert SlaMonth.objects.get(month=FEBRUARY).availability == Decimal("99.900")
    assert not SlaCredit.objects.exists() and stripe.calls == 0


def test_enterprise_organizations_get_their_credit_and_no_one_else(db, stripe):
    monthly = organization("enterprise")
    yearly = organization("enterprise")
    BillingAccount.objects.create(organization=yearly, stripe_customer_id="cus_y",
                                  interval="yearly")
    organization("pro")
    organization("free")
    february(api_ok_minutes=9_989)  # 99.890 %: the 10 % tier

    applied = grant_sla_credits(IN_MARCH)

    assert {c.organization for c in applied} == {monthly, yearly}
    first = SlaCredit.objects.get(organization=monthly)
    assert (first.month, first.availability, first.credit_percent, first.amount,
            first.currency) == (FEBRUARY, Decimal("99.890"), Decimal("10"), Decimal("49.90"),
                                "usd")
    assert SlaCredit.objects.get(organization=yearly).amount == Decimal("41.58")  # 4990 / 12
    assert first.enterprise_minutes == FEBRUARY_MINUTES and not first.prorated
    for credit in SlaCredit.objects.all():
        assert credit.applied_at == IN_MARCH and credit.stripe_balance_transaction_id
        for value in (credit.availability, credit.credit_percent, credit.amount):
            assert isinstance(value, Decimal)
    keys = {f"sla-credit-{monthly.pk}-2026-02", f"sla-credit-{yearly.pk}-2026-02"}
    assert set(stripe.transactions) == keys
    description = stripe.transactions[f"sla-credit-{monthly.pk}-2026-02"][2]
    assert "February 2026: availability 99.890 %" in description
    assert "pro-rated" not in description


def test_a_month_far_below_the_target_credits_a_quarter_of_the_fee(db, stripe):
    org = organization("enterprise")
    february(api_ok_minutes=9_899)  # 98.990 %
    grant_sla_credits(IN_MARCH)
    credit = SlaCredit.objects.get(organization=org)
    assert (credit.credit_percent, credit.amount) == (Decimal("25"), Decimal("124.75"))


def test_running_twice_grants_once(db, stripe):
    organization("enterprise")
    february(api_ok_minutes=9_899)
    assert len(grant_sla_credits(IN_MARCH)) == 1
    assert grant_sla_credits(IN_MARCH.replace(hour=7)) == []
    assert SlaCredit.objects.count() == 1 and stripe.calls == 1
    # The month was settled once: an organization on enterprise since then gets nothing for it.
    OrganizationFactory(plan="enterprise")
    assert grant_sla_credits(IN_MARCH.replace(day=3)) == []
    assert SlaCredit.objects.count() == 1


def test_a_crash_between_stripe_and_the_database_does_not_credit_twice(db, stripe):
    org = organization("enterprise")
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
    organization("enterprise")
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
    organization("enterprise")
    february(api_ok_minutes=9_899)
    assert grant_sla_credits(datetime(2026, 2, 28, 23, 59, tzinfo=UTC)) == []
    assert grant_sla_credits(datetime(2026, 3, 1, 0, 5, tzinfo=UTC)) == []  # still settling
    assert not SlaMonth.objects.exists()
    assert len(grant_sla_credits(IN_MARCH)) == 1


def test_months_without_a_single_probe_once_records_began_are_unavailable(db, stripe):
    org = organization("enterprise")
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
    mine, theirs = organization("enterprise"), organization("enterprise")
    february(api_ok_minutes=9_899)
    grant_sla_credits(IN_MARCH)
    assert [c.organization for c in credits_for(mine)] == [mine]
    assert [c.organization for c in credits_for(theirs)] == [theirs]


# --- only the time on Enterprise is credited -------------------------------------------------

def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, *, month: int = 2
       ) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def test_an_organization_that_moved_to_enterprise_mid_month_is_credited_for_its_days_on_it(
        db, stripe):
    org = organization("pro")
    change_plan(org, "enterprise", at(15))  # 14 of February's 28 days on Enterprise
    february(api_ok_minutes=9_899)  # 98.990 %: 25 % of 499.00 for the whole month

    (applied,) = grant_sla_credits(IN_MARCH)

    assert applied.organization == org
    assert (applied.credit_percent, applied.enterprise_minutes, applied.amount) == (
        Decimal("25"), 14 * 1440, Decimal("62.38"))  # 124.75 × 14 / 28
    assert applied.prorated
    assert stripe.transactions[applied.idempotency_key][2].endswith(
        "pro-rated for 14.0 of 28 days on Enterprise")


def test_an_organization_that_left_enterprise_mid_month_is_credited_for_its_days_on_it(
        db, stripe):
    left = organization("free")
    change_plan(left, "enterprise", at(10, month=1))
    change_plan(left, "pro", at(8))  # 7 days of February on Enterprise
    gone_before = organization("free")
    change_plan(gone_before, "enterprise", at(5, month=1))
    change_plan(gone_before, "pro", at(31, 23, 59, month=1))  # none of February
    february(api_ok_minutes=9_899)

    (applied,) = grant_sla_credits(IN_MARCH)

    assert applied.organization == left and left.plan == "pro"
    assert (applied.enterprise_minutes, applied.amount) == (7 * 1440, Decimal("31.19"))


def test_plan_changes_after_the_month_tell_its_plan_at_its_end(db, stripe):
    stayed = organization("enterprise")
    change_plan(stayed, "free", at(1, 0, 30, month=3))  # after February, before it settled
    joined = organization("free")
    change_plan(joined, "enterprise", at(1, 0, 30, month=3))
    february(api_ok_minutes=9_899)

    (applied,) = grant_sla_credits(IN_MARCH)

    assert applied.organization == stayed
    assert (applied.enterprise_minutes, applied.amount) == (FEBRUARY_MINUTES, Decimal("124.75"))
    assert not SlaCredit.objects.filter(organization=joined).exists()


def test_several_changes_within_the_month_add_up_to_the_minute(db, stripe):
    org = organization("enterprise")
    change_plan(org, "pro", at(8, 12, 0, 45))  # counted from its minute, 12:00
    change_plan(org, "enterprise", at(22))
    change_plan(org, "free", at(1, 0, 10, month=3))
    february(api_ok_minutes=9_899)

    (applied,) = grant_sla_credits(IN_MARCH)

    minutes = 7 * 1440 + 12 * 60 + 7 * 1440  # February 1 to 8, 12:00, and 22 to March
    assert applied.enterprise_minutes == minutes
    assert applied.amount == Decimal("64.60")  # 124.75 × 20,880 / 40,320 = 64.6026…
    assert applied.enterprise_days == Decimal("14.5")


def test_an_organization_is_credited_only_from_its_creation(db, stripe):
    new = organization("enterprise", created=at(22, 0, 0, 20))  # on Enterprise from the start
    organization("enterprise", created=at(1, 0, 20, month=3))  # after February, before settling
    february(api_ok_minutes=9_899)

    (applied,) = grant_sla_credits(IN_MARCH)

    assert applied.organization == new
    assert (applied.enterprise_minutes, applied.amount) == (7 * 1440, Decimal("31.19"))


@pytest.mark.parametrize(("current", "changes", "created", "expected"), [
    ("pro", [], None, [("pro", 1, 29)]),  # no change since: the plan now, all month
    ("free", [(29, "enterprise", "free")], None, [("enterprise", 1, 29)]),  # changed at the end
    ("enterprise", [(1, "free", "enterprise")], None, [("enterprise", 1, 29)]),  # at the start
    ("pro", [(10, "free", "enterprise"), (20, "enterprise", "pro"), (40, "pro", "free")], None,
     [("free", 1, 10), ("enterprise", 10, 20), ("pro", 20, 29)]),
    ("enterprise", [], 15, [("enterprise", 15, 29)]),  # created during the month
    ("enterprise", [], 29, []),  # created after it
], ids=["no_change", "change_at_the_end", "change_at_the_start", "several", "created_during",
        "created_after"])
def test_plan_intervals_from_the_changes_and_the_plan_now(current, changes, created, expected):
    def day(n: int) -> datetime:
        return datetime(2026, 2, 1, tzinfo=UTC) + timedelta(days=n - 1)

    found = plan_intervals(current, [PlanChange(day(n), old, new) for n, old, new in changes],
                           day(1), day(29), created_at=day(created) if created else None)
    assert found == [PlanInterval(plan, day(start), day(end)) for plan, start, end in expected]
