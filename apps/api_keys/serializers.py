from __future__ import annotations

from rest_framework import serializers

from .models import ApiKey


def paused_reason_field(while_paused: str) -> serializers.CharField:
    """`paused_reason`, the same on every object a plan change may pause (keys, alert rules,
    webhook endpoints, channels): read-only, empty while the object is not paused."""
    return serializers.CharField(
        read_only=True, help_text=f"Why the plan pauses it ({while_paused}; kept, not deleted, "
                                  "and resumed when the plan allows it again); empty when not "
                                  "paused")


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    replaces: serializers.PrimaryKeyRelatedField[ApiKey] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True)
    active = serializers.SerializerMethodField()
    paused_reason = paused_reason_field("refused with 403 `key_paused`")

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scope", "active", "paused_reason", "created_at",
                  "created_by", "expires_at", "revoked_at", "replaces", "last_used_at",
                  "last_used_ip"]

    def get_active(self, key: ApiKey) -> bool:
        return key.usable()


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself: shown this once, never again")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class TextField(serializers.CharField):
    """A JSON string, not a number that could be turned into one."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CreateApiKeySerializer(serializers.Serializer):
    name = TextField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices, default=ApiKey.Scope.READ)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiUsageSerializer(serializers.Serializer):
    """One key's calls and bytes on one UTC day (summed from its hourly buckets)."""

    day = serializers.DateField()
    key = serializers.CharField(source="key_prefix")
    key_name = serializers.CharField()
    calls = serializers.IntegerField()
    response_bytes = serializers.IntegerField()
