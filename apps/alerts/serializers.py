from rest_framework import serializers

from apps.api_keys.serializers import TextField

from .models import DeliveryAttempt, WebhookEndpoint, WebhookMessage
from .services import SUBSCRIBABLE


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "pairs", "enabled", "disabled_reason",
                  "failing_since", "created_at"]


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_…: verify signatures with it. Shown on "
                                             "creation and rotation only")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = TextField(max_length=500)
    description = TextField(max_length=200, required=False, default="", allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE),
                                   allow_empty=False, max_length=len(SUBSCRIBABLE))
    pairs = serializers.ListField(child=TextField(max_length=41), required=False, default=list,
                                  max_length=200)
    enabled = serializers.BooleanField(required=False, default=True)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["started_at", "status_code", "latency_ms", "response_snippet", "error"]


class WebhookMessageSerializer(serializers.ModelSerializer):
    attempts_made = serializers.IntegerField(source="attempts")
    recent_attempts = serializers.SerializerMethodField()

    class Meta:
        model = WebhookMessage
        fields = ["msg_id", "event_type", "body", "status", "created_at", "attempts_made",
                  "next_attempt_at", "delivered_at", "recent_attempts"]

    def get_recent_attempts(self, message: WebhookMessage) -> list[dict]:
        return DeliveryAttemptSerializer(list(message.delivery_attempts.all())[:5],
                                         many=True).data
