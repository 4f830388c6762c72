"""Prices on screen: exact values kept (as the title), shown at a readable precision."""
from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import format_html

register = template.Library()
DIGITS = 8


@register.filter
def price(value: object) -> str:
    """Up to 8 decimals for prices of 1 and more, 8 significant digits below; the exact value
    on hover. Prices are strings in the state cache: never floats."""
    if value in (None, ""):
        return "—"
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if exact == 0:
        shown = "0"
    elif abs(exact) >= 1:
        shown = f"{exact.quantize(Decimal(1).scaleb(-DIGITS)):f}".rstrip("0").rstrip(".")
    else:
        small = abs(exact) < Decimal("1e-4")
        shown = f"{exact:.{DIGITS - 1}e}" if small else f"{exact:.{DIGITS}g}"
    return format_html('<span title="{}">{}</span>', f"{exact:f}", shown)
