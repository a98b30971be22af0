"""In-app notifications: ``Notification`` with its types, sources and indexes."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationType(models.TextChoices):
    ELIGIBILITY_ELIGIBLE = "ELIGIBILITY_ELIGIBLE", _("Eligibility confirmed")
    ELIGIBILITY_INELIGIBLE = "ELIGIBILITY_INELIGIBLE", _("Eligibility denied")
    VERIFICATION_VERIFIED = "VERIFICATION_VERIFIED", _("ID verified")
    VERIFICATION_REJECTED = "VERIFICATION_REJECTED", _("ID rejected")
    ORDER_APPROVED = "ORDER_APPROVED", _("Order approved")
    ORDER_ACTIVATED = "ORDER_ACTIVATED", _("Order activated")
    ORDER_FAILED = "ORDER_FAILED", _("Order failed")
    ORDER_REJECTED = "ORDER_REJECTED", _("Order rejected")
    ORDER_ON_HOLD = "ORDER_ON_HOLD", _("Order on hold")
    ORDER_HOLD_RELEASED = "ORDER_HOLD_RELEASED", _("Order back in review")
    CANCELLATION_SCHEDULED = "CANCELLATION_SCHEDULED", _("Cancellation scheduled")
    CANCELLATION_COMPLETE = "CANCELLATION_COMPLETE", _("Cancellation complete")
    PAYMENT_METHOD_EXPIRING = "PAYMENT_METHOD_EXPIRING", _("Payment method expiring")
    INVOICE_DUE = "INVOICE_DUE", _("Invoice due")
    SYSTEM_ANNOUNCEMENT = "SYSTEM_ANNOUNCEMENT", _("System announcement")


class NotificationSource(models.TextChoices):
    SALESFORCE = "SALESFORCE", _("Salesforce")
    WHMCS = "WHMCS", _("WHMCS")
    PORTAL = "PORTAL", _("Portal")
    SYSTEM = "SYSTEM", _("System")


def default_expiry() -> datetime:
    return timezone.now() + settings.NOTIFICATION_RETENTION


class Notification(models.Model):
    """One in-app notification. Optional text columns are NULL (not ""), so "no message" and
    "an empty message" stay distinct."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("customer"),
        # The unread and feed indexes lead with user_id and serve its lookups: an index of its
        # own would be one more to write per insert and one more relation per day partition.
        db_index=False,
    )
    type = models.CharField(_("type"), max_length=40, choices=NotificationType.choices)
    title = models.CharField(_("title"), max_length=255)
    message = models.TextField(_("message"), null=True, blank=True)  # noqa: DJ001
    action_url = models.CharField(_("action URL"), max_length=500, null=True, blank=True)  # noqa: DJ001
    action_label = models.CharField(_("action label"), max_length=100, null=True, blank=True)  # noqa: DJ001
    source = models.CharField(
        _("source"), max_length=20, choices=NotificationSource.choices, default=NotificationSource.SALESFORCE
    )
    source_id = models.CharField(  # noqa: DJ001
        _("source ID"),
        max_length=255,
        null=True,
        blank=True,
        help_text=_("For deduplication, e.g. the Account ID."),
    )
    # The template parameters, so title and message can be rendered in
    # the reader's language (en/ja) at read time. ``title``/``message`` keep the English text.
    context = models.JSONField(_("template parameters"), default=dict, blank=True)
    read = models.BooleanField(_("read"), default=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    dismissed = models.BooleanField(_("dismissed"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), default=default_expiry)

    class Meta:
        db_table = "notifications"
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            # expires_at too: the capped unread count (dashboard) is an index-only scan.
            models.Index(fields=["user", "read", "dismissed", "expires_at"], name="notification_unread_idx"),
            # The bell's cursor pagination: newest first per customer, ``id`` breaking ties.
            models.Index(fields=["user", "-created_at", "-id"], name="notification_feed_idx"),
            models.Index(fields=["expires_at"], name="notification_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.title
