from __future__ import annotations

from rest_framework import serializers

from .models import ApiKey


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    replaces: serializers.PrimaryKeyRelatedField[ApiKey] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scope", "active", "created_at", "created_by",
                  "expires_at", "revoked_at", "replaces", "last_used_at", "last_used_ip"]

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
