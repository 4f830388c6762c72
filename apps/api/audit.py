"""The API for the audit log: read-only, newest first, within the caller's organization. Read by
owners' and admins' sessions and by read-write keys (keys have no role)."""
from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import ALLOWED_ROLES, Action
from apps.api_keys.authentication import principal_of
from apps.audit.actions import ACTIONS, GROUPS
from apps.audit.models import AuditEvent
from apps.audit.selectors import events_for
from apps.common.api import NewestFirst, ZonedDateTimeField, documented


class AuditEventSerializer(serializers.ModelSerializer):
    before = serializers.JSONField(allow_null=True, help_text="The changed fields as they were")
    after = serializers.JSONField(allow_null=True, help_text="The changed fields as they are")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "action", "target_type", "target_id", "target_repr",
                  "before", "after", "via", "actor_email", "api_key_prefix", "ip"]


class AuditQuerySerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[*GROUPS, *ACTIONS], required=False)
    actor = serializers.CharField(required=False, max_length=254)
    since = ZonedDateTimeField(required=False)
    until = ZonedDateTimeField(required=False)

    def validate(self, attrs: dict) -> dict:
        if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"since": "Must be before `until`."})
        return attrs


EXAMPLE = {"id": 41, "created_at": "2026-11-26T18:00:00Z", "action": "members.role_changed",
           "target_type": "accounts.membership", "target_id": "12",
           "target_repr": "ana@example.com", "before": {"role": "member"},
           "after": {"role": "admin"}, "via": "session", "actor_email": "owner@example.com",
           "api_key_prefix": "", "ip": "203.0.113.7"}


class AuditEventList(generics.ListAPIView):
    serializer_class = AuditEventSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[AuditEvent]:
        principal = principal_of(self.request)
        allowed = principal.can_write if principal.key_id is not None \
            else principal.role in ALLOWED_ROLES[Action.VIEW_AUDIT]
        if not allowed:
            raise exceptions.PermissionDenied("The audit log is read by owners, admins and "
                                              "read-write keys.")
        # A plain dict: from a QueryDict, DRF would read `until=` as "not given".
        query = AuditQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        return events_for(principal.organization_id, action_prefix=filters.get("action"),
                          actor=filters.get("actor"), since=filters.get("since"),
                          until=filters.get("until"))

    @documented(
        "Your organization's audit log, newest first: who (`actor_email`, or the key's "
        "`api_key_prefix`; `via` session, api_key or system) changed what (`action`, the "
        "target, the changed fields `before` and `after`; secrets never), when and from which "
        "`ip`. Owners, admins and read-write keys only.", EXAMPLE,
        response=AuditEventSerializer(many=True), errors=(400, 401, 403, 429), parameters=[
            OpenApiParameter("action", str, description="A group (`api_keys`) or one action "
                             "(`api_keys.created`)", enum=[*GROUPS, *ACTIONS]),
            OpenApiParameter("actor", str, description="A member's email or a key's prefix"),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="From this time on"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Before this time")])
    def get(self, request: Request) -> Response:
        return super().get(request)
