"""The WHMCS mirror: a customer's services, invoices and stored payment methods, as WHMCS last
reported them (``apps.billing.services`` keeps them fresh). WHMCS is the system of record; every
customer read is served from these tables.

The tables were created by ``apps.integrations`` and keep their names (``db_table``): the models
moved to this app in state only (``migrations/0001_initial.py``), so no row was copied or lost.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WhmcsMirror(models.Model):
    """Common columns of a WHMCS record mirrored for one customer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("customer"))
    whmcs_id = models.PositiveIntegerField(_("WHMCS ID"), unique=True)
    synced_at = models.DateTimeField(_("last synced at"), default=timezone.now)

    class Meta:
        abstract = True


class WhmcsService(WhmcsMirror):
    """A WHMCS service (``GetClientsProducts``): what the customer has and pays for."""

    class Status(models.TextChoices):
        PENDING = "Pending", _("Pending")
        ACTIVE = "Active", _("Active")
        SUSPENDED = "Suspended", _("Suspended")
        TERMINATED = "Terminated", _("Terminated")
        CANCELLED = "Cancelled", _("Cancelled")
        FRAUD = "Fraud", _("Fraud")
        COMPLETED = "Completed", _("Completed")

    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("product")
    )
    whmcs_product_id = models.PositiveIntegerField(_("WHMCS product ID"))
    whmcs_order_id = models.PositiveIntegerField(_("WHMCS order ID"), null=True, blank=True)
    name = models.CharField(_("name"), max_length=255)
    product_type = models.CharField(_("product type"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    billing_cycle = models.CharField(_("billing cycle"), max_length=30, blank=True)
    recurring_amount = models.DecimalField(_("recurring amount"), max_digits=12, decimal_places=2, default=0)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    next_due_on = models.DateField(_("next due on"), null=True, blank=True)

    class Meta:
        db_table = "integrations_whmcsservice"
        verbose_name = _("WHMCS service")
        verbose_name_plural = _("WHMCS services")
        ordering = ["-registered_on", "-whmcs_id"]
        indexes = [models.Index(fields=["user", "status"], name="whmcs_service_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} (#{self.whmcs_id})"


class WhmcsInvoice(WhmcsMirror):
    """A WHMCS invoice (``GetInvoices``)."""

    class Status(models.TextChoices):
        DRAFT = "Draft", _("Draft")
        UNPAID = "Unpaid", _("Unpaid")
        PAID = "Paid", _("Paid")
        CANCELLED = "Cancelled", _("Cancelled")
        REFUNDED = "Refunded", _("Refunded")
        COLLECTIONS = "Collections", _("Collections")
        PAYMENT_PENDING = "Payment Pending", _("Payment pending")

    number = models.CharField(_("invoice number"), max_length=50, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2, default=0)
    tax = models.DecimalField(_("tax"), max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    currency_code = models.CharField(_("currency"), max_length=3, default="JPY")

    class Meta:
        db_table = "integrations_whmcsinvoice"
        verbose_name = _("WHMCS invoice")
        verbose_name_plural = _("WHMCS invoices")
        ordering = ["-issued_on", "-whmcs_id"]
        indexes = [models.Index(fields=["user", "status", "due_on"], name="whmcs_invoice_due_idx")]

    def __str__(self) -> str:
        return f"Invoice {self.number or self.whmcs_id}"


class WhmcsPaymentMethod(WhmcsMirror):
    """A stored payment method (``GetPayMethods``). Only display data is kept, never card numbers."""

    class Type(models.TextChoices):
        CREDIT_CARD = "CreditCard", _("Credit card")
        REMOTE_CREDIT_CARD = "RemoteCreditCard", _("Credit card (gateway)")
        BANK_ACCOUNT = "BankAccount", _("Bank account")
        REMOTE_BANK_ACCOUNT = "RemoteBankAccount", _("Bank account (gateway)")

    type = models.CharField(_("type"), max_length=30, choices=Type.choices)
    description = models.CharField(_("description"), max_length=255, blank=True)
    gateway_name = models.CharField(_("gateway"), max_length=100, blank=True)
    card_type = models.CharField(_("card type"), max_length=50, blank=True)
    card_last_four = models.CharField(_("card last four"), max_length=4, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    bank_name = models.CharField(_("bank name"), max_length=100, blank=True)

    class Meta:
        db_table = "integrations_whmcspaymentmethod"
        verbose_name = _("WHMCS payment method")
        verbose_name_plural = _("WHMCS payment methods")
        ordering = ["whmcs_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(card_last_four="") | Q(card_last_four__regex=r"^[0-9]{4}$"),
                name="whmcs_paymethod_last_four_digits",
            )
        ]

    def __str__(self) -> str:
        return self.description or f"{self.type} #{self.whmcs_id}"
