from django.urls import path

from apps.notifications.api.views import (
    NotificationDismissApi,
    NotificationListApi,
    NotificationReadAllApi,
    NotificationReadApi,
    NotificationUnreadCountApi,
)

app_name = "notifications"

urlpatterns = [
    path("notifications", NotificationListApi.as_view(), name="list"),
    path("notifications/unread-count", NotificationUnreadCountApi.as_view(), name="unread-count"),
    path("notifications/read-all", NotificationReadAllApi.as_view(), name="read-all"),
    path("notifications/<uuid:notification_id>/read", NotificationReadApi.as_view(), name="read"),
    path("notifications/<uuid:notification_id>/dismiss", NotificationDismissApi.as_view(), name="dismiss"),
]
