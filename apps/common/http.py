"""The request as views see it after middleware, for annotations: django-stubs' HttpRequest
knows nothing of the attributes middleware adds."""
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """After django_htmx's HtmxMiddleware: `request.htmx` is truthy for htmx's own requests."""

    htmx: HtmxDetails
