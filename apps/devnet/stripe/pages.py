"""The double's hosted pages: Checkout and the Customer Portal, plain server-rendered HTML
(forms, no JavaScript)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import Any

from .objects import CARD_THAT_FAILS_RENEWALS

Obj = dict[str, Any]
STYLE = ("body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
         "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;"
         "border-bottom:1px solid #ddd}form{display:inline}button{margin:.3rem .3rem .3rem 0}"
         ".note{color:#555}")


def page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{STYLE}</style><h1>{escape(title)}</h1>"
            "<p class=note>Stripe double (devnet): no money moves.</p>"
            f"{body}</html>").encode()


def price_label(price: Obj) -> str:
    interval = price["recurring"]["interval"]
    per_unit = Decimal(price["unit_amount_decimal"]) / 100
    if price["recurring"]["usage_type"] == "metered":
        return f"${per_unit:f} per call, billed monthly in arrears"
    return f"${per_unit:.2f} / {interval}"


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def checkout_page(session: Obj, line_items: list[tuple[Obj, int | None]],
                  trial_days: int | None, customer: Obj) -> bytes:
    if session["status"] != "open":
        return page("Checkout", "<p>This Checkout Session is no longer active.</p>")
    rows = "".join(
        f"<tr><td>{escape(price['nickname'] or price['id'])}</td>"
        f"<td>{'' if quantity is None else quantity}</td>"
        f"<td>{escape(price_label(price))}</td></tr>"
        for price, quantity in line_items)
    trial = (f"<p><strong>{trial_days}-day free trial</strong>: nothing is charged today.</p>"
             if trial_days else "")
    cancel = (f"<p><a href=\"{escape(session['cancel_url'])}\">Cancel and go back</a></p>"
              if session["cancel_url"] else "")
    body = (
        f"<p>Subscribing {escape(customer.get('email') or customer['id'])}</p>"
        f"<table><tr><th>Item</th><th>Qty</th><th>Price</th></tr>{rows}</table>{trial}"
        "<form method=post><input type=hidden name=card value=4242>"
        "<button>Pay</button></form>"
        f"<form method=post><input type=hidden name=card value={CARD_THAT_FAILS_RENEWALS}>"
        "<button>Pay with a card that will fail renewals</button></form>"
        "<p class=note>Card: Visa ending 4242 (or 0341, which declines at renewal).</p>"
        f"{cancel}")
    return page("Checkout", body)


def portal_page(session: Obj, customer: Obj, subscriptions: list[Obj],
                prices: list[Obj]) -> bytes:
    sections = []
    for subscription in subscriptions:
        licensed = [i for i in subscription["items"]["data"]
                    if i["price"]["recurring"]["usage_type"] == "licensed"]
        current = licensed[0]["price"]["id"] if licensed else ""
        # the next renewal (the earliest item period end, on mixed intervals)
        ends = _date(min(i["current_period_end"] for i in subscription["items"]["data"]))
        options = "".join(f"<option value={escape(p['id'])}>{escape(p['nickname'] or p['id'])}"
                          f" — {escape(price_label(p))}</option>"
                          for p in prices if p["id"] != current)
        hidden = f"<input type=hidden name=subscription value={escape(subscription['id'])}>"
        if subscription["cancel_at"]:
            note = " (the end of the period)" if subscription["cancel_at_period_end"] else ""
            toggle = (f"<p>Cancels on {_date(subscription['cancel_at'])}{note}.</p>"
                      "<form method=post>"
                      f"{hidden}<input type=hidden name=action value=uncancel>"
                      "<button>Don't cancel</button></form>")
        else:
            toggle = (f"<p>Renews {ends}.</p><form method=post>{hidden}"
                      "<input type=hidden name=action value=cancel>"
                      "<button>Cancel at period end</button></form>")
        switch = (f"<form method=post>{hidden}<input type=hidden name=action value=switch>"
                  f"<select name=price>{options}</select> <button>Switch plan</button>"
                  "</form><p class=note>The change is prorated.</p>" if options else "")
        items = "".join(f"<li>{escape(i['price']['nickname'] or i['price']['id'])}: "
                        f"{escape(price_label(i['price']))}</li>"
                        for i in subscription["items"]["data"])
        sections.append(f"<h2>Subscription {escape(subscription['id'])}: "
                        f"{escape(subscription['status'])}</h2><ul>{items}</ul>{toggle}{switch}")
    body = (f"<p>{escape(customer.get('email') or customer['id'])}</p>"
            + ("".join(sections) or "<p>No subscription.</p>")
            + (f"<p><a href=\"{escape(session['return_url'])}\">Return</a></p>"
               if session["return_url"] else ""))
    return page("Billing portal", body)


def notice(title: str, text: str) -> bytes:
    return page(title, f"<p>{escape(text)}</p>")


def not_found(what: str) -> bytes:
    return notice("Not found", f"No such {what}.")
