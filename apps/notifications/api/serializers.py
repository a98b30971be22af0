"""Serializers shared by the notification APIs: one notification as the customer sees it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.notification_templates import render_notification
from portal.fields import EnumField, wire_choices

NOTIFICATION_TYPES = wire_choices(NotificationType.choices)
NOTIFICATION_SOURCES = wire_choices(NotificationSource.choices)


class NotificationOutputSerializer(serializers.Serializer):
    """Title, message and action label are rendered in the request's language from the type's
    template and the stored parameters; the stored English text is the fallback when the type has
    no template (or no message variant fits the parameters). ``source_id`` and the parameters
    are internal and not exposed."""

    id = serializers.UUIDField()
    type = EnumField(choices=NotificationType.choices)
    title = serializers.CharField()
    message = serializers.CharField(allow_null=True)
    action_url = serializers.CharField(allow_null=True)
    action_label = serializers.CharField(allow_null=True)
    # The metaclass moves declared fields off the class; mypy only sees Field.source.
    source = EnumField(choices=NotificationSource.choices)  # type: ignore[assignment]
    read = serializers.BooleanField()
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Notification"

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        context = instance.context if isinstance(instance.context, dict) else {}
        try:
            rendered = render_notification(instance.type, context)
        except (TypeError, ValueError, KeyError):
            rendered = None
        if rendered is not None:
            data["title"] = rendered.title
            if rendered.message is not None:
                data["message"] = rendered.message
            if rendered.action_label is not None:
                data["action_label"] = rendered.action_label
        return data
