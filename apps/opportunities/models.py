"""Mirrors of Salesforce Opportunities (the service lifecycle) and Cases (requests to agents).

A row may exist before Salesforce has it: the portal commits the row with an outbox entry and
``salesforce_id`` is filled in when the outbox delivers.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import ProductType


class OpportunityStage(models.TextChoices):
    # Labels are the Salesforce picklist values, translated for display (the field map writes the
    # org's own values); stored values are stable portal names.
    INTRODUCTION = "introduction", _("Introduction")
    READY = "ready", _("Ready")
    POST_PROCESSING = "post_processing", _("Post Processing")
    ACTIVE = "active", _("Active")
    PENDING = "pending", _("Pending")
    CANCELLING = "cancelling", _("△Cancelling")
    CANCELLED = "cancelled", _("〇Cancelled")
    VOID = "void", _("Void")


OPEN_STAGES = (OpportunityStage.INTRODUCTION, OpportunityStage.READY, OpportunityStage.POST_PROCESSING)
CLOSED_STAGES = (OpportunityStage.CANCELLED, OpportunityStage.VOID)

APPLICATION_STAGE_AT_CREATION = "INTRO-1"
"""``Application_Stage__c`` of every Opportunity the portal creates (flow review, field reference:
"Portal | Creation (INTRO-1)"); agents move it on in Salesforce."""


class CommodityType(models.TextChoices):
    PERSONAL_INTERNET = "personal_internet", _("Personal SonixNet Home Internet")
    CORPORATE_INTERNET = "corporate_internet", _("Corporate SonixNet Home Internet")
    SIM = "sim", _("SIM")
    VPN = "vpn", _("VPN")


class OpportunitySource(models.TextChoices):
    ELIGIBILITY_REQUEST = "portal_eligibility_request", _("Portal - Internet Eligibility Request")
    ORDER_PLACEMENT = "portal_order_placement", _("Portal - Order Placement")
    SALES_MANUAL = "sales_manual", _("Sales - Manual")


class CancellationNotice(models.TextChoices):
    NONE = "", _("None")
    GIVEN = "given", "有"


class LineReturnStatus(models.TextChoices):
    NONE = "", _("None")
    NOT_YET = "not_yet", _("NotYet")
    SENT_KIT = "sent_kit", _("SentKit")
    RETURNED_1 = "returned_1", _("Returned1")
    RETURNED_2 = "returned_2", _("Returned2")


class Opportunity(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="opportunities",
        verbose_name=_("customer"),
    )
    salesforce_id = models.CharField(_("Salesforce ID"), max_length=18, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=255)
    product_type = models.CharField(_("product type"), max_length=20, choices=ProductType.choices)
    stage = models.CharField(_("stage"), max_length=30, choices=OpportunityStage.choices)
    commodity_type = models.CharField(_("commodity type"), max_length=30, choices=CommodityType.choices)
    application_stage = models.CharField(_("application stage"), max_length=30, blank=True)
    source = models.CharField(_("opportunity source"), max_length=40, choices=OpportunitySource.choices)
    close_date = models.DateField(_("close date"), null=True, blank=True)
    whmcs_service_id = models.PositiveIntegerField(
        _("WHMCS service ID"), null=True, blank=True, db_index=True
    )

    # Internet cancellation
    cancellation_notice = models.CharField(
        _("cancellation notice"), max_length=10, choices=CancellationNotice.choices, blank=True
    )
    scheduled_cancellation_at = models.DateTimeField(_("scheduled cancellation"), null=True, blank=True)
    line_return_status = models.CharField(
        _("line return status"), max_length=20, choices=LineReturnStatus.choices, blank=True
    )
    # SIM cancellation
    sim_cancellation_notice = models.CharField(
        _("SIM cancellation notice"), max_length=10, choices=CancellationNotice.choices, blank=True
    )
    sim_scheduled_cancellation_at = models.DateTimeField(
        _("SIM scheduled cancellation"), null=True, blank=True
    )

    salesforce_modified_at = models.DateTimeField(_("Salesforce last modified"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-created_at"]
        constraints = [
            # The DB-level guarantee behind order matching (two orders placed at once must not
            # both open one): at most one open Opportunity per customer and product type. VPN orders
            # always open a new Opportunity, so VPN is exempt.
            models.UniqueConstraint(
                fields=["user", "product_type"],
                condition=models.Q(stage__in=[str(stage) for stage in OPEN_STAGES])
                & ~models.Q(product_type=ProductType.VPN.value),
                name="opportunity_one_open_per_product_type",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "product_type", "stage"], name="opportunity_matching_idx"),
            models.Index(fields=["stage", "scheduled_cancellation_at"], name="opportunity_cancel_queue_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class CaseType(models.TextChoices):
    ELIGIBILITY_CHECK = "eligibility_check", _("Eligibility Check")
    ID_VERIFICATION = "id_verification", _("ID Verification")
    CANCELLATION_REQUEST = "cancellation_request", _("Cancellation Request")
    GENERAL_INQUIRY = "general_inquiry", _("General Inquiry")


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    ESCALATED = "escalated", _("Escalated")
    CLOSED = "closed", _("Closed")


class CaseOrigin(models.TextChoices):
    PORTAL = "portal", _("Portal")
    PORTAL_WEBSITE = "portal_website", _("Portal Website")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")


class CasePriority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Case(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cases", verbose_name=_("customer")
    )
    opportunity = models.ForeignKey(
        Opportunity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("opportunity"),
    )
    salesforce_id = models.CharField(_("Salesforce ID"), max_length=18, unique=True, null=True, blank=True)
    case_number = models.CharField(_("case number"), max_length=30, blank=True)
    type = models.CharField(_("type"), max_length=30, choices=CaseType.choices)
    subject = models.CharField(_("subject"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    origin = models.CharField(
        _("origin"), max_length=20, choices=CaseOrigin.choices, default=CaseOrigin.PORTAL
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=CasePriority.choices, default=CasePriority.MEDIUM
    )
    salesforce_modified_at = models.DateTimeField(_("Salesforce last modified"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "type", "created_at"], name="case_user_type_idx")]

    def __str__(self) -> str:
        return self.subject


class CaseComment(models.Model):
    """A comment on a Case: the customer's and the agents' conversation on a support ticket.

    Mirrors a Salesforce ``CaseComment``. A comment written in the portal (by the customer, or by
    an agent in the console) exists here first and gets its ``salesforce_id`` when the outbox
    delivers it; a comment an agent writes in Salesforce arrives through the comment sync. Only
    published comments (``is_public``, Salesforce's ``IsPublished``) are shown to the customer.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments", verbose_name=_("case"))
    salesforce_id = models.CharField(_("Salesforce ID"), max_length=18, unique=True, null=True, blank=True)
    body = models.TextField(_("comment"))
    is_public = models.BooleanField(_("visible to the customer"), default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    author_name = models.CharField(_("author name"), max_length=255, blank=True)
    from_agent = models.BooleanField(_("from an agent"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    salesforce_modified_at = models.DateTimeField(_("Salesforce last modified"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    class Meta:
        verbose_name = _("case comment")
        verbose_name_plural = _("case comments")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_comment_thread_idx")]

    def __str__(self) -> str:
        return self.body if len(self.body) <= 60 else f"{self.body[:59]}…"
