"""Stripe's objects as the API (version 2026-09-30.endive of the spec vendored in
tests/fixtures/stripe_openapi/) renders them: every required field, the nullable ones the API
sends as null, amounts in integer cents, times as unix seconds, `livemode: false`.

The builders take the values that vary; the tests validate what they build against the spec
with `additionalProperties: false`, so a field name that is not Stripe's fails there."""
from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import stripe

from .prices import PriceSpec

Obj = dict[str, Any]
CARD_THAT_FAILS_RENEWALS = "0341"  # Stripe's test card 4000 0000 0000 0341: attaches, then declines


def add_interval(timestamp: int, interval: str, count: int = 1) -> int:
    """`count` calendar months or years later (the 31st becomes the month's last day), as
    Stripe advances billing periods. Counted from the billing cycle anchor, a period keeps the
    anchor's day (the 31st → 28 Feb → 31 Mar)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    months = (12 if interval == "year" else 1) * count
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def decimal_string(value: Decimal) -> str:
    """A decimal as Stripe writes `unit_amount_decimal`: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def cents(value: Decimal) -> int:
    """Whole cents of a fractional amount (metered usage × a sub-cent price), rounded half up.
    Unsure: Stripe documents rounding line amounts to the currency's minor unit, not the mode."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def list_object(data: list[Obj], url: str, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def price_object(spec: PriceSpec, created: int) -> Obj:
    return {
        "id": spec.id, "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": created, "currency": spec.currency, "custom_unit_amount": None,
        "livemode": False, "lookup_key": None, "metadata": {}, "nickname": spec.product_name,
        "product": spec.product,
        "recurring": {"interval": spec.interval, "interval_count": 1, "meter": spec.meter,
                      "usage_type": "metered" if spec.metered else "licensed"},
        "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
        "type": "recurring",
        # A sub-cent price has no integer `unit_amount`; Stripe sends null then.
        "unit_amount": spec.unit_amount,
        "unit_amount_decimal": decimal_string(spec.cents),
    }


def customer_object(customer_id: str, created: int, *, name: str | None, email: str | None,
                    metadata: dict[str, str], invoice_prefix: str) -> Obj:
    return {
        "id": customer_id, "object": "customer", "address": None, "balance": 0,
        "created": created, "currency": None, "customer_account": None, "default_source": None,
        "delinquent": False, "description": None, "discount": None, "email": email,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                             "footer": None, "rendering_options": None},
        "livemode": False, "metadata": metadata, "name": name, "next_invoice_sequence": 1,
        "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        "test_clock": None,
    }


def deleted_customer(customer_id: str) -> Obj:
    return {"id": customer_id, "object": "customer", "deleted": True}


def payment_method_object(payment_method_id: str, customer_id: str, created: int,
                          last4: str) -> Obj:
    """A test Visa card (4242 pays; 0341 attaches but its renewals fail)."""
    expires = datetime.fromtimestamp(created, tz=UTC).year + 3
    return {
        "id": payment_method_id, "object": "payment_method", "allow_redisplay": "always",
        "billing_details": {
            "address": {"city": None, "country": None, "line1": None, "line2": None,
                        "postal_code": None, "state": None},
            "email": None, "name": None, "phone": None, "tax_id": None},
        "card": {
            "brand": "visa",
            "checks": {"address_line1_check": None, "address_postal_code_check": None,
                       "cvc_check": "pass"},
            "country": "US", "display_brand": "visa", "exp_month": 12, "exp_year": expires,
            "fingerprint": f"devnet{last4}", "funding": "credit", "generated_from": None,
            "last4": last4, "networks": {"available": ["visa"], "preferred": None},
            "regulated_status": "unregulated", "three_d_secure_usage": {"supported": True},
            "wallet": None},
        "created": created, "customer": customer_id, "customer_account": None,
        "livemode": False, "metadata": {}, "type": "card",
    }


def item_object(item_id: str, subscription_id: str, price: Obj, created: int, *,
                period: tuple[int, int], quantity: int | None) -> Obj:
    item: Obj = {
        "id": item_id, "object": "subscription_item", "billing_thresholds": None,
        "created": created, "current_period_end": period[1], "current_period_start": period[0],
        "discounts": [], "metadata": {}, "price": price, "subscription": subscription_id,
        "tax_rates": [],
    }
    if quantity is not None:  # metered items have no quantity
        item["quantity"] = quantity
    return item


def billing_mode_object(mode: str, adopted: int, proration_discounts: str = "included") -> Obj:
    """A subscription's `billing_mode`. Flexible is what mixed intervals need (a yearly fee
    and a monthly metered price on one subscription).
    Unsure: `flexible.proration_discounts` defaults to "included", and `updated_at` is when
    the mode was adopted (creation, or the migration) and null for classic."""
    if mode == "flexible":
        return {"flexible": {"proration_discounts": proration_discounts}, "type": "flexible",
                "updated_at": adopted}
    return {"flexible": None, "type": "classic", "updated_at": None}


def subscription_object(subscription_id: str, customer_id: str, created: int, *,
                        items: list[Obj], status: str, metadata: dict[str, str],
                        trial: tuple[int, int] | None, payment_method: str | None,
                        automatic_tax: bool, billing_mode: Obj) -> Obj:
    return {
        "id": subscription_id, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": automatic_tax, "liability": None},
        "billing_cycle_anchor": trial[1] if trial else created,
        "billing_cycle_anchor_config": None,
        "billing_mode": billing_mode,
        "billing_schedules": [], "billing_thresholds": None, "cancel_at": None,
        "cancel_at_period_end": False, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": created, "currency": "usd",
        "customer": customer_id, "customer_account": None, "days_until_due": None,
        "default_payment_method": payment_method, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(items, f"/v1/subscription_items?subscription={subscription_id}"),
        "latest_invoice": None, "livemode": False, "metadata": metadata,
        "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None,
        "pending_update": None, "schedule": None, "start_date": created, "status": status,
        "test_clock": None, "transfer_data": None,
        "trial_end": trial[1] if trial else None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": trial[0] if trial else None,
    }


def line_object(line_id: str, invoice_id: str, item: Obj, *, amount: int,
                quantity: int, period: tuple[int, int], proration: bool,
                description: str) -> Obj:
    """One invoice line for a subscription item (its period's fee, its metered usage, or a
    proration)."""
    price = item["price"]
    return {
        "id": line_id, "object": "line_item", "amount": amount, "currency": "usd",
        "description": description, "discount_amounts": [], "discountable": not proration,
        "discounts": [], "invoice": invoice_id, "livemode": False, "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None, "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": item["subscription"], "subscription_item": item["id"]},
            "type": "subscription_item_details"},
        "period": {"end": period[1], "start": period[0]}, "pretax_credit_amounts": [],
        "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details",
                    "unit_amount_decimal": price["unit_amount_decimal"]},
        "quantity": quantity, "subtotal": amount, "taxes": [],
    }


def invoice_object(invoice_id: str, customer: Obj, subscription: Obj, created: int, *,
                   lines: list[Obj], period: tuple[int, int], billing_reason: str,
                   number: str) -> Obj:
    """A draft-to-be-finalized subscription invoice; `settle` fills in its outcome."""
    total = sum(line["amount"] for line in lines)
    return {
        "id": invoice_id, "object": "invoice", "account_country": "US",
        "account_name": "Oracle Platform (devnet)", "account_tax_ids": None,
        "amount_due": total, "amount_overpaid": 0, "amount_paid": 0,
        "amount_paid_off_stripe": 0, "amount_remaining": total, "amount_shipping": 0,
        "application": None, "attempt_count": 0, "attempted": False, "auto_advance": True,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None,
                          "provider": None, "status": None},
        "automatically_finalizes_at": None, "billing_reason": billing_reason,
        "collection_method": "charge_automatically", "confirmation_secret": None,
        "created": created, "currency": "usd", "custom_fields": None,
        "customer": customer["id"], "customer_account": None, "customer_address": None,
        "customer_email": customer["email"], "customer_name": customer["name"],
        "customer_phone": None, "customer_shipping": None, "customer_tax_exempt": "none",
        "customer_tax_ids": [], "default_payment_method": None, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [], "due_date": None,
        "effective_at": created, "ending_balance": None, "footer": None, "from_invoice": None,
        "hosted_invoice_url": None, "invoice_pdf": None, "issuer": {"type": "self"},
        "last_finalization_error": None, "latest_revision": None,
        "lines": list_object(lines, f"/v1/invoices/{invoice_id}/lines"),
        "livemode": False, "metadata": {}, "next_payment_attempt": None, "number": number,
        "on_behalf_of": None,
        "parent": {"quote_details": None,
                   "subscription_details": {"metadata": dict(subscription["metadata"]),
                                            "subscription": subscription["id"]},
                   "type": "subscription_details"},
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": period[1], "period_start": period[0],
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "receipt_number": None, "rendering": None, "shipping_cost": None,
        "shipping_details": None, "starting_balance": 0, "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                               "paid_at": None, "voided_at": None},
        "subtotal": total, "subtotal_excluding_tax": total, "test_clock": None,
        "total": total, "total_discount_amounts": [], "total_excluding_tax": total,
        "total_pretax_credit_amounts": [], "total_taxes": [], "webhooks_delivered_at": created,
    }


def checkout_session_object(session_id: str, created: int, *, customer: str, url: str,
                            success_url: str, cancel_url: str | None,
                            client_reference_id: str | None, metadata: dict[str, str],
                            allow_promotion_codes: bool | None, automatic_tax: bool,
                            amount: int) -> Obj:
    return {
        "id": session_id, "object": "checkout.session", "adaptive_pricing": None,
        "after_expiration": None, "allow_promotion_codes": allow_promotion_codes,
        "amount_subtotal": amount, "amount_total": amount,
        "automatic_tax": {"enabled": automatic_tax, "liability": None, "provider": None,
                          "status": "requires_location_inputs" if automatic_tax else None},
        "billing_address_collection": None, "cancel_url": cancel_url,
        "client_reference_id": client_reference_id, "client_secret": None,
        "collected_information": None, "consent": None, "consent_collection": None,
        "created": created, "currency": "usd", "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": customer, "customer_account": None, "customer_creation": None,
        "customer_details": None, "customer_email": None, "discounts": [],
        "expires_at": created + 24 * 3600, "invoice": None, "invoice_creation": None,
        "livemode": False, "locale": None, "metadata": metadata, "mode": "subscription",
        "payment_intent": None, "payment_link": None, "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False}, "recovered_from": None,
        "saved_payment_method_options": None, "setup_intent": None,
        "shipping_address_collection": None, "shipping_cost": None, "shipping_options": [],
        "status": "open", "submit_type": None, "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page", "url": url, "wallet_options": None,
    }


def portal_session_object(session_id: str, created: int, *, customer: str, url: str,
                          return_url: str | None) -> Obj:
    return {
        "id": session_id, "object": "billing_portal.session",
        "configuration": "bpc_devnet_default", "created": created, "customer": customer,
        "customer_account": None, "flow": None, "livemode": False, "locale": None,
        "on_behalf_of": None, "return_url": return_url, "url": url,
    }


def balance_transaction_object(transaction_id: str, created: int, *, customer: str,
                               amount: int, currency: str, ending_balance: int,
                               type_: str, description: str | None,
                               metadata: dict[str, str], invoice: str | None = None) -> Obj:
    return {
        "id": transaction_id, "object": "customer_balance_transaction", "amount": amount,
        "checkout_session": None, "created": created, "credit_note": None,
        "currency": currency, "customer": customer, "customer_account": None,
        "description": description, "ending_balance": ending_balance, "invoice": invoice,
        "livemode": False, "metadata": metadata, "type": type_,
    }


def meter_event_object(created: int, *, event_name: str, identifier: str,
                       payload: dict[str, str], timestamp: int) -> Obj:
    return {"object": "billing.meter_event", "created": created, "event_name": event_name,
            "identifier": identifier, "livemode": False, "payload": payload,
            "timestamp": timestamp}


def event_object(event_id: str, created: int, type_: str, data: Obj,
                 request: tuple[str | None, str | None]) -> Obj:
    """`request` is (request id, idempotency key): both null for what Stripe does on its own
    (renewals, checkout pages), set when an API request caused the event."""
    return {
        "id": event_id, "object": "event", "api_version": stripe.api_version,
        "created": created, "data": data, "livemode": False, "pending_webhooks": 1,
        "request": {"id": request[0], "idempotency_key": request[1]}, "type": type_,
    }
