"""Notification APIs: the customer's bell (list, unread count) and its actions (read, read all,
dismiss). All require a signed-in customer and only ever see or change that customer's rows;
another customer's notification answers 404, exactly like one that does not exist."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.notifications.api.serializers import NotificationOutputSerializer
from apps.notifications.models import Notification
from apps.notifications.selectors import UNREAD_COUNT_CAP, notification_list, notification_unread_count
from apps.notifications.services import (
    notification_dismiss,
    notification_mark_all_read,
    notification_mark_read,
)
from portal.pagination import FeedCursorPagination


class NotificationPagination(FeedCursorPagination):
    """The bell's cursor pagination (``cursor``, ``page_size``), newest first."""


def _user_id(request: Request) -> int:
    user_id = request.user.pk
    assert isinstance(user_id, int)
    return user_id


class NotificationListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        next = serializers.URLField(
            allow_null=True, help_text="The next (older) page's URL with its `cursor`; null on the last page."
        )
        previous = serializers.URLField(
            allow_null=True,
            help_text="The previous (newer) page's URL with its `cursor`; null on the first page.",
        )
        results = NotificationOutputSerializer(many=True)

        class Meta:
            ref_name = "NotificationCursorPage"

    @extend_schema(
        operation_id="notifications_list",
        summary="The customer's notifications",
        description=(
            "Newest first; dismissed and expired notifications are left out. Cursor pagination: "
            "follow `next` (older) and `previous` (newer) as given; there is no `count` (the bell "
            "reads the unread count from `/api/notifications/unread-count`). A cursor that does "
            "not decode answers 404. Title, message and action label are in the request's "
            "language (`Accept-Language`: en or ja)."
        ),
        parameters=[
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Opaque position from a `next` or `previous` URL; leave out for the newest page.",
            ),
            OpenApiParameter(
                "page_size",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description=f"Items per page (default 20, at most {NotificationPagination.max_page_size}).",
            ),
        ],
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        paginator = NotificationPagination()
        page = paginator.paginate_queryset(notification_list(user_id=_user_id(request)), request, view=self)
        results = NotificationOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(results)


class NotificationUnreadCountApi(APIView):
    class OutputSerializer(serializers.Serializer):
        unread_count = serializers.IntegerField(
            min_value=0,
            max_value=UNREAD_COUNT_CAP,
            help_text=f"Counted up to {UNREAD_COUNT_CAP}: {UNREAD_COUNT_CAP} means that many or more (the portal shows "
            f'"{UNREAD_COUNT_CAP - 1}+").',
        )

        class Meta:
            ref_name = "NotificationUnreadCount"

    @extend_schema(
        operation_id="notifications_unread_count",
        summary="How many of the customer's notifications are unread",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        count = notification_unread_count(user_id=_user_id(request))
        return Response(self.OutputSerializer({"unread_count": count}).data)


class NotificationReadApi(APIView):
    OutputSerializer = NotificationOutputSerializer

    @extend_schema(
        operation_id="notifications_read",
        summary="Mark a notification read",
        request=None,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request, notification_id: UUID) -> Response:
        try:
            notification = notification_mark_read(user_id=_user_id(request), notification_id=notification_id)
        except Notification.DoesNotExist as exc:
            raise NotFound() from exc
        return Response(self.OutputSerializer(notification).data)


class NotificationReadAllApi(APIView):
    class OutputSerializer(serializers.Serializer):
        updated = serializers.IntegerField()

        class Meta:
            ref_name = "NotificationReadAll"

    @extend_schema(
        operation_id="notifications_read_all",
        summary="Mark all of the customer's notifications read",
        description="`updated` is how many unread notifications were marked read.",
        request=None,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        updated = notification_mark_all_read(user_id=_user_id(request))
        return Response(self.OutputSerializer({"updated": updated}).data)


class NotificationDismissApi(APIView):
    @extend_schema(
        operation_id="notifications_dismiss",
        summary="Dismiss a notification",
        description="The notification disappears from the list and the unread count for good.",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request, notification_id: UUID) -> Response:
        try:
            notification_dismiss(user_id=_user_id(request), notification_id=notification_id)
        except Notification.DoesNotExist as exc:
            raise NotFound() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
