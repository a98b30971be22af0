"""The product catalog: a mirror of Salesforce Product2, synced incrementally on SystemModstamp."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProductType(models.TextChoices):
    INTERNET = "internet", _("Internet")
    SIM = "sim", _("SIM")
    VPN = "vpn", _("VPN")


class ItemClass(models.TextChoices):
    PLAN = "plan", _("Plan")
    INSTALLATION = "installation", _("Installation")
    ACTIVATION = "activation", _("Activation fee")
    ADD_ON = "add_on", _("Add-on")


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUALLY = "annually", _("Annually")
    ONE_TIME = "one_time", _("One-time")


class Product(models.Model):
    salesforce_id = models.CharField(_("Salesforce Product2 ID"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=255)
    sku = models.CharField(_("product code"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    product_type = models.CharField(_("product type"), max_length=20, choices=ProductType.choices)
    item_class = models.CharField(_("item class"), max_length=20, choices=ItemClass.choices)
    billing_cycle = models.CharField(_("billing cycle"), max_length=20, choices=BillingCycle.choices)
    whmcs_product_id = models.PositiveIntegerField(_("WHMCS product ID"), null=True, blank=True)
    config_options = models.JSONField(
        _("WHMCS config options"), default=dict, blank=True, help_text=_("Passed to WHMCS AddOrder.")
    )
    eligibility_offering = models.CharField(
        _("eligibility offering"),
        max_length=100,
        blank=True,
        help_text=_('Internet plans only: the eligibility result this plan is sold for, e.g. "Home 1G".'),
    )
    is_family_discount = models.BooleanField(
        _("family discount"),
        default=False,
        help_text=_("SIM plans offered only to customers with an active SIM."),
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency_code = models.CharField(_("currency"), max_length=3, default="JPY")
    display_order = models.PositiveIntegerField(_("display order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    salesforce_modified_at = models.DateTimeField(_("Salesforce last modified"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced"), default=timezone.now)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["product_type", "item_class", "display_order", "name"]
        indexes = [
            models.Index(fields=["product_type", "item_class", "is_active"], name="product_listing_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name
