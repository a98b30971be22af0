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


class PriceMismatch(models.Model):
    """A product whose Salesforce price (the standard PricebookEntry the customer is quoted)
    differs from what WHMCS would bill by its own catalog (``GetProducts``), found by the
    catalog sync (``apps.catalog.pricing``). Fulfillment bills the quote anyway (AddOrder
    ``priceoverride``); these rows tell supervisors which catalog to correct. A row disappears
    when a later comparison finds the two agree."""

    class Kind(models.TextChoices):
        PRICE = "price", _("Price differs")
        SETUP_FEE = "setup_fee", _("WHMCS adds a setup fee")
        CYCLE_NOT_OFFERED = "cycle_not_offered", _("Billing cycle not offered in WHMCS")
        CURRENCY_MISSING = "currency_missing", _("No WHMCS pricing in this currency")
        PRODUCT_MISSING = "product_missing", _("No such WHMCS product")
        NOT_MAPPED = "not_mapped", _("No WHMCS product ID")

    #: Kinds that make AddOrder fail, not just bill another price.
    BLOCKING_KINDS = frozenset({Kind.CYCLE_NOT_OFFERED, Kind.PRODUCT_MISSING, Kind.NOT_MAPPED})

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="price_mismatches", verbose_name=_("product")
    )
    kind = models.CharField(_("difference"), max_length=30, choices=Kind.choices)
    whmcs_product_id = models.PositiveIntegerField(_("WHMCS product ID"), null=True, blank=True)
    billing_cycle = models.CharField(_("billing cycle"), max_length=20, choices=BillingCycle.choices)
    currency_code = models.CharField(_("currency"), max_length=3)
    salesforce_price = models.DecimalField(_("Salesforce price"), max_digits=12, decimal_places=2)
    whmcs_price = models.DecimalField(
        _("WHMCS price"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    whmcs_setup_fee = models.DecimalField(
        _("WHMCS setup fee"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    checked_at = models.DateTimeField(_("last checked"), default=timezone.now)

    class Meta:
        verbose_name = _("price mismatch")
        verbose_name_plural = _("price mismatches")
        ordering = ["product__product_type", "product__name", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["product", "kind"], name="price_mismatch_product_kind_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.get_kind_display()}"
