"""The local Stripe double, driven through stripe-python's own client as the billing app drives
Stripe. Every JSON answer the double gives and every event it sends is validated against the
Stripe OpenAPI schemas vendored in tests/fixtures/stripe_openapi/ (strictly: a field Stripe does
not have fails), by the `double` fixture once each test is done."""
from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import stripe

from apps.devnet.stripe import PriceSpec, StripeDouble, double_from_settings, prices_from_plans
from apps.devnet.stripe.objects import add_interval
from apps.devnet.stripe.wire import decode

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "stripe_openapi" / "schemas.json"
KEY, SECRET = "sk_test_double", "whsec_double"
PRO_MONTHLY, PRO_YEARLY, PRO_OVERAGE = "price_pro_monthly", "price_pro_yearly", "price_pro_overage"
ENTERPRISE_MONTHLY = "price_enterprise_monthly"
OBJECT_SCHEMA = {
    "customer": "customer", "price": "price", "checkout.session": "checkout.session",
    "billing_portal.session": "billing_portal.session", "subscription": "subscription",
    "invoice": "invoice", "customer_balance_transaction": "customer_balance_transaction",
    "billing.meter_event": "billing.meter_event", "payment_method": "payment_method",
    "event": "event",
}


# --- Stripe's schemas -------------------------------------------------------------------------
def _json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 → JSON Schema: `nullable` becomes a null alternative, and an object with
    `properties` accepts no other field (so a made-up field name fails)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _json_schema(value)
        elif key == "anyOf":
            out[key] = [_json_schema(sub) for sub in value]
        elif key != "nullable":
            out[key] = value
    if "properties" in out:
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        if "$ref" in out:
            return {"anyOf": [out, {"type": "null"}]}
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


class Schemas:
    def __init__(self) -> None:
        document = json.loads(SCHEMAS.read_text())
        self.version = document["info"]["version"]
        self.components = {"schemas": {name: _json_schema(schema) for name, schema in
                                       document["components"]["schemas"].items()}}

    def errors(self, name: str, instance: Any) -> list[str]:
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": self.components})
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(instance)]

    def check_answer(self, body: dict[str, Any]) -> list[str]:
        if "error" in body:
            return self.errors("error", body)
        if body.get("object") == "list":
            envelope = [f"list: {k}" for k in ("object", "data", "has_more", "url")
                        if k not in body] + [f"list: extra {k}" for k in body
                                            if k not in ("object", "data", "has_more", "url")]
            return envelope + [e for item in body["data"] for e in self.check_answer(item)]
        return self.check_object(body)

    def check_object(self, obj: dict[str, Any]) -> list[str]:
        if obj.get("object") == "customer" and obj.get("deleted"):
            return self.errors("deleted_customer", obj)
        return self.errors(OBJECT_SCHEMA[obj["object"]], obj)


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas()


# --- the double, its client and a webhook receiver ------------------------------------------
class Receiver:
    """Takes deliveries; answers each with the next of `statuses` (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.statuses: list[int] = []

    def __call__(self, payload: bytes, headers: dict[str, str]) -> int:
        self.received.append((payload, headers))
        return self.statuses.pop(0) if self.statuses else 200

    def types(self) -> list[str]:
        return [json.loads(payload)["type"] for payload, _ in self.received]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def double(receiver, schemas):
    server = StripeDouble(0, KEY, SECRET, "http://127.0.0.1:9/unused", prices_from_plans(),
                          deliver=receiver, asynchronous=False, retry_delays=(0, 0))
    server.start()
    yield server
    server.stop()
    assert_all_like_stripe(server, schemas)


def assert_all_like_stripe(server: StripeDouble, schemas: Schemas) -> None:
    """Every answer the double gave and every event it made, against Stripe's schemas."""
    problems = [f"{x.method} {x.path} → {x.status}: {error}" for x in server.responses
                for error in schemas.check_answer(x.body)]
    for event in server.events:
        problems += [f"event {event['type']}: {e}" for e in schemas.errors("event", event)]
        problems += [f"{event['type']} data.object: {e}"
                     for e in schemas.check_object(event["data"]["object"])]
    assert server.responses or server.events
    assert not problems, "\n".join(problems)


@pytest.fixture
def client(double) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": double.url}, max_network_retries=0)


@pytest.fixture
def web(double):
    with httpx.Client(base_url=double.url, follow_redirects=False) as session:
        yield session


def new_customer(client: stripe.StripeClient) -> Any:
    return client.v1.customers.create(params={
        "name": "Acme", "email": "owner@acme.test", "metadata": {"organization_id": "3"}})


def start_checkout(client: stripe.StripeClient, customer: str, *, trial: int | None = None,
                   price: str = PRO_MONTHLY, billing_mode: str | None = None) -> Any:
    subscription_data: dict[str, Any] = {"metadata": {"organization_id": "3", "plan": "pro"}}
    if trial:
        subscription_data["trial_period_days"] = trial
    if billing_mode:
        subscription_data["billing_mode"] = {"type": billing_mode}
    params: dict[str, Any] = {
        "mode": "subscription", "customer": customer, "client_reference_id": "3",
        "line_items": [{"price": price, "quantity": 1}, {"price": PRO_OVERAGE}],
        "success_url": "http://app.test/ok?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://app.test/cancelled", "subscription_data": subscription_data,
        "metadata": {"organization_id": "3"}, "automatic_tax": {"enabled": True},
        "customer_update": {"address": "auto", "name": "auto"}, "allow_promotion_codes": True,
    }
    return client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]  # a dict


def subscribe(client, web, *, trial: int | None = None, card: str = "4242",
              price: str = PRO_MONTHLY, billing_mode: str | None = None) -> tuple[Any, Any]:
    """A customer who went through Checkout (the base price and the metered overage price);
    returns (customer, subscription)."""
    customer = new_customer(client)
    session = start_checkout(client, customer.id, trial=trial, price=price,
                             billing_mode=billing_mode)
    assert web.post(f"/checkout/{session.id}", data={"card": card}).status_code == 303
    session = client.v1.checkout.sessions.retrieve(session.id)
    return customer, client.v1.subscriptions.retrieve(session.subscription)


# --- seeding, decoding ------------------------------------------------------------------------
def test_prices_come_from_the_plans_under_the_settings_price_ids(client):
    prices = {p.id: p for p in client.v1.prices.list(params={"limit": 100}).data}
    assert prices[PRO_MONTHLY].unit_amount == 4900
    assert prices[PRO_YEARLY].unit_amount == 49000
    assert prices[PRO_YEARLY].recurring.interval == "year"
    assert prices[ENTERPRISE_MONTHLY].unit_amount == 49900
    overage = client.v1.prices.retrieve(PRO_OVERAGE)
    assert overage.recurring.usage_type == "metered"
    assert overage.recurring.meter == "mtr_devnet_api_requests"
    assert overage.unit_amount is None
    assert overage.unit_amount_decimal == Decimal("0.02")  # $0.20 per 1,000 calls: cents a call


def test_stripe_pythons_nested_form_keys_and_lists_decode():
    decoded = decode("line_items[0][price]=p&line_items[1][price]=q&line_items[0][quantity]=1"
                     "&metadata[organization_id]=3&metadata[7]=x&expand[]=a&expand[]=b"
                     "&items[0][deleted]=true")
    assert decoded == {"line_items": [{"price": "p", "quantity": "1"}, {"price": "q"}],
                       "metadata": {"organization_id": "3", "7": "x"}, "expand": ["a", "b"],
                       "items": [{"deleted": "true"}]}


def test_the_schema_check_rejects_a_field_stripe_does_not_have(schemas, client):
    customer = new_customer(client).to_dict()
    assert schemas.check_object(customer) == []
    assert schemas.check_object({**customer, "current_period_end": 1})
    item_without_period = client.v1.prices.retrieve(PRO_MONTHLY).to_dict()
    assert schemas.errors("subscription_item", {"id": "si_1", "object": "subscription_item",
                                                "price": item_without_period})


def test_subscriptions_carry_their_periods_on_items_in_the_vendored_spec(schemas):
    properties = json.loads(SCHEMAS.read_text())["components"]["schemas"]
    assert "current_period_end" not in properties["subscription"]["properties"]
    assert "current_period_end" in properties["subscription_item"]["required"]
    assert schemas.version.startswith("2026-")


def test_devnet_settings_point_the_app_at_the_double(settings):
    assert settings.OP_STRIPE_PRICES["pro_monthly"].startswith("price_")
    assert settings.OP_DEVNET_STRIPE_PORT > 0
    double = double_from_settings(0)
    try:
        assert double.webhook_url == f"{settings.OP_SITE_URL}/billing/stripe/webhook/"
        assert set(double.prices) >= {settings.OP_STRIPE_PRICES["pro_monthly"]}
    finally:
        double.server.server_close()


# --- authentication, errors, idempotency ------------------------------------------------------
def test_a_wrong_or_missing_key_is_401_in_stripes_shape(double):
    wrong = stripe.StripeClient("sk_test_wrong_key_1234", base_addresses={"api": double.url},
                                max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as raised:
        wrong.v1.customers.create(params={"name": "x"})
    assert raised.value.http_status == 401
    assert "Invalid API Key provided: sk_test_" in raised.value.user_message
    answer = httpx.get(f"{double.url}/v1/customers/cus_x")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_an_unknown_id_is_404_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve("cus_nobody")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert raised.value.user_message == "No such customer: 'cus_nobody'"
    assert raised.value.param == "id"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.retrieve("sub_nothing")
    assert raised.value.http_status == 404


def test_an_unknown_parameter_is_refused_as_stripe_does(client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.create(params={"nmae": "typo"})
    assert raised.value.param == "nmae"


def test_the_same_idempotency_key_replays_the_first_answer(client, double):
    options = {"idempotency_key": "op-customer-3-0"}
    first = client.v1.customers.create(params={"name": "Acme"}, options=options)
    again = client.v1.customers.create(params={"name": "Acme"}, options=options)
    assert again.id == first.id
    assert len(double.customers) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"name": "Other"}, options=options)


# --- customers and balance --------------------------------------------------------------------
def test_a_customer_is_created_read_updated_and_deleted(client, double):
    customer = new_customer(client)
    assert customer.id.startswith("cus_") and customer.metadata["organization_id"] == "3"
    assert customer.livemode is False and isinstance(customer.created, int)
    updated = client.v1.customers.update(customer.id, params={
        "name": "Acme Inc", "metadata": {"organization_id": "", "slug": "acme"}})
    assert updated.name == "Acme Inc" and updated.metadata.to_dict() == {"slug": "acme"}
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    assert client.v1.customers.retrieve(customer.id).to_dict().get("deleted") is True
    double.flush()
    assert double.events_of("customer.deleted")[0]["data"]["object"]["id"] == customer.id


def test_a_balance_transaction_credits_the_customer_and_the_next_invoice(client, web, double):
    customer, subscription = subscribe(client, web)
    credit = client.v1.customers.balance_transactions.create(customer.id, params={
        "amount": -1250, "currency": "usd", "description": "SLA credit",
        "metadata": {"organization_id": "3"}})
    assert credit.id.startswith("cbtxn_") and credit.ending_balance == -1250
    assert client.v1.customers.retrieve(customer.id).balance == -1250
    listed = client.v1.customers.balance_transactions.list(customer.id)
    assert [t.id for t in listed.data] == [credit.id]
    double.renew(subscription.id)
    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(
        subscription.id).latest_invoice)
    assert (invoice.total, invoice.amount_due, invoice.starting_balance) == (4900, 3650, -1250)
    assert client.v1.customers.retrieve(customer.id).balance == 0
    types = [t.type for t in client.v1.customers.balance_transactions.list(customer.id).data]
    assert types == ["applied_to_invoice", "adjustment"]


# --- checkout -------------------------------------------------------------------------------
def test_checkout_pays_and_redirects_to_success_with_the_session_id(client, web, double,
                                                                    receiver):
    customer = new_customer(client)
    session = start_checkout(client, customer.id)
    assert session.id.startswith("cs_test_") and session.url == f"{double.url}/checkout/" \
        f"{session.id}" and session.status == "open"
    page = web.get(f"/checkout/{session.id}")
    assert page.status_code == 200 and "Pay" in page.text and "$49.00 / month" in page.text
    assert "http://app.test/cancelled" in page.text
    paid = web.post(f"/checkout/{session.id}", data={"card": "4242"})
    assert paid.status_code == 303
    assert paid.headers["location"] == f"http://app.test/ok?session={session.id}"
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
    subscription = done.subscription
    assert subscription.status == "active" and subscription.metadata["plan"] == "pro"
    base, overage = subscription["items"]["data"]
    assert base.quantity == 1 and "quantity" not in overage
    assert base.current_period_end == add_interval(base.current_period_start, "month")
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (
        "paid", 4900, "subscription_create")
    assert invoice.parent.subscription_details.subscription == subscription.id
    card = client.v1.customers.retrieve(customer.id, params={
        "expand": ["invoice_settings.default_payment_method"]}).invoice_settings.\
        default_payment_method
    assert (card.card.brand, card.card.last4, card.type) == ("visa", "4242", "card")
    double.flush()
    assert receiver.types() == ["customer.subscription.created", "invoice.paid",
                                "checkout.session.completed"]
    completed = double.events_of("checkout.session.completed")[0]
    assert completed["data"]["object"]["client_reference_id"] == "3"
    assert completed["request"] == {"id": None, "idempotency_key": None}
    assert completed["api_version"] == stripe.api_version


def test_a_trial_checkout_makes_a_trialing_subscription_with_nothing_to_pay(client, web,
                                                                            double):
    customer = new_customer(client)
    session = start_checkout(client, customer.id, trial=14)
    assert "14-day free trial" in web.get(f"/checkout/{session.id}").text
    web.post(f"/checkout/{session.id}", data={"card": "4242"})
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert session.payment_status == "no_payment_required"
    subscription = client.v1.subscriptions.retrieve(session.subscription)
    assert subscription.status == "trialing"
    assert subscription.trial_end == subscription.trial_start + 14 * 24 * 3600
    assert subscription["items"]["data"][0].current_period_end == subscription.trial_end
    assert client.v1.invoices.retrieve(subscription.latest_invoice).amount_due == 0
    ended = double.end_trial(subscription.id)
    assert ended["status"] == "active"
    assert client.v1.invoices.retrieve(ended["latest_invoice"]).amount_paid == 4900


@pytest.mark.parametrize(("line_items", "param"), [
    ([{"price": "price_nope", "quantity": 1}], "line_items[0][price]"),
    ([{"price": PRO_MONTHLY}], "line_items[0][quantity]"),
    ([{"price": PRO_MONTHLY, "quantity": 1}, {"price": PRO_OVERAGE, "quantity": 1}],
     "line_items[1][quantity]"),
])
def test_checkout_refuses_what_stripe_refuses(client, line_items, param):
    customer = new_customer(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params={
            "mode": "subscription", "customer": customer.id, "line_items": line_items,
            "success_url": "http://app.test/ok"})
    assert (raised.value.http_status, raised.value.param) == (400, param)


# --- renewals and dunning -------------------------------------------------------------------
def test_a_failed_renewal_makes_the_subscription_past_due_until_paid(client, web, double,
                                                                     receiver):
    _, subscription = subscribe(client, web)
    period_end = subscription["items"]["data"][0].current_period_end
    double.flush()
    receiver.received.clear()
    double.renew(subscription.id, succeed=False)
    renewed = client.v1.subscriptions.retrieve(subscription.id)
    assert renewed.status == "past_due"
    assert renewed["items"]["data"][0].current_period_start == period_end
    invoice = client.v1.invoices.retrieve(renewed.latest_invoice)
    assert (invoice.status, invoice.attempt_count, invoice.amount_remaining) == (
        "open", 1, 4900)
    double.flush()
    assert receiver.types() == ["customer.subscription.updated", "invoice.payment_failed",
                                "customer.subscription.updated"]
    went_past_due = double.events_of("customer.subscription.updated")[-1]["data"]
    assert went_past_due["previous_attributes"]["status"] == "active"
    double.pay_open_invoice(subscription.id)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "active"
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    listed = client.v1.invoices.list(params={"customer": renewed.customer, "limit": 10})
    assert [i.id for i in listed.data] == [invoice.id, subscription.latest_invoice]


def test_the_card_that_fails_renewals_fails_them(client, web, double):
    _, subscription = subscribe(client, web, card="0341")
    assert subscription.status == "active"  # the first payment goes through
    double.renew(subscription.id)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "past_due"


def test_fail_next_renewal_fails_exactly_one(client, web, double):
    _, subscription = subscribe(client, web)
    double.fail_next_renewal(subscription.id)
    assert double.renew(subscription.id)["status"] == "past_due"
    double.pay_open_invoice(subscription.id)
    assert double.renew(subscription.id)["status"] == "active"


def test_a_renewal_bills_the_metered_usage_of_the_period_behind(client, web, double):
    customer, subscription = subscribe(client, web)
    for identifier, value in (("acme-1", "1000"), ("acme-2", "500")):
        event = client.v1.billing.meter_events.create(params={
            "event_name": "api_requests", "identifier": identifier,
            "payload": {"stripe_customer_id": customer.id, "value": value}})
        assert event.identifier == identifier
    assert double.meter_usage(customer.id) == Decimal(1500)
    double.renew(subscription.id)
    invoice = client.v1.invoices.retrieve(
        client.v1.subscriptions.retrieve(subscription.id).latest_invoice)
    amounts = sorted(line.amount for line in invoice.lines.data)
    assert amounts == [30, 4900]  # 1,500 calls at 0.02 cents, and the next month
    assert invoice.billing_reason == "subscription_cycle"


def test_a_repeated_meter_event_identifier_is_refused(client, double):
    customer = new_customer(client)
    params = {"event_name": "api_requests", "identifier": "acme-2026-01-01T00",
              "payload": {"stripe_customer_id": customer.id, "value": "7"},
              "timestamp": double.now()}
    client.v1.billing.meter_events.create(params=params)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.billing.meter_events.create(params=params)
    assert raised.value.http_status == 400
    assert raised.value.user_message == ("An event already exists with identifier "
                                         "acme-2026-01-01T00.")
    assert "duplicate" in (raised.value.code or "")
    assert double.meter_usage(customer.id) == Decimal(7)


# --- subscriptions through the API ------------------------------------------------------------
def test_a_plan_change_is_prorated_and_cancel_at_period_end_is_set(client, web, double):
    _, subscription = subscribe(client, web)
    base = subscription["items"]["data"][0]
    updated = client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": base.id, "price": ENTERPRISE_MONTHLY}],
        "proration_behavior": "always_invoice", "metadata": {"plan": "enterprise"}})
    assert updated["items"]["data"][0].price.id == ENTERPRISE_MONTHLY
    invoice = client.v1.invoices.retrieve(updated.latest_invoice)
    credit, charge = sorted(line.amount for line in invoice.lines.data)
    assert -4900 <= credit < 0 < charge <= 49900 and invoice.status == "paid"
    assert invoice.billing_reason == "subscription_update"
    cancelling = client.v1.subscriptions.update(subscription.id,
                                                params={"cancel_at_period_end": True})
    assert cancelling.cancel_at == cancelling["items"]["data"][0].current_period_end
    double.flush()
    update = double.events_of("customer.subscription.updated")[-1]
    assert update["data"]["previous_attributes"] == {
        "cancel_at_period_end": False, "cancel_at": None, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None}}
    assert update["request"]["id"].startswith("req_")
    double.renew(subscription.id)  # the period ends: the subscription with it
    assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"


def test_a_metered_item_can_be_swapped_and_removed(client, web):
    _, subscription = subscribe(client, web)
    _, overage = subscription["items"]["data"]
    swapped = client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": overage.id, "price": "price_enterprise_overage"}],
        "proration_behavior": "none"})
    assert swapped["items"]["data"][1].price.id == "price_enterprise_overage"
    removed = client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": overage.id, "deleted": True}]})
    assert len(removed["items"]["data"]) == 1


def test_cancel_now_ends_the_subscription_and_the_list_shows_it_with_status_all(client, web,
                                                                               double):
    customer, subscription = subscribe(client, web)
    canceled = client.v1.subscriptions.cancel(subscription.id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    default = client.v1.subscriptions.list(params={"customer": customer.id})
    every = client.v1.subscriptions.list(params={"customer": customer.id, "status": "all",
                                                 "limit": 20})
    assert default.data == [] and [s.id for s in every.data] == [subscription.id]
    double.flush()
    assert double.events_of("customer.subscription.deleted")[0]["data"]["object"][
        "status"] == "canceled"


def test_expand_reaches_through_lists_and_expandable_ids(client, web):
    customer, subscription = subscribe(client, web)
    listed = client.v1.subscriptions.list(params={
        "customer": customer.id, "expand": ["data.latest_invoice", "data.customer"]})
    assert listed.data[0].latest_invoice.object == "invoice"
    assert listed.data[0].customer.email == "owner@acme.test"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.retrieve(subscription.id, params={"expand": ["nothing"]})
    assert raised.value.param == "expand"


def test_deleting_a_customer_cancels_its_subscriptions_first(client, web, double, receiver):
    customer, subscription = subscribe(client, web)
    double.flush()
    receiver.received.clear()
    client.v1.customers.delete(customer.id)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
    double.flush()
    assert receiver.types() == ["customer.subscription.deleted", "customer.deleted"]


# --- the portal -------------------------------------------------------------------------------
def test_the_portal_cancels_at_period_end_and_undoes_it(client, web, double):
    customer, subscription = subscribe(client, web)
    portal = client.v1.billing_portal.sessions.create(params={
        "customer": customer.id, "return_url": "http://app.test/billing"})
    assert portal.id.startswith("bps_") and portal.url == f"{double.url}/portal/{portal.id}"
    page = web.get(f"/portal/{portal.id}")
    assert "Cancel at period end" in page.text and "http://app.test/billing" in page.text
    form = {"subscription": subscription.id}
    assert web.post(f"/portal/{portal.id}", data={**form, "action": "cancel"}).status_code == 303
    assert client.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is True
    assert "Don't cancel" in web.get(f"/portal/{portal.id}").text
    web.post(f"/portal/{portal.id}", data={**form, "action": "uncancel"})
    assert client.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is False
    double.flush()
    changes = [e["data"]["previous_attributes"]["cancel_at_period_end"]
               for e in double.events_of("customer.subscription.updated")]
    assert changes == [False, True]


def test_the_portal_switches_plans_with_prorations_on_the_next_invoice(client, web, double):
    customer, subscription = subscribe(client, web)
    portal = client.v1.billing_portal.sessions.create(params={"customer": customer.id})
    web.post(f"/portal/{portal.id}", data={"subscription": subscription.id, "action": "switch",
                                           "price": ENTERPRISE_MONTHLY})
    switched = client.v1.subscriptions.retrieve(subscription.id)
    assert switched["items"]["data"][0].price.id == ENTERPRISE_MONTHLY
    double.renew(subscription.id)
    invoice = client.v1.invoices.retrieve(
        client.v1.subscriptions.retrieve(subscription.id).latest_invoice)
    prorations = [line.amount for line in invoice.lines.data
                  if line.parent.subscription_item_details.proration]
    assert len(prorations) == 2 and min(prorations) < 0 < max(prorations)


# --- events and their delivery ----------------------------------------------------------------
def test_every_event_is_signed_as_stripe_webhook_verification_expects(client, web, double,
                                                                      receiver):
    subscribe(client, web)
    double.flush()
    assert receiver.received
    for payload, headers in receiver.received:
        event = stripe.Webhook.construct_event(payload, headers["Stripe-Signature"], SECRET,
                                               tolerance=300)
        assert event.id.startswith("evt_") and event.livemode is False
        assert headers["Content-Type"].startswith("application/json")
    payload, headers = receiver.received[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload + b" ", headers["Stripe-Signature"], SECRET)


def test_a_failed_delivery_is_retried(client, web, double, receiver):
    receiver.statuses = [500, 503]
    subscribe(client, web)
    double.flush()
    first = [s for s in double.sent_events if s.event["type"] == "customer.subscription.created"]
    assert [(s.status, s.attempt) for s in first] == [(500, 1), (503, 2), (200, 3)]


def test_events_can_be_redelivered_and_shuffled(client, web, double, receiver):
    subscribe(client, web)
    double.flush()
    ids = [json.loads(p)["id"] for p, _ in receiver.received]
    receiver.received.clear()
    double.resend(ids[0])
    double.redeliver(ids, shuffle=True, seed=3)
    double.flush()
    again = [json.loads(p)["id"] for p, _ in receiver.received]
    assert again[0] == ids[0] and sorted(again[1:]) == sorted(ids) and again[1:] != ids


def test_pending_events_can_be_flushed_in_shuffled_order(client, web, double, receiver):
    subscribe(client, web)
    double.flush(shuffle=True, seed=1)
    assert sorted(receiver.types()) == sorted(e["type"] for e in double.events)
    assert receiver.types() != [e["type"] for e in double.events]


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers["Stripe-Signature"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_events_are_posted_to_the_webhook_url_from_a_background_thread(schemas):
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{hook.server_address[1]}/billing/stripe/webhook/"
    server = StripeDouble(0, KEY, SECRET, url, prices_from_plans())
    server.start()
    try:
        client = stripe.StripeClient(KEY, base_addresses={"api": server.url},
                                     max_network_retries=0)
        customer = new_customer(client)
        client.v1.customers.delete(customer.id)
        server.flush()
    finally:
        server.stop()
        hook.shutdown()
    body, signature = _Hook.received[-1]
    event = stripe.Webhook.construct_event(body, signature, SECRET, tolerance=300)
    assert event.type == "customer.deleted"
    assert_all_like_stripe(server, schemas)


# --- the controls over HTTP -------------------------------------------------------------------
def test_the_controls_answer_over_http_without_a_key(client, web, double):
    _, subscription = subscribe(client, web)
    answer = web.post(f"/_double/subscriptions/{subscription.id}/renew",
                      data={"succeed": "false"})
    assert answer.status_code == 200 and answer.json()["result"]["status"] == "past_due"
    assert web.post(f"/_double/subscriptions/{subscription.id}/pay_open_invoice").json()["ok"]
    assert client.v1.subscriptions.retrieve(subscription.id).status == "active"
    events = web.get("/_double/events").json()["data"]
    assert events[0]["type"] == "customer.subscription.updated"
    assert web.post("/_double/subscriptions/sub_nope/renew").status_code == 400


def test_a_yearly_price_gets_a_yearly_period(client, web):
    _, subscription = subscribe(client, web, price=PRO_YEARLY)
    base = subscription["items"]["data"][0]
    assert base.current_period_end == add_interval(base.current_period_start, "year")


def test_a_price_spec_without_meter_is_licensed():
    spec = PriceSpec("price_x", "prod_x", "X", "month", unit_amount=100)
    assert not spec.metered and spec.meter is None and spec.cents == Decimal(100)


# --- mixed intervals: a yearly fee and the monthly metered price on one subscription ----------
def _periods(subscription: Any) -> list[tuple[str, int, int]]:
    return [(i.price.id, i.current_period_start, i.current_period_end)
            for i in subscription["items"]["data"]]


def _meter(client: stripe.StripeClient, customer: str, identifier: str, value: str) -> None:
    client.v1.billing.meter_events.create(params={
        "event_name": "api_requests", "identifier": identifier,
        "payload": {"stripe_customer_id": customer, "value": value}})


def test_a_yearly_checkout_with_the_metered_price_is_a_flexible_mixed_interval_subscription(
        client, web):
    _, subscription = subscribe(client, web, price=PRO_YEARLY)
    assert subscription.billing_mode.type == "flexible"  # the default when none is given
    (fee, start, year_end), (overage, metered_start, month_end) = _periods(subscription)
    assert (fee, overage) == (PRO_YEARLY, PRO_OVERAGE)
    assert year_end == add_interval(start, "year") and metered_start == start
    assert month_end == add_interval(start, "month")
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.amount_paid == 49000  # the year, ahead; usage comes in arrears


def test_classic_billing_mode_refuses_mixed_intervals_and_a_migration_allows_them(client, web,
                                                                                   double):
    customer = new_customer(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        start_checkout(client, customer.id, price=PRO_YEARLY, billing_mode="classic")
    assert (raised.value.http_status, raised.value.param) == (400, "line_items")
    assert "flexible" in raised.value.user_message
    _, subscription = subscribe(client, web, billing_mode="classic")  # monthly: one interval
    assert subscription.billing_mode.type == "classic"
    base = subscription["items"]["data"][0]
    to_yearly = {"items": [{"id": base.id, "price": PRO_YEARLY}]}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.update(subscription.id, params=to_yearly)
    assert (raised.value.http_status, raised.value.param) == (400, "items")
    assert _periods(client.v1.subscriptions.retrieve(subscription.id)) == _periods(
        subscription)  # nothing changed
    migrated = client.v1.subscriptions.migrate(subscription.id,
                                               params={"billing_mode": {"type": "flexible"}})
    assert migrated.billing_mode.type == "flexible"
    assert migrated.billing_mode.updated_at is not None
    with pytest.raises(stripe.InvalidRequestError):  # one way, once
        client.v1.subscriptions.migrate(subscription.id,
                                        params={"billing_mode": {"type": "flexible"}})
    yearly = client.v1.subscriptions.update(subscription.id, params=to_yearly)
    assert [i.price.recurring.interval for i in yearly["items"]["data"]] == ["year", "month"]
    double.flush()
    assert double.events_of("customer.subscription.updated")[0]["data"][
        "previous_attributes"]["billing_mode"]["type"] == "classic"


@pytest.mark.parametrize(("billing_mode", "param"), [
    ({"type": "hourly"}, "subscription_data[billing_mode][type]"),
    ({"flexible": {"proration_discounts": "itemized"}},
     "subscription_data[billing_mode][type]"),
    ({"type": "classic", "flexible": {"proration_discounts": "itemized"}},
     "subscription_data[billing_mode][flexible]"),
])
def test_checkout_refuses_a_billing_mode_stripe_refuses(client, billing_mode, param):
    customer = new_customer(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params={
            "mode": "subscription", "customer": customer.id, "success_url": "http://app.test",
            "line_items": [{"price": PRO_MONTHLY, "quantity": 1}],
            "subscription_data": {"billing_mode": billing_mode}})
    assert (raised.value.http_status, raised.value.param) == (400, param)


def test_a_renewal_cycles_only_the_items_whose_period_ends(client, web, double, receiver):
    customer, subscription = subscribe(client, web, price=PRO_YEARLY)
    (_, start, year_end), (_, _, month_end) = _periods(subscription)
    _meter(client, customer.id, "acme-1", "1500")
    double.flush()
    receiver.received.clear()
    double.renew(subscription.id)
    renewed = client.v1.subscriptions.retrieve(subscription.id)
    assert _periods(renewed) == [(PRO_YEARLY, start, year_end),
                                 (PRO_OVERAGE, month_end, add_interval(start, "month", 2))]
    invoice = client.v1.invoices.retrieve(renewed.latest_invoice)
    assert [(line.amount, line.period.start, line.period.end)
            for line in invoice.lines.data] == [(30, start, month_end)]  # usage only
    assert (invoice.status, invoice.billing_reason) == ("paid", "subscription_cycle")
    double.flush()
    assert receiver.types() == ["customer.subscription.updated", "invoice.paid"]
    for _ in range(11):  # to the twelfth month, where both periods end together
        double.renew(subscription.id)
    renewed = client.v1.subscriptions.retrieve(subscription.id)
    assert _periods(renewed) == [
        (PRO_YEARLY, year_end, add_interval(start, "year", 2)),
        (PRO_OVERAGE, year_end, add_interval(start, "month", 13))]
    invoice = client.v1.invoices.retrieve(renewed.latest_invoice)
    assert sorted(line.amount for line in invoice.lines.data) == [0, 49000]  # one invoice


def test_cancel_at_period_end_on_mixed_intervals_ends_at_the_earliest_item_period_end(
        client, web, double):
    _, subscription = subscribe(client, web, price=PRO_YEARLY)
    (_, _, _), (_, _, month_end) = _periods(subscription)
    cancelling = client.v1.subscriptions.update(subscription.id,
                                                params={"cancel_at_period_end": True})
    assert cancelling.cancel_at == month_end  # as Stripe documents: a month into the year
    ended = double.renew(subscription.id)
    assert (ended["status"], ended["ended_at"]) == ("canceled", month_end)


def test_cancel_at_max_period_end_ends_with_the_year_and_an_empty_value_unsets_it(client, web,
                                                                                  double):
    _, subscription = subscribe(client, web, price=PRO_YEARLY)
    (_, _, year_end), (_, _, month_end) = _periods(subscription)
    cancel = client.v1.subscriptions.update
    assert cancel(subscription.id, params={"cancel_at": "min_period_end"}).cancel_at == month_end
    latest = cancel(subscription.id, params={"cancel_at": "max_period_end"})
    assert (latest.cancel_at, latest.cancel_at_period_end) == (year_end, False)
    assert latest.canceled_at is not None
    assert latest.cancellation_details.reason == "cancellation_requested"
    unset = cancel(subscription.id, params={"cancel_at": ""})
    assert (unset.cancel_at, unset.canceled_at, unset.cancel_at_period_end) == (None, None, False)
    cancel(subscription.id, params={"cancel_at_period_end": True})
    moved = cancel(subscription.id, params={"cancel_at": "max_period_end"})
    assert (moved.cancel_at, moved.cancel_at_period_end) == (year_end, False)
    for refused in ({"cancel_at": double.now() - 60}, {"cancel_at": "tomorrow"},
                    {"cancel_at": "max_period_end", "cancel_at_period_end": False}):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            cancel(subscription.id, params=refused)  # type: ignore[arg-type]
        assert raised.value.http_status == 400 and raised.value.param == "cancel_at"
    assert double.renew(subscription.id)["status"] == "active"  # the month: the year goes on
    for _ in range(10):
        double.renew(subscription.id)
    ended = double.renew(subscription.id)  # the twelfth month ends with the year
    assert (ended["status"], ended["ended_at"]) == ("canceled", year_end)


def test_an_interval_change_restarts_each_items_period_on_its_own_interval(receiver, schemas):
    moment = [float(add_interval(1_900_000_000, "month"))]  # a clock the test moves
    server = StripeDouble(0, KEY, SECRET, "http://127.0.0.1:9/unused", prices_from_plans(),
                          deliver=receiver, asynchronous=False, clock=lambda: moment[0])
    server.start()
    try:
        client = stripe.StripeClient(KEY, base_addresses={"api": server.url},
                                     max_network_retries=0)
        with httpx.Client(base_url=server.url) as web:
            customer, subscription = subscribe(client, web)  # monthly, with the metered price
        base = subscription["items"]["data"][0]
        moment[0] += 10 * 24 * 3600  # ten days into the month
        _meter(client, customer.id, "acme-1", "500")
        moment[0] += 60
        yearly = client.v1.subscriptions.update(subscription.id, params={
            "items": [{"id": base.id, "price": PRO_YEARLY}]})
        (_, start, year_end), (_, metered_start, month_end) = _periods(yearly)
        assert start == metered_start == int(moment[0])
        assert year_end == add_interval(start, "year")
        assert month_end == add_interval(start, "month")
        invoice = client.v1.invoices.retrieve(yearly.latest_invoice)
        amounts = sorted(line.amount for line in invoice.lines.data)
        # the unused monthly fee back, the metered item's next period (nothing yet), 500 calls
        # so far at 0.02 cents, and the year ahead
        assert amounts[0] < 0 and amounts[1:] == [0, 10, 49000]
        assert invoice.billing_reason == "subscription_update"
    finally:
        server.stop()
    assert_all_like_stripe(server, schemas)
