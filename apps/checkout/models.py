"""Mirrors of Salesforce Orders and OrderItems placed through the portal."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import BillingCycle, Product, ProductType
from apps.opportunities.models import Opportunity


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_REVIEW = "pending_review", _("Pending Review")
    APPROVED = "approved", _("Approved")
    ACTIVATED = "activated", _("Activated")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class ActivationStatus(models.TextChoices):
    NONE = "", _("Not started")
    PENDING_REVIEW = "pending_review", _("Pending Review")
    ACTIVATING = "activating", _("Activating")
    # The flow review (000) says "Activated"; the older requirements (004) say "Provisioned".
    # The field map translates; set SF_FIELD_MAP_OVERRIDES for an org that uses the older value.
    ACTIVATED = "activated", _("Activated")
    FAILED = "failed", _("Failed")


class Order(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders", verbose_name=_("customer")
    )
    opportunity = models.ForeignKey(
        Opportunity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        verbose_name=_("opportunity"),
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, help_text=_("The Idempotency-Key the customer sent.")
    )
    idempotency_fingerprint = models.CharField(
        _("request fingerprint"),
        max_length=64,
        blank=True,
        help_text=_("SHA-256 of the request that placed the order; a repeat must match it."),
    )
    salesforce_id = models.CharField(_("Salesforce ID"), max_length=18, unique=True, null=True, blank=True)
    order_number = models.CharField(_("order number"), max_length=30, blank=True)
    product_type = models.CharField(_("product type"), max_length=20, choices=ProductType.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT
    )
    activation_status = models.CharField(
        _("activation status"), max_length=20, choices=ActivationStatus.choices, blank=True
    )
    activation_error_code = models.CharField(_("activation error code"), max_length=100, blank=True)
    activation_error_message = models.TextField(_("activation error message"), blank=True)
    activation_error_at = models.DateTimeField(_("activation error time"), null=True, blank=True)
    whmcs_order_id = models.PositiveIntegerField(_("WHMCS order ID"), null=True, blank=True)
    # An agent's hold keeps the order in Pending Review until released; a rejection cancels it.
    held_at = models.DateTimeField(_("on hold since"), null=True, blank=True)
    hold_reason = models.TextField(_("hold reason"), blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    effective_date = models.DateField(_("effective date"))
    total_amount = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=0)
    currency_code = models.CharField(_("currency"), max_length=3, default="JPY")
    salesforce_modified_at = models.DateTimeField(_("Salesforce last modified"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="order_unique_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="order_user_created_idx"),
            models.Index(fields=["status", "created_at"], name="order_status_idx"),
        ]

    def __str__(self) -> str:
        return self.order_number or f"Order {self.pk}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    salesforce_id = models.CharField(_("Salesforce ID"), max_length=18, unique=True, null=True, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    billing_cycle = models.CharField(_("billing cycle"), max_length=20, choices=BillingCycle.choices)

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="order_item_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="order_item_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


from apps.checkout.models_fulfillment import FulfillmentRun  # noqa: E402,F401
