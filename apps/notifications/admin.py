from django.contrib import admin

from apps.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "type", "source", "read", "dismissed", "created_at", "expires_at")
    list_filter = ("type", "source", "read", "dismissed")
    search_fields = ("title", "user__email", "source_id")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    date_hierarchy = "created_at"
