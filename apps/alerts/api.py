"""The API for webhook endpoints: create (the secret is returned once), change, delete,
rotate the secret, send a test event, list messages with their attempts, redeliver. Always
within the caller's organization; writes need a read-write key or a member's session."""
from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Organization
from oracle_platform.api import NewestFirst, documented

from . import serializers as s
from . import services
from .models import DeliveryAttempt, WebhookEndpoint, WebhookMessage

EXAMPLE = {"id": 3, "url": "https://risk.example.com/hooks/oracles", "description": "risk desk",
           "events": ["alert.opened", "alert.resolved"], "pairs": [], "enabled": True,
           "disabled_reason": "", "failing_since": None, "created_at": "2026-11-26T18:00:00Z"}
EXAMPLE_NEW = {**EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
EXAMPLE_INPUT = {"url": "https://risk.example.com/hooks/oracles", "description": "risk desk",
                 "events": ["alert.opened", "alert.resolved"], "pairs": []}
EXAMPLE_MESSAGE = {
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "event_type": "alert.opened",
    "body": '{"type":"alert.opened","timestamp":"2026-11-26T18:00:00+00:00","data":{}}',
    "status": "delivered", "created_at": "2026-11-26T18:00:00Z", "attempts_made": 2,
    "next_attempt_at": "2026-11-26T18:00:05Z", "delivered_at": "2026-11-26T18:00:06Z",
    "recent_attempts": [{"started_at": "2026-11-26T18:00:06Z", "status_code": 200,
                         "latency_ms": 84, "response_snippet": "ok", "error": ""}]}


def _endpoints(request: Request) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization_id=request.user.organization_id)


def _endpoint(request: Request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(_endpoints(request), pk=endpoint_id)


def _with_secret(endpoint: WebhookEndpoint) -> dict:
    return {**s.WebhookEndpointSerializer(endpoint).data, "secret": endpoint.secret}


class WebhookList(generics.ListAPIView):
    serializer_class = s.WebhookEndpointSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return _endpoints(self.request)

    @documented("Your organization's webhook endpoints.", EXAMPLE,
                response=s.WebhookEndpointSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)

    @documented("Add an endpoint. The response holds its signing secret (also after a "
                "rotation; never in lists). The URL must be public: private, loopback and "
                "link-local addresses are refused.", EXAMPLE_NEW, status=201,
                request=s.WebhookEndpointInputSerializer, request_example=EXAMPLE_INPUT,
                response=s.NewWebhookEndpointSerializer, errors=(400, 401, 403, 429))
    def post(self, request: Request) -> Response:
        form = s.WebhookEndpointInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        endpoint = services.create_endpoint(
            Organization.objects.get(pk=request.user.organization_id), url=data["url"],
            events=data["events"], pairs=data["pairs"], description=data["description"])
        return Response(_with_secret(endpoint), status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    @documented("One endpoint.", EXAMPLE, response=s.WebhookEndpointSerializer)
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(s.WebhookEndpointSerializer(_endpoint(request, endpoint_id)).data)

    @documented("Change an endpoint (all fields, as on creation). Enabling a disabled endpoint "
                "resumes its pending messages.", EXAMPLE, request=s.WebhookEndpointInputSerializer,
                request_example={**EXAMPLE_INPUT, "enabled": True},
                response=s.WebhookEndpointSerializer, errors=(400, 401, 403, 404, 429))
    def put(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(request, endpoint_id)
        form = s.WebhookEndpointInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.update_endpoint(endpoint, **form.validated_data)
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @documented("Delete an endpoint and its message history.", None, status=204,
                errors=(401, 403, 404, 429))
    def delete(self, request: Request, endpoint_id: int) -> Response:
        _endpoint(request, endpoint_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecret(APIView):
    @documented("A new signing secret. For 24 hours messages carry a signature under the old "
                "one too, so receivers can switch without missing any.", EXAMPLE_NEW,
                request=None, response=s.NewWebhookEndpointSerializer,
                errors=(401, 403, 404, 429))
    def post(self, request: Request, endpoint_id: int) -> Response:
        return Response(_with_secret(services.rotate_secret(_endpoint(request, endpoint_id))))


class WebhookTest(APIView):
    @documented("Queue a `webhook.test` event to this endpoint now; see it under messages.",
                {**EXAMPLE_MESSAGE, "event_type": "webhook.test", "status": "pending",
                 "attempts_made": 0, "delivered_at": None, "recent_attempts": []},
                request=None, response=s.WebhookMessageSerializer, status=202,
                errors=(401, 403, 404, 429))
    def post(self, request: Request, endpoint_id: int) -> Response:
        message = services.send_test(_endpoint(request, endpoint_id))
        return Response(s.WebhookMessageSerializer(message).data,
                        status=status.HTTP_202_ACCEPTED)


class WebhookMessages(generics.ListAPIView):
    serializer_class = s.WebhookMessageSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[WebhookMessage]:
        endpoint = _endpoint(self.request, self.kwargs["endpoint_id"])
        return endpoint.messages.prefetch_related(Prefetch(
            "delivery_attempts", queryset=DeliveryAttempt.objects.order_by("-started_at")))

    @documented("The endpoint's messages, newest first, each with its latest attempts (status, "
                "latency, the start of the response).", EXAMPLE_MESSAGE,
                response=s.WebhookMessageSerializer(many=True))
    def get(self, request: Request, endpoint_id: int) -> Response:
        return super().get(request, endpoint_id=endpoint_id)


class WebhookRedeliver(APIView):
    @documented("Send a message again now, with the same `webhook-id`.",
                {**EXAMPLE_MESSAGE, "status": "pending"}, request=None,
                response=s.WebhookMessageSerializer, status=202, errors=(401, 403, 404, 429))
    def post(self, request: Request, endpoint_id: int, msg_id: str) -> Response:
        message = get_object_or_404(_endpoint(request, endpoint_id).messages, msg_id=msg_id)
        return Response(s.WebhookMessageSerializer(services.redeliver(message)).data,
                        status=status.HTTP_202_ACCEPTED)
