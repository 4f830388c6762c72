"""What every public API response shares: the error body, DRF's exception handler, cursor
pagination. Errors are always `{"error": {"code", "message", "details"}}`, never an HTML page."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, details), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def conditional_response(request: HttpRequest, body: tuple[str, str, bytes]) -> HttpResponse:
    """A pre-serialized JSON body (ETag, Last-Modified, bytes); 304 when the client's
    If-None-Match already names it."""
    etag, modified, content = body
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(content, content_type="application/json")
    response["ETag"] = etag
    response["Last-Modified"] = modified
    response["Cache-Control"] = "private, no-cache"
    return response


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF errors in the one error body; Django's ValidationError (from services) as a 400."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's handler500 answers with the JSON body for /api/
    # DRF answers only its own exceptions (Http404 and PermissionDenied were converted above).
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        message, details = "The request is invalid; see details.", response.data
        code = "invalid_request"
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        message = str(detail) or exc.__class__.__name__
        code = getattr(detail, "code", None) or exc.default_code
        details = {}
    response.data = error_body(str(code), message, details)
    return response


class CursorPagination(pagination.CursorPagination):
    """Opaque `cursor` links, stable under inserts; `limit` up to OP_API_MAX_PAGE_SIZE."""

    page_size = 100
    page_size_query_param = "limit"
    ordering = "id"

    @property
    def max_page_size(self) -> int:  # type: ignore[override]  # read-only: from settings, live
        return settings.OP_API_MAX_PAGE_SIZE

    def get_page_size(self, request: Any) -> int:
        """DRF ignores a bad `limit`; a client that sent one wants to know."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"limit": f"An integer from 1 to {self.max_page_size}."})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


class NewestFirst(CursorPagination):
    ordering = "-id"


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERRORS = {
    400: "The request is invalid (see `error.details`).",
    401: "No API key, or a malformed, unknown, revoked or expired one.",
    403: "The key's scope or the member's role does not allow this.",
    404: "No such resource (or not yours).",
    429: "Rate limit exceeded; `Retry-After` says when to retry.",
}


def documented(description: str, example: Any, *, response: Any = None, request: Any = None,
               parameters: Iterable[OpenApiParameter] = (), status: int = 200,
               errors: Iterable[int] = (400, 401, 404, 429), request_example: Any = None,
               ) -> Callable:
    """extend_schema with what every operation must have: a description, an example of its
    answer (a test fails without them) and the error responses it may give."""
    responses: dict = {status: response}
    responses.update({code: OpenApiResponse(ErrorSerializer, description=ERRORS[code])
                      for code in errors})
    examples = [OpenApiExample("Example", value=example, response_only=True,
                               status_codes=[str(status)])]
    if request_example is not None:
        examples.append(OpenApiExample("Request", value=request_example, request_only=True))
    return extend_schema(description=description, responses=responses, request=request,
                         parameters=list(parameters), examples=examples)


class ZonedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time string with its zone (`Z` or an offset): a naive one is refused,
    not read in the server's zone."""

    default_error_messages = {"naive": "A date-time with a zone, e.g. 2026-11-26T18:00:00Z."}

    def to_internal_value(self, value: object):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None and parsed.utcoffset() is None:
            self.fail("naive")
        return super().to_internal_value(value)
