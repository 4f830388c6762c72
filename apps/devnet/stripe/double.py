"""A local Stripe: the v1 endpoints the billing app calls, its hosted Checkout and Customer
Portal pages, signed webhook events, and controls that play what Stripe does on its own
(renewals that succeed or fail, dunning, trials ending).

    /v1/…        the API, as stripe-python calls it (Bearer key, form bodies, Idempotency-Key)
    /checkout/…  /portal/…   the hosted pages
    /_double/…   the controls (no key; the server listens on loopback only)

State lives in memory behind one lock; every JSON answer is kept in `responses` and every
event in `events` (and each delivery attempt in `sent_events`) for tests to inspect.

Where Stripe's behaviour was not certain, a comment starting "Unsure:" says what was chosen.
"""
from __future__ import annotations

import base64
import copy
import json
import random
import secrets
import string
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.conf import settings

from ..loopback import JsonHandler, LoopbackServer
from . import objects, pages
from .prices import PriceSpec, prices_from_plans
from .webhooks import Deliver, Outbox, SentEvent, http_deliver
from .wire import (
    ApiError,
    as_bool,
    as_decimal,
    as_int,
    as_list,
    as_metadata,
    decode,
    invalid,
    missing,
    new_id,
    required,
)

Obj = dict[str, Any]
LIVE = frozenset({"trialing", "active", "past_due"})
DAY = 24 * 3600
METER_WINDOW = 35 * DAY  # meter event timestamps: within the past 35 days …
METER_FUTURE = 5 * 60  # … or up to 5 minutes ahead (Stripe's documented window)
PRORATION_BEHAVIORS = frozenset({"create_prorations", "none", "always_invoice"})
UNBILLED = "in_pending"  # the invoice id of lines not on an invoice yet
SUBSCRIPTION_FILTERS = LIVE | {"canceled", "incomplete", "incomplete_expired", "unpaid",
                               "paused", "ended", "all"}
BILLING_MODES = frozenset({"classic", "flexible"})
PRORATION_DISCOUNTS = frozenset({"included", "itemized"})
# Checkout's `subscription_data` keys the double accepts (the ones it ignores included).
SUBSCRIPTION_DATA = frozenset({"metadata", "trial_period_days", "billing_mode", "description",
                               "default_tax_rates", "trial_settings", "billing_cycle_anchor",
                               "proration_behavior"})


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exchange:
    """One JSON answer of the API: what a test validates against Stripe's schemas."""

    method: str
    path: str
    status: int
    body: Obj


@dataclass
class _Checkout:
    """What a Checkout Session was created with that its JSON does not show."""

    line_items: list[tuple[str, int | None]]  # (price id, quantity; None for metered)
    trial_days: int | None
    subscription_metadata: dict[str, str]
    automatic_tax: bool
    billing_mode: str = "flexible"
    proration_discounts: str = "included"


@dataclass(frozen=True)
class _Saved:
    """An idempotent request's first answer, replayed for the same key."""

    method: str
    path: str
    params: Obj
    reply: Reply


Route = Callable[..., tuple[int, Obj]]


class StripeDouble(LoopbackServer):
    name = "devnet-stripe"

    def __init__(self, port: int, secret_key: str, webhook_secret: str, webhook_url: str,
                 prices: Sequence[PriceSpec], deliver: Deliver | None = None,
                 asynchronous: bool = True, *, retry_delays: Sequence[float] = (1, 2, 4),
                 clock: Callable[[], float] = time.time) -> None:
        self.secret_key, self.webhook_url, self.clock = secret_key, webhook_url, clock
        self.lock = threading.RLock()
        started = self.now()
        self.specs = {spec.id: spec for spec in prices}
        self.prices = {spec.id: objects.price_object(spec, started - len(prices) + i)
                       for i, spec in enumerate(prices)}
        self.customers: dict[str, Obj] = {}
        self.deleted_customers: set[str] = set()
        self.payment_methods: dict[str, Obj] = {}
        self.checkout_sessions: dict[str, Obj] = {}
        self.portal_sessions: dict[str, Obj] = {}
        self.subscriptions: dict[str, Obj] = {}
        self.invoices: dict[str, Obj] = {}
        self.balance_transactions: dict[str, list[Obj]] = {}
        self.meter_events: list[Obj] = []  # accepted, oldest first
        self.events: list[Obj] = []  # created, oldest first
        self.responses: list[Exchange] = []
        self._checkout: dict[str, _Checkout] = {}
        self._pending_lines: dict[str, list[Obj]] = {}  # prorations for the next invoice
        self._fail_next: set[str] = set()  # subscriptions whose next renewal declines
        self._saved: dict[str, _Saved] = {}
        self._request: tuple[str | None, str | None] = (None, None)
        self.outbox = Outbox(webhook_secret, deliver or http_deliver(webhook_url),
                             asynchronous=asynchronous, retry_delays=retry_delays, clock=clock)
        super().__init__(port)
        self.routes: list[tuple[str, tuple[str | None, ...], Route]] = [
            ("POST", ("customers",), self._create_customer),
            ("GET", ("customers", None), self._get_customer),
            ("POST", ("customers", None), self._update_customer),
            ("DELETE", ("customers", None), self._delete_customer),
            ("POST", ("customers", None, "balance_transactions"), self._create_credit),
            ("GET", ("customers", None, "balance_transactions"), self._list_credits),
            ("GET", ("payment_methods", None), self._get_payment_method),
            ("GET", ("prices",), self._list_prices),
            ("GET", ("prices", None), self._get_price),
            ("POST", ("checkout", "sessions"), self._create_checkout),
            ("GET", ("checkout", "sessions", None), self._get_checkout),
            ("POST", ("billing_portal", "sessions"), self._create_portal),
            ("GET", ("subscriptions",), self._list_subscriptions),
            ("GET", ("subscriptions", None), self._get_subscription),
            ("POST", ("subscriptions", None), self._update_subscription),
            ("POST", ("subscriptions", None, "migrate"), self._migrate_subscription),
            ("DELETE", ("subscriptions", None), self._cancel_subscription),
            ("GET", ("invoices",), self._list_invoices),
            ("GET", ("invoices", None), self._get_invoice),
            ("POST", ("billing", "meter_events"), self._create_meter_event),
        ]

    # --- lifecycle and delivery -----------------------------------------------------------
    def start(self) -> None:
        self.outbox.start()
        super().start()

    def stop(self) -> None:
        self.outbox.stop()
        super().stop()

    def now(self) -> int:
        return int(self.clock())

    @property
    def sent_events(self) -> list[SentEvent]:
        return self.outbox.sent

    def flush(self, *, shuffle: bool = False, seed: int | None = None) -> None:
        """Deliver the queued events (see webhooks.Outbox.flush)."""
        self.outbox.flush(shuffle=shuffle, seed=seed)

    def resend(self, event_id: str) -> None:
        """Deliver an event again (a duplicate delivery, as Stripe's retries produce)."""
        self.redeliver([event_id])

    def redeliver(self, event_ids: Sequence[str], *, shuffle: bool = False,
                  seed: int | None = None) -> None:
        """Queue these events again, in shuffled order if asked (out-of-order delivery)."""
        by_id = {event["id"]: event for event in self.events}
        unknown = [event_id for event_id in event_ids if event_id not in by_id]
        if unknown:
            raise KeyError(f"no such event: {', '.join(unknown)}")
        chosen = [by_id[event_id] for event_id in event_ids]
        if shuffle:
            random.Random(seed).shuffle(chosen)
        self.outbox.put(chosen)

    def events_of(self, type_: str) -> list[Obj]:
        return [event for event in self.events if event["type"] == type_]

    def meter_usage(self, customer_id: str, start: int | None = None,
                    end: int | None = None) -> Decimal:
        """The sum of the accepted meter events' values for a customer (timestamps in
        [start, end))."""
        with self.lock:
            return sum((Decimal(e["payload"]["value"]) for e in self.meter_events
                        if e["payload"].get("stripe_customer_id") == customer_id
                        and (start is None or e["timestamp"] >= start)
                        and (end is None or e["timestamp"] < end)), Decimal(0))

    def _emit(self, type_: str, obj: Obj, previous: Obj | None = None) -> Obj:
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = objects.event_object(new_id("evt"), self.now(), type_, data, self._request)
        self.events.append(event)
        # Queued at once: delivery never runs in this thread, so holding the lock is safe.
        self.outbox.put([event])
        return event

    def _emit_update(self, subscription: Obj, before: Obj) -> None:
        previous = {key: value for key, value in before.items() if subscription[key] != value}
        if previous:
            self._emit("customer.subscription.updated", subscription, previous)

    # --- HTTP ---------------------------------------------------------------------------
    def handler_class(self) -> type[JsonHandler]:
        double = self

        class Handler(JsonHandler):
            def _answer(self) -> None:
                body = self.read_body() if self.command == "POST" else b""
                reply = double.handle(self.command, self.path, dict(self.headers), body)
                self.send_body(reply.status, reply.body, reply.content_type, reply.headers)

            do_GET = do_POST = do_DELETE = _answer

        return Handler

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer one HTTP request (the handler's threads call this; tests may too)."""
        url = urlsplit(target)
        parts = tuple(part for part in url.path.split("/") if part)
        headers = {name.lower(): value for name, value in headers.items()}
        with self.lock:
            if parts[:1] == ("v1",):
                return self._api(method, url.path, parts[1:], url.query, headers, body)
            if parts[:1] == ("_double",):
                return self._control(method, parts[1:], decode(body.decode()))
            if len(parts) == 2 and parts[0] in ("checkout", "portal"):
                return self._page(method, parts[0], parts[1], decode(body.decode()))
            return Reply(404, pages.not_found("page"), "text/html; charset=utf-8")

    def _api(self, method: str, path: str, parts: tuple[str, ...], query: str,
             headers: dict[str, str], body: bytes) -> Reply:
        request_id = new_id("req", 14)
        version = headers.get("stripe-version") or stripe.api_version
        reply_headers = {"Request-Id": request_id, "Stripe-Version": version}
        key = headers.get("idempotency-key") if method == "POST" else None
        try:
            self._authenticate(headers.get("authorization", ""))
            params = decode(body.decode() if method == "POST" else query)
            if key and key in self._saved:
                return self._replay(self._saved[key], method, path, params, key)
            route, ids = self._route(method, parts, path)
            self._request = (request_id, key)
            try:
                status, obj = route(params, *ids)
            finally:
                self._request = (None, None)
            if status == 200 and "expand" in params:
                obj = self._expand(obj, as_list(params, "expand"))
        except ApiError as error:
            status, obj = error.status, error.body()
            reply_headers.update(error.headers)
        else:
            if key:  # Unsure: Stripe also saves some errors; the double replays successes
                self._saved[key] = _Saved(method, path, params, Reply(
                    status, json.dumps(obj).encode(),
                    headers={**reply_headers, "Idempotent-Replayed": "true"}))
        self.responses.append(Exchange(method, path, status, copy.deepcopy(obj)))
        return Reply(status, json.dumps(obj).encode(), headers=reply_headers)

    def _authenticate(self, authorization: str) -> None:
        scheme, _, credential = authorization.partition(" ")
        if scheme == "Basic":  # `curl -u sk_test_…:` sends the key as the user name
            credential = base64.b64decode(credential).decode(errors="replace").split(":")[0]
        elif scheme != "Bearer":
            credential = ""
        if credential == self.secret_key:
            return
        headers = {"WWW-Authenticate": 'Bearer realm="Stripe"'}
        if not credential:
            raise ApiError(401, "You did not provide an API key. You need to provide your API "
                           "key in the Authorization header, using Bearer auth (e.g. "
                           "'Authorization: Bearer YOUR_SECRET_KEY').", headers=headers)
        masked = credential[:8] + "*" * max(0, len(credential) - 12) + credential[-4:]
        raise ApiError(401, f"Invalid API Key provided: {masked}", headers=headers)

    def _replay(self, saved: _Saved, method: str, path: str, params: Obj, key: str) -> Reply:
        if (saved.method, saved.path) != (method, path):
            raise ApiError(400, "Keys for idempotent requests can only be used for the same "
                           f"endpoint they were first used for ('{saved.method} "
                           f"{saved.path}').", type_="idempotency_error")
        if saved.params != params:
            raise ApiError(400, "Keys for idempotent requests can only be used with the same "
                           "parameters they were first used with. Try using a key other than "
                           f"'{key}' if you meant to execute a different request.",
                           type_="idempotency_error")
        self.responses.append(Exchange(method, path, saved.reply.status,
                                       json.loads(saved.reply.body)))
        return saved.reply

    def _route(self, method: str, parts: tuple[str, ...],
               path: str) -> tuple[Route, list[str]]:
        for verb, pattern, route in self.routes:
            if verb == method and len(pattern) == len(parts) and all(
                    p is None or p == part for p, part in zip(pattern, parts, strict=True)):
                return route, [part for p, part in zip(pattern, parts, strict=True) if p is None]
        raise ApiError(404, f"Unrecognized request URL ({method}: {path}). Please see "
                       "https://stripe.com/docs or we can help at https://support.stripe.com/.")

    # --- lookups --------------------------------------------------------------------------
    def _find(self, object_id: str) -> Obj | None:
        if object_id in self.deleted_customers:
            return objects.deleted_customer(object_id)
        for store in (self.customers, self.payment_methods, self.subscriptions, self.invoices,
                      self.prices, self.checkout_sessions, self.portal_sessions):
            if object_id in store:
                return store[object_id]
        return None

    def _expand(self, obj: Obj, paths: list[str]) -> Obj:
        """Replace ids by their objects along each dotted path (Stripe's `expand[]`; through
        lists too, as in `data.customer`)."""
        expanded = copy.deepcopy(obj)
        for path in paths:
            self._expand_at(expanded, path.split("."), path)
        return expanded

    def _expand_at(self, node: Any, keys: list[str], path: str) -> None:
        if isinstance(node, list):
            for element in node:
                self._expand_at(element, keys, path)
            return
        if not isinstance(node, dict) or keys[0] not in node:
            raise ApiError(400, f"This property cannot be expanded ({path}).", param="expand")
        value = node[keys[0]]
        if isinstance(value, str):
            found = self._find(value)
            if found is None:
                raise ApiError(400, f"This property cannot be expanded ({path}).",
                               param="expand")
            node[keys[0]] = value = copy.deepcopy(found)
        if len(keys) > 1 and value is not None:
            self._expand_at(value, keys[1:], path)

    def _customer(self, customer_id: str, param: str = "id", status: int = 404) -> Obj:
        if customer_id not in self.customers:
            raise missing("customer", customer_id, param, status)
        return self.customers[customer_id]

    def _price(self, price_id: str, param: str, status: int = 400) -> Obj:
        if price_id not in self.prices:
            raise missing("price", price_id, param, status)
        return self.prices[price_id]

    def _subscription(self, subscription_id: str) -> Obj:
        if subscription_id not in self.subscriptions:
            raise missing("subscription", subscription_id, "id")
        return self.subscriptions[subscription_id]

    @staticmethod
    def _allow(params: Obj, *names: str) -> None:
        """Stripe refuses parameters it does not know; so does the double (the ones it
        ignores are listed too)."""
        for name in params:
            if name not in names and name != "expand":
                raise ApiError(400, f"Received unknown parameter: {name}", param=name)

    def _page_of(self, items: list[Obj], params: Obj, url: str) -> Obj:
        """A list answer, newest first, `limit` (1–100, default 10) after `starting_after`."""
        limit = as_int(params, "limit", 10)
        if limit is None or not 1 <= limit <= 100:
            raise invalid("limit", "This value must be between 1 and 100.")
        # Newest first; within a second, the later made first (sorted() keeps ties' order).
        ordered = sorted(reversed(items), key=lambda o: o["created"], reverse=True)
        after = params.get("starting_after")
        if after:
            ids = [o["id"] for o in ordered]
            if after not in ids:
                raise missing("object", after, "starting_after", 400)
            ordered = ordered[ids.index(after) + 1:]
        return objects.list_object(copy.deepcopy(ordered[:limit]), url,
                                   has_more=len(ordered) > limit)

    # --- customers ----------------------------------------------------------------------
    def _create_customer(self, params: Obj) -> tuple[int, Obj]:
        self._allow(params, "name", "email", "description", "metadata", "phone",
                    "preferred_locales")
        customer = objects.customer_object(
            new_id("cus", 14), self.now(), name=params.get("name"), email=params.get("email"),
            metadata=as_metadata(params), invoice_prefix="".join(
                secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)))
        customer["description"] = params.get("description")
        customer["phone"] = params.get("phone")
        self.customers[customer["id"]] = customer
        return 200, customer

    def _get_customer(self, params: Obj, customer_id: str) -> tuple[int, Obj]:
        self._allow(params)
        if customer_id in self.deleted_customers:  # as Stripe: a deleted customer still reads
            return 200, objects.deleted_customer(customer_id)
        return 200, self._customer(customer_id)

    def _update_customer(self, params: Obj, customer_id: str) -> tuple[int, Obj]:
        self._allow(params, "name", "email", "description", "metadata", "phone",
                    "invoice_settings", "preferred_locales")
        customer = self._customer(customer_id)
        for name in ("name", "email", "description", "phone"):
            if name in params:
                customer[name] = params[name] or None
        customer["metadata"] = as_metadata(params, customer["metadata"])
        settings_ = params.get("invoice_settings") or {}
        if "default_payment_method" in settings_:
            chosen = settings_["default_payment_method"] or None
            if chosen and self.payment_methods.get(chosen, {}).get("customer") != customer_id:
                raise missing("PaymentMethod", chosen,
                              "invoice_settings[default_payment_method]", 400)
            customer["invoice_settings"]["default_payment_method"] = chosen
        return 200, customer

    def _delete_customer(self, params: Obj, customer_id: str) -> tuple[int, Obj]:
        self._allow(params)
        self.delete_customer(customer_id)
        return 200, objects.deleted_customer(customer_id)

    def _create_credit(self, params: Obj, customer_id: str) -> tuple[int, Obj]:
        self._allow(params, "amount", "currency", "description", "metadata")
        customer = self._customer(customer_id)
        amount = as_int(params, "amount")
        if amount is None:
            raise required("amount")
        currency = str(params.get("currency") or "").lower()
        if not currency:
            raise required("currency")
        if customer["currency"] not in (None, currency):
            raise invalid("currency", f"The currency must match the customer's currency "
                          f"({customer['currency']}).")
        customer["currency"] = currency
        customer["balance"] += amount
        transaction = objects.balance_transaction_object(
            new_id("cbtxn", 24), self.now(), customer=customer_id, amount=amount,
            currency=currency, ending_balance=customer["balance"], type_="adjustment",
            description=params.get("description"), metadata=as_metadata(params))
        self.balance_transactions.setdefault(customer_id, []).append(transaction)
        return 200, transaction

    def _list_credits(self, params: Obj, customer_id: str) -> tuple[int, Obj]:
        self._allow(params, "limit", "starting_after")
        self._customer(customer_id)
        return 200, self._page_of(self.balance_transactions.get(customer_id, []), params,
                                  f"/v1/customers/{customer_id}/balance_transactions")

    def _get_payment_method(self, params: Obj, payment_method_id: str) -> tuple[int, Obj]:
        self._allow(params)
        if payment_method_id not in self.payment_methods:
            raise missing("PaymentMethod", payment_method_id, "id")
        return 200, self.payment_methods[payment_method_id]

    # --- prices ---------------------------------------------------------------------------
    def _list_prices(self, params: Obj) -> tuple[int, Obj]:
        self._allow(params, "active", "limit", "starting_after", "type", "product")
        chosen = [p for p in self.prices.values()
                  if as_bool(params, "active", True) is p["active"]
                  and params.get("type", p["type"]) == p["type"]
                  and params.get("product", p["product"]) == p["product"]]
        return 200, self._page_of(chosen, params, "/v1/prices")

    def _get_price(self, params: Obj, price_id: str) -> tuple[int, Obj]:
        self._allow(params)
        return 200, self._price(price_id, "id", 404)

    # --- checkout and the portal ----------------------------------------------------------
    def _create_checkout(self, params: Obj) -> tuple[int, Obj]:
        # Accepted and ignored: what changes nothing the double models.
        self._allow(params, "mode", "customer", "client_reference_id", "line_items",
                    "success_url", "cancel_url", "subscription_data", "metadata",
                    "automatic_tax", "customer_update", "allow_promotion_codes",
                    "billing_address_collection", "tax_id_collection", "locale",
                    "payment_method_types")
        if params.get("mode") != "subscription":
            raise invalid("mode", "The Stripe double supports mode=subscription only.")
        if not params.get("customer"):  # Unsure: Stripe would create a customer; the double asks
            raise required("customer")
        customer = self._customer(params["customer"], "customer", 400)
        if not params.get("success_url"):
            raise required("success_url")
        entries = as_list(params, "line_items")
        if not entries:
            raise required("line_items")
        line_items: list[tuple[str, int | None]] = []
        for i, entry in enumerate(entries):
            price = self._price(str(entry.get("price", "")), f"line_items[{i}][price]")
            quantity = as_int(entry, "quantity")
            metered = price["recurring"]["usage_type"] == "metered"
            if metered and quantity is not None:
                raise invalid(f"line_items[{i}][quantity]", "Quantity should not be specified "
                              f"where usage_type is `metered`. Remove quantity from "
                              f"`line_items[{i}]`.")
            if not metered and not quantity:
                raise ApiError(400, f"Quantity is required. Add `quantity` to "
                               f"`line_items[{i}]`.", code="parameter_missing",
                               param=f"line_items[{i}][quantity]")
            line_items.append((price["id"], quantity))
        subscription_data = params.get("subscription_data") or {}
        if not isinstance(subscription_data, dict):
            raise invalid("subscription_data", "Invalid hash: subscription_data")
        for name in subscription_data:
            if name not in SUBSCRIPTION_DATA:
                raise ApiError(400, f"Received unknown parameter: subscription_data[{name}]",
                               param=f"subscription_data[{name}]")
        mode, discounts = self._billing_mode(subscription_data.get("billing_mode"),
                                             "subscription_data[billing_mode]")
        if mode == "classic":
            self._refuse_mixed([self.prices[price_id] for price_id, _ in line_items],
                               "line_items")
        trial_days = as_int(subscription_data, "trial_period_days")
        if trial_days is not None and trial_days < 1:
            raise invalid("subscription_data[trial_period_days]",
                          "trial_period_days must be at least 1.")
        automatic_tax = bool(as_bool(params.get("automatic_tax") or {}, "enabled", False))
        session_id = new_id("cs_test", 58)
        amount = 0 if trial_days else sum(
            self.prices[price_id]["unit_amount"] * quantity
            for price_id, quantity in line_items if quantity is not None)
        session = objects.checkout_session_object(
            session_id, self.now(), customer=customer["id"], url=f"{self.url}/checkout/"
            f"{session_id}", success_url=params["success_url"],
            cancel_url=params.get("cancel_url"),
            client_reference_id=params.get("client_reference_id"),
            metadata=as_metadata(params),
            allow_promotion_codes=as_bool(params, "allow_promotion_codes"),
            automatic_tax=automatic_tax, amount=amount)
        self.checkout_sessions[session_id] = session
        self._checkout[session_id] = _Checkout(
            line_items, trial_days, as_metadata(subscription_data), automatic_tax, mode,
            discounts)
        return 200, session

    @staticmethod
    def _billing_mode(given: Any, param: str) -> tuple[str, str]:
        """`billing_mode[type]` and `[flexible][proration_discounts]`, as (mode, discounts).
        Unsure: on 2026 API versions a subscription Checkout creates is flexible when no mode
        is given (the API's subscriptions are since 2025-09-30.clover; Stripe's reference
        says the same of Checkout's `subscription_data[billing_mode][type]`)."""
        if given is None:
            return "flexible", "included"
        if not isinstance(given, dict):
            raise invalid(param, f"Invalid hash: {param}")
        for name in given:
            if name not in ("type", "flexible"):
                raise ApiError(400, f"Received unknown parameter: {param}[{name}]",
                               param=f"{param}[{name}]")
        mode = given.get("type")
        if not mode:
            raise required(f"{param}[type]")
        if mode not in BILLING_MODES:
            raise invalid(f"{param}[type]", f"Invalid {param}[type]: must be one of classic "
                          "or flexible")
        flexible = given.get("flexible") or {}
        if flexible and mode != "flexible":
            # Unsure of Stripe's wording; the options are for flexible mode only.
            raise invalid(f"{param}[flexible]", f"{param}[flexible] can only be set when "
                          f"{param}[type] is flexible.")
        if not isinstance(flexible, dict):
            raise invalid(f"{param}[flexible]", f"Invalid hash: {param}[flexible]")
        discounts = flexible.get("proration_discounts", "included")
        if discounts not in PRORATION_DISCOUNTS:
            raise invalid(f"{param}[flexible][proration_discounts]",
                          f"Invalid {param}[flexible][proration_discounts]: must be one of "
                          "included or itemized")
        return str(mode), str(discounts)

    @staticmethod
    def _refuse_mixed(prices: list[Obj], param: str) -> None:
        """Classic billing mode keeps one interval per subscription: prices of different
        intervals are refused (flexible mode takes them: mixed intervals).
        Unsure: Stripe's exact message and param; the rule is documented (mixed interval
        subscriptions must use flexible billing mode)."""
        intervals = sorted({(p["recurring"]["interval"], p["recurring"]["interval_count"])
                            for p in prices})
        if len(intervals) > 1:
            shown = ", ".join(f"{count} {interval}" for interval, count in intervals)
            raise invalid(param, "Prices with different billing intervals ("
                          f"{shown}) on one subscription need `billing_mode[type]=flexible`; "
                          "this subscription uses classic billing mode.")

    def _get_checkout(self, params: Obj, session_id: str) -> tuple[int, Obj]:
        self._allow(params)
        if session_id not in self.checkout_sessions:
            raise missing("checkout.session", session_id, "session")
        return 200, self.checkout_sessions[session_id]

    def _create_portal(self, params: Obj) -> tuple[int, Obj]:
        self._allow(params, "customer", "return_url", "configuration", "locale")
        if not params.get("customer"):
            raise required("customer")
        customer = self._customer(params["customer"], "customer", 400)
        session_id = new_id("bps", 24)
        session = objects.portal_session_object(
            session_id, self.now(), customer=customer["id"],
            url=f"{self.url}/portal/{session_id}", return_url=params.get("return_url"))
        self.portal_sessions[session_id] = session
        return 200, session

    def complete_checkout(self, session_id: str, card: str = "4242") -> str:
        """What paying on the Checkout page does; returns the success URL to redirect to.
        Card "0341" attaches like any card, then declines every renewal."""
        with self.lock:
            session = self.checkout_sessions[session_id]
            if session["customer"] not in self.customers:  # deleted since the session began
                raise missing("customer", session["customer"], "customer", 400)
            if session["status"] == "open":
                self._pay_checkout(session, card)
            return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)

    def _pay_checkout(self, session: Obj, card: str) -> None:
        now, extras = self.now(), self._checkout[session["id"]]
        customer = self.customers[session["customer"]]
        method = objects.payment_method_object(new_id("pm", 24), customer["id"], now, card)
        self.payment_methods[method["id"]] = method
        # Unsure: Checkout makes the card the subscription's default; the double also makes
        # it the customer's invoice default (the billing page reads it from there).
        customer["invoice_settings"]["default_payment_method"] = method["id"]
        subscription_id = new_id("sub", 24)
        trial = (now, now + extras.trial_days * DAY) if extras.trial_days else None
        items = []
        for price_id, quantity in extras.line_items:
            price = self.prices[price_id]
            # During a trial the period is the trial (as Stripe); then the price's interval.
            end = trial[1] if trial else objects.add_interval(now, price["recurring"]["interval"])
            items.append(objects.item_object(new_id("si", 14), subscription_id,
                                             copy.deepcopy(price), now, period=(now, end),
                                             quantity=quantity))
        subscription = objects.subscription_object(
            subscription_id, customer["id"], now, items=items,
            status="trialing" if trial else "active", metadata=extras.subscription_metadata,
            trial=trial, payment_method=method["id"], automatic_tax=extras.automatic_tax,
            billing_mode=objects.billing_mode_object(extras.billing_mode, now,
                                                     extras.proration_discounts))
        self.subscriptions[subscription_id] = subscription
        lines = [self._fee_line(item, (now, item["current_period_end"]), free=trial is not None)
                 for item in items]
        invoice = self._invoice(subscription, lines, (now, now), "subscription_create")
        session.update(
            status="complete", subscription=subscription_id, invoice=invoice["id"], url=None,
            payment_status="paid" if invoice["amount_due"] else "no_payment_required",
            customer_details={"address": None, "business_name": None,
                              "email": customer["email"], "individual_name": None,
                              "name": customer["name"], "phone": None, "tax_exempt": "none",
                              "tax_ids": []})
        # Unsure: Stripe does not promise an order; this is the usual one for a new
        # subscription (the subscription exists before its invoice is paid and before the
        # session reports completion).
        self._emit("customer.subscription.created", subscription)
        self._settle(subscription, invoice, succeed=True)
        self._emit("checkout.session.completed", session)

    def _page(self, method: str, kind: str, session_id: str, form: Obj) -> Reply:
        html = "text/html; charset=utf-8"
        store = self.checkout_sessions if kind == "checkout" else self.portal_sessions
        if session_id not in store:
            return Reply(404, pages.not_found(f"{kind} session"), html)
        session, title = store[session_id], "Checkout" if kind == "checkout" else "Billing portal"
        try:
            if method == "POST" and kind == "checkout":
                location = self.complete_checkout(session_id, str(form.get("card", "4242")))
                return Reply(303, b"", html, {"Location": location})
            if method == "POST":
                self._portal_action(session, form)
                return Reply(303, b"", html, {"Location": f"/portal/{session_id}"})
        except ApiError as error:
            return Reply(400, pages.notice(title, error.message), html)
        customer = self._find(session["customer"]) or {"id": session["customer"]}
        if kind == "checkout":
            extras = self._checkout[session_id]
            items = [(self.prices[price_id], quantity)
                     for price_id, quantity in extras.line_items]
            return Reply(200, pages.checkout_page(session, items, extras.trial_days, customer),
                         html)
        subscriptions = sorted((s for s in self.subscriptions.values()
                                if s["customer"] == session["customer"] and s["status"] in LIVE),
                               key=lambda s: s["created"])
        choices = [p for p in self.prices.values()
                   if p["recurring"]["usage_type"] == "licensed"]
        return Reply(200, pages.portal_page(session, customer, subscriptions, choices), html)

    def _portal_action(self, session: Obj, form: Obj) -> None:
        subscription = self.subscriptions.get(str(form.get("subscription")))
        if subscription is None or subscription["customer"] != session["customer"]:
            return
        action = form.get("action")
        if action == "cancel":
            # As the portal's default configuration (`subscription_cancel[mode]=at_period_end`).
            # Unsure: whether Stripe's portal does anything else on mixed intervals; the API's
            # cancel_at_period_end ends them at the earliest item period end.
            self._update(subscription, {"cancel_at_period_end": "true"})
        elif action == "uncancel":
            self._update(subscription, {"cancel_at_period_end": "false"}
                         if subscription["cancel_at_period_end"] else {"cancel_at": ""})
        elif action == "switch" and form.get("price") in self.prices:
            licensed = [i for i in subscription["items"]["data"]
                        if i["price"]["recurring"]["usage_type"] == "licensed"]
            if licensed:  # as the portal does: the one licensed item changes price
                self._update(subscription, {"items": [{"id": licensed[0]["id"],
                                                       "price": form["price"]}],
                                            "proration_behavior": "create_prorations"})

    # --- subscriptions ------------------------------------------------------------------
    def _list_subscriptions(self, params: Obj) -> tuple[int, Obj]:
        self._allow(params, "customer", "status", "price", "limit", "starting_after")
        status = params.get("status")
        if status is not None and status not in SUBSCRIPTION_FILTERS:
            raise invalid("status", f"Invalid status: must be one of "
                          f"{', '.join(sorted(SUBSCRIPTION_FILTERS))}")

        def shown(subscription: Obj) -> bool:
            if status is None:  # Stripe's default: every subscription not canceled
                return subscription["status"] != "canceled"
            if status == "ended":
                return subscription["status"] in ("canceled", "incomplete_expired")
            return status == "all" or subscription["status"] == status

        chosen = [s for s in self.subscriptions.values() if shown(s)
                  and params.get("customer", s["customer"]) == s["customer"]
                  and (not params.get("price") or any(
                      i["price"]["id"] == params["price"] for i in s["items"]["data"]))]
        return 200, self._page_of(chosen, params, "/v1/subscriptions")

    def _get_subscription(self, params: Obj, subscription_id: str) -> tuple[int, Obj]:
        self._allow(params)
        return 200, self._subscription(subscription_id)

    def _update_subscription(self, params: Obj, subscription_id: str) -> tuple[int, Obj]:
        self._allow(params, "items", "proration_behavior", "cancel_at_period_end", "cancel_at",
                    "metadata", "default_payment_method", "trial_end", "payment_behavior")
        subscription = self._subscription(subscription_id)
        self._update(subscription, params)
        return 200, subscription

    def _migrate_subscription(self, params: Obj, subscription_id: str) -> tuple[int, Obj]:
        """`POST /v1/subscriptions/{id}/migrate`: classic → flexible billing mode (one way)."""
        self._allow(params, "billing_mode")
        subscription = self._subscription(subscription_id)
        if params.get("billing_mode") is None:
            raise required("billing_mode")
        mode, discounts = self._billing_mode(params["billing_mode"], "billing_mode")
        if mode != "flexible":
            raise invalid("billing_mode[type]", "A subscription can only be migrated to "
                          "flexible billing mode.")
        # Unsure of both answers' wording (and whether migrating twice is a no-op instead).
        if subscription["status"] not in LIVE:
            raise ApiError(400, "A canceled subscription cannot be migrated.")
        if subscription["billing_mode"]["type"] == "flexible":
            raise invalid("billing_mode[type]", "This subscription already uses flexible "
                          "billing mode.")
        before = copy.deepcopy(subscription)
        subscription["billing_mode"] = objects.billing_mode_object("flexible", self.now(),
                                                                   discounts)
        self._emit_update(subscription, before)  # Unsure: that Stripe sends this event here
        return 200, subscription

    def _cancel_subscription(self, params: Obj, subscription_id: str) -> tuple[int, Obj]:
        self._allow(params, "invoice_now", "prorate", "cancellation_details")
        return 200, self.cancel_now(subscription_id)

    def _update(self, subscription: Obj, params: Obj) -> None:
        """An update as `POST /v1/subscriptions/{id}` makes it, then its events."""
        if subscription["status"] not in LIVE and set(params) - {"metadata", "expand"}:
            # Unsure of the exact message; Stripe refuses changing a canceled subscription.
            raise ApiError(400, "A canceled subscription can only update its "
                           "cancellation_details and metadata.")
        before = copy.deepcopy(subscription)
        behavior = params.get("proration_behavior", "create_prorations")
        if behavior not in PRORATION_BEHAVIORS:
            raise invalid("proration_behavior", f"Invalid proration_behavior: {behavior}")
        if "cancel_at" in params and "cancel_at_period_end" in params:
            # Unsure of the wording: one way of scheduling the end per request.
            raise ApiError(400, "You may only specify one of these parameters: cancel_at, "
                           "cancel_at_period_end.", param="cancel_at")
        cancel_at = self._cancel_at(params["cancel_at"]) if "cancel_at" in params else None
        bill_now = self._change_items(subscription, as_list(params, "items"), behavior) \
            if "items" in params else []
        if "cancel_at_period_end" in params:
            cancel = bool(as_bool(params, "cancel_at_period_end"))
            # On mixed intervals, the earliest item period end (as Stripe documents).
            # Unsure: `false` also drops a `cancel_at` timestamp set on its own.
            self._schedule_end(subscription, self._period_ends(subscription)[0]
                               if cancel else None, at_period_end=cancel)
        elif "cancel_at" in params:
            # min/max_period_end resolve now, after this request's item changes, and stay
            # put when the periods move later (unlike cancel_at_period_end).
            ends = self._period_ends(subscription)
            at = {"min_period_end": ends[0], "max_period_end": ends[-1]}.get(
                str(cancel_at), cancel_at)
            # Unsure: a timestamp also turns cancel_at_period_end off (it was one or the other).
            self._schedule_end(subscription, None if at is None else int(at),
                               at_period_end=False)
        elif subscription["cancel_at_period_end"]:  # it follows the (earliest) period end
            subscription["cancel_at"] = self._period_ends(subscription)[0]
        subscription["metadata"] = as_metadata(params, subscription["metadata"])
        if "default_payment_method" in params:
            chosen = params["default_payment_method"] or None
            if chosen and self.payment_methods.get(chosen, {}).get("customer") != \
                    subscription["customer"]:
                raise missing("PaymentMethod", chosen, "default_payment_method", 400)
            subscription["default_payment_method"] = chosen
        if params.get("trial_end") not in (None, "now"):
            raise invalid("trial_end", "The Stripe double supports trial_end=now only.")
        invoice = None
        if params.get("trial_end") == "now" and subscription["status"] == "trialing":
            invoice = self._cycle(subscription, self.now(), "subscription_update")
        elif bill_now:
            invoice = self._invoice(subscription, bill_now, (self.now(), self.now()),
                                    "subscription_update")
        self._emit_update(subscription, before)
        if invoice is not None:
            self._settle(subscription, invoice)

    @staticmethod
    def _period_ends(subscription: Obj) -> list[int]:
        """Its items' current period ends, earliest first (one value unless mixed intervals)."""
        return sorted(i["current_period_end"] for i in subscription["items"]["data"])

    def _cancel_at(self, value: Any) -> int | str | None:
        """`cancel_at`: '' (unset: None), a future timestamp, or min_period_end /
        max_period_end (resolved by the caller once the request's item changes are made)."""
        if value == "":
            return None
        if value in ("min_period_end", "max_period_end"):
            return str(value)
        if value == "max_billed_until":
            raise invalid("cancel_at", "The Stripe double does not model billed_until; use "
                          "min_period_end, max_period_end or a timestamp.")
        try:
            at = int(value)
        except (TypeError, ValueError):
            raise invalid("cancel_at", f"Invalid cancel_at: {value} (a timestamp, '', "
                          "min_period_end, max_period_end or max_billed_until)") from None
        if at <= self.now():  # Unsure of the wording
            raise invalid("cancel_at", "cancel_at must be in the future.")
        return at

    def _schedule_end(self, subscription: Obj, at: int | None, *, at_period_end: bool) -> None:
        subscription.update(
            cancel_at_period_end=at_period_end and at is not None, cancel_at=at,
            canceled_at=self.now() if at is not None else None,
            cancellation_details={"comment": None, "feedback": None,
                                  "reason": "cancellation_requested" if at else None})

    @staticmethod
    def _aligned(anchor: int, recurring: Obj, moment: int) -> tuple[int, int]:
        """The period of this interval, counted from the billing cycle anchor, that `moment`
        falls in (every item's periods are counted from the one anchor, so that a yearly
        item and a monthly one end together every twelfth month)."""
        interval, count, n = recurring["interval"], recurring["interval_count"], 0
        while objects.add_interval(anchor, interval, count * (n + 1)) <= moment:
            n += 1
        return (objects.add_interval(anchor, interval, count * n),
                objects.add_interval(anchor, interval, count * (n + 1)))

    def _prices_after(self, items: list[Obj], entries: list[Obj]) -> list[Obj]:
        """The prices the subscription would have after `items[n]` (checked before any
        change is made)."""
        prices = {item["id"]: item["price"] for item in items}
        added = []
        for i, entry in enumerate(entries):
            if not entry.get("id"):
                added.append(self._price(str(entry.get("price", "")), f"items[{i}][price]"))
            elif entry["id"] not in prices:
                raise missing("subscription_item", entry["id"], f"items[{i}][id]", 400)
            elif as_bool(entry, "deleted", False):
                prices[entry["id"]] = {}
            elif entry.get("price"):
                prices[entry["id"]] = self._price(str(entry["price"]), f"items[{i}][price]")
        return [price for price in [*prices.values(), *added] if price]

    def _change_items(self, subscription: Obj, entries: list[Obj],
                      behavior: str) -> list[Obj]:
        """Apply `items[n]`; returns the lines to invoice at once (always_invoice, or an
        interval change, which Stripe bills immediately with a new billing period). A
        classic-mode subscription refuses prices of different intervals."""
        now, items = self.now(), subscription["items"]["data"]
        if subscription["billing_mode"]["type"] == "classic":
            self._refuse_mixed(self._prices_after(items, entries), "items")
        trialing = subscription["status"] == "trialing"
        prorate = behavior != "none" and subscription["status"] in ("active", "past_due")
        lines: list[Obj] = []
        new_period = False
        for i, entry in enumerate(entries):
            if entry.get("id"):
                item = next((x for x in items if x["id"] == entry["id"]), None)
                if item is None:
                    raise missing("subscription_item", entry["id"], f"items[{i}][id]", 400)
            else:
                price = self._price(str(entry.get("price", "")), f"items[{i}][price]")
                metered = price["recurring"]["usage_type"] == "metered"
                if trialing and items:  # the trial is every item's period
                    period = (items[0]["current_period_start"], items[0]["current_period_end"])
                else:
                    # Unsure: a new item's period is the anchor's period of its interval
                    # that now falls in, a metered one counting usage from now on.
                    start, end = self._aligned(subscription["billing_cycle_anchor"],
                                               price["recurring"], now)
                    period = (now if metered else start, end)
                item = objects.item_object(
                    new_id("si", 14), subscription["id"], copy.deepcopy(price), now,
                    period=period, quantity=None if metered else 1)
                items.append(item)
                if prorate and item.get("quantity"):
                    lines.append(self._prorated(item, now, credit=False))
                continue
            if as_bool(entry, "deleted", False):
                items.remove(item)
                if prorate and item.get("quantity"):
                    lines.append(self._prorated(item, now, credit=True))
                continue
            if entry.get("price") and entry["price"] != item["price"]["id"]:
                price = self._price(str(entry["price"]), f"items[{i}][price]")
                old_interval = item["price"]["recurring"]["interval"]
                if prorate and item.get("quantity"):
                    lines.append(self._prorated(item, now, credit=True))
                item["price"] = copy.deepcopy(price)
                if price["recurring"]["interval"] != old_interval:
                    new_period = True
                elif prorate and item.get("quantity"):
                    lines.append(self._prorated(item, now, credit=False))
            if "quantity" in entry and item.get("quantity") is not None:
                item["quantity"] = as_int(entry, "quantity")
        if new_period:
            # The billing cycle anchor moves to now and every item's period starts again, each
            # of its own interval. Unsure: that the metered items restart too, their usage so
            # far billed on this invoice (not in a trial, where usage is free).
            subscription["billing_cycle_anchor"] = now
            for item in items:
                if item.get("quantity") is None and not trialing:
                    lines.append(self._usage_line(item, subscription["customer"],
                                                  (item["current_period_start"], now)))
                end = self._aligned(now, item["price"]["recurring"], now)[1]
                item["current_period_start"], item["current_period_end"] = now, end
                lines.append(self._fee_line(item, (now, end)))
            return [*self._pending_lines.pop(subscription["id"], []), *lines]
        if behavior == "always_invoice" and lines:
            return [*self._pending_lines.pop(subscription["id"], []), *lines]
        self._pending_lines.setdefault(subscription["id"], []).extend(lines)
        return []

    def _prorated(self, item: Obj, now: int, *, credit: bool) -> Obj:
        start, end = item["current_period_start"], item["current_period_end"]
        share = Decimal(max(0, end - now)) / Decimal(max(1, end - start))
        amount = objects.cents(item["price"]["unit_amount"] * item["quantity"] * share)
        when = datetime.fromtimestamp(now, tz=UTC).strftime("%d %b %Y")
        name = item["price"]["nickname"] or item["price"]["id"]
        return objects.line_object(
            new_id("il", 24), UNBILLED, item, amount=-amount if credit else amount,
            quantity=item["quantity"], period=(now, end), proration=True,
            description=f"{'Unused' if credit else 'Remaining'} time on {item['quantity']} × "
                        f"{name} after {when}")

    def _fee_line(self, item: Obj, period: tuple[int, int], *, free: bool = False) -> Obj:
        """A period's line for an item: its fee (licensed), or nothing yet (metered: usage is
        billed in arrears, at the next renewal)."""
        price, quantity = item["price"], item.get("quantity")
        name = price["nickname"] or price["id"]
        if quantity is None:
            return objects.line_object(new_id("il", 24), UNBILLED, item, amount=0,
                                       quantity=0, period=period, proration=False,
                                       description=f"{name} (usage billed in arrears)")
        label = pages.price_label(price)
        return objects.line_object(
            new_id("il", 24), UNBILLED, item, amount=0 if free else
            price["unit_amount"] * quantity, quantity=quantity, period=period,
            proration=False, description=f"{'Trial period for ' if free else ''}{quantity} × "
                                         f"{name} (at {label})")

    def _usage_line(self, item: Obj, customer_id: str, period: tuple[int, int]) -> Obj:
        event = self.specs[item["price"]["id"]].meter_event if item["price"]["id"] in \
            self.specs else None
        usage = sum((Decimal(e["payload"]["value"]) for e in self.meter_events
                     if e["event_name"] == event
                     and e["payload"].get("stripe_customer_id") == customer_id
                     and period[0] <= e["timestamp"] < period[1]), Decimal(0))
        amount = objects.cents(usage * Decimal(item["price"]["unit_amount_decimal"]))
        name = item["price"]["nickname"] or item["price"]["id"]
        return objects.line_object(new_id("il", 24), UNBILLED, item, amount=amount,
                                   quantity=int(usage), period=period, proration=False,
                                   description=f"{name}: {usage} calls")

    def _cycle(self, subscription: Obj, start: int, reason: str) -> Obj:
        """Start the next period of every item whose period ends at `start` (of every item
        when a trial ends) and invoice it: fees ahead for licensed items, metered usage of
        the period behind, pending prorations; returns the finalized, unpaid invoice. On mixed
        intervals the items whose periods go on (a yearly fee in its year) are left alone:
        one invoice when the periods end together, one per renewal when they diverge."""
        items = subscription["items"]["data"]
        trialing = subscription["status"] == "trialing"
        if trialing:
            subscription.update(status="active", trial_end=start, billing_cycle_anchor=start)
        due = [i for i in items if trialing or i["current_period_end"] <= start]
        behind = (min(i["current_period_start"] for i in due), start)
        lines = []
        for item in due:
            if item.get("quantity") is None and not trialing:  # usage in a trial is free
                lines.append(self._usage_line(item, subscription["customer"],
                                              (item["current_period_start"], start)))
            end = self._aligned(subscription["billing_cycle_anchor"], item["price"]["recurring"],
                                start)[1]
            item["current_period_start"], item["current_period_end"] = start, end
            if item.get("quantity") is not None:
                lines.append(self._fee_line(item, (start, end)))
        lines += self._pending_lines.pop(subscription["id"], [])
        return self._invoice(subscription, lines, behind, reason)

    def _invoice(self, subscription: Obj, lines: list[Obj], period: tuple[int, int],
                 reason: str) -> Obj:
        """A finalized invoice (customer credit applied, as Stripe does at finalization)."""
        now = self.now()
        customer = self.customers[subscription["customer"]]
        invoice_id = new_id("in", 24)
        for line in lines:
            line["invoice"] = invoice_id
        number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        invoice = objects.invoice_object(invoice_id, customer, subscription, now, lines=lines,
                                         period=period, billing_reason=reason, number=number)
        starting = customer["balance"]
        due, ending = max(0, invoice["total"] + starting), min(0, invoice["total"] + starting)
        invoice.update(status="open", starting_balance=starting, ending_balance=ending,
                       amount_due=due, amount_remaining=due)
        invoice["status_transitions"]["finalized_at"] = now
        if ending != starting:
            customer["balance"] = ending
            self.balance_transactions.setdefault(customer["id"], []).append(
                objects.balance_transaction_object(
                    new_id("cbtxn", 24), now, customer=customer["id"], amount=ending - starting,
                    currency="usd", ending_balance=ending, type_="applied_to_invoice",
                    description=None, metadata={}, invoice=invoice_id))
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def _settle(self, subscription: Obj, invoice: Obj, succeed: bool | None = None) -> None:
        """Attempt the invoice's payment: paid (past due → active) or declined (→ past due),
        with their events."""
        before = copy.deepcopy(subscription)
        if succeed is None:
            card = self.payment_methods.get(subscription["default_payment_method"] or "", {})
            declines = card.get("card", {}).get("last4") == objects.CARD_THAT_FAILS_RENEWALS
            succeed = not declines and subscription["id"] not in self._fail_next
        self._fail_next.discard(subscription["id"])
        now = self.now()
        if invoice["amount_due"]:
            invoice.update(attempted=True, attempt_count=invoice["attempt_count"] + 1)
        if succeed or not invoice["amount_due"]:
            invoice.update(status="paid", amount_paid=invoice["amount_due"],
                           amount_remaining=0, auto_advance=False, next_payment_attempt=None)
            invoice["status_transitions"]["paid_at"] = now
            if subscription["status"] == "past_due":
                subscription["status"] = "active"
            self._emit("invoice.paid", invoice)
        else:
            # Unsure: the retry falls when the account's Smart Retries say; 3 days here.
            invoice.update(next_payment_attempt=now + 3 * DAY)
            subscription["status"] = "past_due"
            self._emit("invoice.payment_failed", invoice)
        self._emit_update(subscription, before)

    def _end(self, subscription: Obj, at: int) -> Obj:
        subscription.update(status="canceled", ended_at=at, cancel_at=None,
                            canceled_at=subscription["canceled_at"] or at)
        subscription["cancellation_details"]["reason"] = "cancellation_requested"
        self._pending_lines.pop(subscription["id"], None)
        self._emit("customer.subscription.deleted", subscription)
        return subscription

    # --- controls (Python, and POST /_double/…) -----------------------------------------
    def renew(self, subscription_id: str, succeed: bool | None = None) -> Obj:
        """The next period end, now (on mixed intervals: the earliest item period end): a
        subscription whose `cancel_at` it reaches ends (at `cancel_at`); otherwise the items
        whose periods end then start their next ones, and the invoice is paid
        (`succeed=True`), declined (`False`), or as the card and `fail_next_renewal` say
        (None)."""
        with self.lock:
            subscription = self._live(subscription_id)
            end = self._period_ends(subscription)[0]
            if subscription["cancel_at"] is not None and subscription["cancel_at"] <= end:
                # Unsure: the metered usage of the last period is not invoiced when it ends.
                return copy.deepcopy(self._end(subscription, subscription["cancel_at"]))
            before = copy.deepcopy(subscription)
            invoice = self._cycle(subscription, end, "subscription_cycle")
            # As Stripe: the new period is announced, then the invoice's payment.
            self._emit_update(subscription, before)
            self._settle(subscription, invoice, succeed)
            return copy.deepcopy(subscription)

    def fail_next_renewal(self, subscription_id: str) -> None:
        with self.lock:
            self._fail_next.add(self._live(subscription_id)["id"])

    def pay_open_invoice(self, subscription_id: str) -> Obj:
        """The customer pays the subscription's open invoice (past due → active)."""
        with self.lock:
            subscription = self._live(subscription_id)
            invoice = self.invoices.get(subscription["latest_invoice"] or "")
            if invoice is None or invoice["status"] != "open":
                raise ValueError(f"{subscription_id} has no open invoice")
            self._settle(subscription, invoice, succeed=True)
            return copy.deepcopy(invoice)

    def end_trial(self, subscription_id: str, succeed: bool | None = None) -> Obj:
        """The trial ends now: the first paid period starts and is invoiced."""
        with self.lock:
            subscription = self._live(subscription_id)
            if subscription["status"] != "trialing":
                raise ValueError(f"{subscription_id} is not trialing")
            before = copy.deepcopy(subscription)
            invoice = self._cycle(subscription, self.now(), "subscription_cycle")
            self._emit_update(subscription, before)
            self._settle(subscription, invoice, succeed)
            return copy.deepcopy(subscription)

    def cancel_now(self, subscription_id: str) -> Obj:
        with self.lock:
            subscription = self._subscription(subscription_id)
            if subscription["status"] not in LIVE:
                # Unsure of Stripe's exact answer to canceling twice.
                raise ApiError(400, f"The subscription {subscription_id} has already been "
                               "canceled.")
            subscription["canceled_at"] = self.now()
            return self._end(subscription, self.now())

    def delete_customer(self, customer_id: str) -> None:
        """Delete a customer: its live subscriptions are canceled first, as Stripe does."""
        with self.lock:
            customer = self._customer(customer_id)
            for subscription in list(self.subscriptions.values()):
                if subscription["customer"] == customer_id and subscription["status"] in LIVE:
                    self.cancel_now(subscription["id"])
            del self.customers[customer_id]
            self.deleted_customers.add(customer_id)
            # Unsure: the event carries the customer as it last was (not the deleted stub).
            self._emit("customer.deleted", customer)

    def _live(self, subscription_id: str) -> Obj:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None or subscription["status"] not in LIVE:
            raise ValueError(f"{subscription_id} is not a live subscription")
        return subscription

    def _control(self, method: str, parts: tuple[str, ...], form: Obj) -> Reply:
        """POST /_double/subscriptions/<id>/(renew|fail_next_renewal|pay_open_invoice|cancel|
        end_trial), /_double/customers/<id>/delete, /_double/events/<id>/resend,
        /_double/events/redeliver (ids[], shuffle), /_double/flush; GET /_double/events."""
        try:
            if method == "GET" and parts == ("events",):
                return self._json(200, objects.list_object(list(reversed(self.events)),
                                                           "/_double/events"))
            if method != "POST":
                raise ValueError(f"no control {method} /{'/'.join(parts)}")
            succeed = as_bool(form, "succeed")
            actions: dict[tuple[str, str], Callable[[str], Any]] = {
                ("subscriptions", "renew"): lambda i: self.renew(i, succeed),
                ("subscriptions", "fail_next_renewal"): self.fail_next_renewal,
                ("subscriptions", "pay_open_invoice"): self.pay_open_invoice,
                ("subscriptions", "cancel"): self.cancel_now,
                ("subscriptions", "end_trial"): lambda i: self.end_trial(i, succeed),
                ("customers", "delete"): self.delete_customer,
                ("events", "resend"): self.resend,
            }
            if len(parts) == 3 and (parts[0], parts[2]) in actions:
                return self._json(200, {"ok": True,
                                        "result": actions[parts[0], parts[2]](parts[1])})
            if parts == ("events", "redeliver"):
                self.redeliver(as_list(form, "ids"), shuffle=bool(as_bool(form, "shuffle")))
                return self._json(200, {"ok": True})
            if parts == ("flush",):
                self.flush()
                return self._json(200, {"ok": True})
            raise ValueError(f"no control POST /_double/{'/'.join(parts)}")
        except ApiError as error:
            return self._json(error.status, error.body())
        except (KeyError, ValueError) as error:
            return self._json(400, {"error": {"type": "invalid_request_error",
                                              "message": str(error)}})

    @staticmethod
    def _json(status: int, payload: Obj) -> Reply:
        return Reply(status, json.dumps(payload).encode())

    # --- meter events -------------------------------------------------------------------
    def _create_meter_event(self, params: Obj) -> tuple[int, Obj]:
        self._allow(params, "event_name", "payload", "identifier", "timestamp")
        if not params.get("event_name"):
            raise required("event_name")
        payload = params.get("payload")
        if not isinstance(payload, dict) or not payload:
            raise required("payload")
        # Unsure: Stripe may check the payload keys only when it aggregates (asynchronously).
        for key in ("stripe_customer_id", "value"):
            if not payload.get(key):
                raise required(f"payload[{key}]")
        as_decimal(payload["value"], "payload[value]")
        now = self.now()
        timestamp = as_int(params, "timestamp", now)
        assert timestamp is not None  # given a default
        if not now - METER_WINDOW <= timestamp <= now + METER_FUTURE:
            raise invalid("timestamp", "Timestamp must be within the past 35 calendar days and "
                          "no more than 5 minutes in the future.")
        identifier = str(params.get("identifier") or new_id("mev", 20))
        if any(e["identifier"] == identifier and e["created"] > now - DAY
               for e in self.meter_events):
            # Stripe's answer to a repeated identifier within its 24-hour window: a 400 saying
            # the event exists, not to be retried. Unsure: the `code` (not documented).
            raise ApiError(400, f"An event already exists with identifier {identifier}.",
                           code="duplicate_meter_event", param="identifier",
                           headers={"Stripe-Should-Retry": "false"})
        event = objects.meter_event_object(now, event_name=params["event_name"],
                                           identifier=identifier,
                                           payload={k: str(v) for k, v in payload.items()},
                                           timestamp=timestamp)
        self.meter_events.append(event)
        return 200, event

    # --- invoices -------------------------------------------------------------------------
    def _list_invoices(self, params: Obj) -> tuple[int, Obj]:
        self._allow(params, "customer", "subscription", "status", "limit", "starting_after")
        chosen = [i for i in self.invoices.values()
                  if params.get("customer", i["customer"]) == i["customer"]
                  and params.get("status", i["status"]) == i["status"]
                  and params.get("subscription", i["parent"]["subscription_details"][
                      "subscription"]) == i["parent"]["subscription_details"]["subscription"]]
        return 200, self._page_of(chosen, params, "/v1/invoices")

    def _get_invoice(self, params: Obj, invoice_id: str) -> tuple[int, Obj]:
        self._allow(params)
        if invoice_id not in self.invoices:
            raise missing("invoice", invoice_id, "id")
        return 200, self.invoices[invoice_id]


def double_from_settings(port: int, **options: Any) -> StripeDouble:
    """The devnet's double: the settings' keys, the app's webhook URL, the plans' prices."""
    return StripeDouble(
        port, settings.OP_STRIPE_SECRET_KEY, settings.OP_STRIPE_WEBHOOK_SECRET,
        f"{settings.OP_SITE_URL.rstrip('/')}/billing/stripe/webhook/", prices_from_plans(),
        **options)
