"""``FulfillmentRun``: the durable record of provisioning one approved Salesforce Order in WHMCS.

Kept in its own module (imported at the end of ``apps/checkout/models.py``) so order placement and
fulfillment can change independently.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FulfillmentRun(models.Model):
    """One Salesforce Order's way from "Approved" to an active WHMCS service.

    There is one run per Salesforce Order. Every ``OrderProvisionRequested__e`` for the order (the
    approval, and each retry an agent asks for by setting the activation status back to
    Activating) adds its IdemKey to ``idempotency_keys`` and re-queues the same run, so a
    redelivered event does nothing and a retry *resumes*: each step's outcome is stored in its own
    column (``whmcs_order_id``, ``whmcs_accepted_at``, ...) and a step that has an outcome is
    never run again. ``whmcs_add_order_started_at`` is written *before* WHMCS ``AddOrder`` is
    called, so after a crash or timeout with an unknown outcome the next attempt first looks for
    the order in WHMCS (tagged in its notes) instead of placing a second one.

    ``steps`` is an append-only log of what happened, for the admin.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    salesforce_order_id = models.CharField(_("Salesforce Order ID"), max_length=18, unique=True)
    order = models.ForeignKey(
        "checkout.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fulfillment_runs",
        verbose_name=_("order"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("customer"),
    )
    salesforce_account_id = models.CharField(_("Salesforce Account ID"), max_length=18, blank=True)
    salesforce_opportunity_id = models.CharField(_("Salesforce Opportunity ID"), max_length=18, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)

    idempotency_keys = models.JSONField(
        _("IdemKeys received"), default=list, blank=True, help_text=_("Every IdemKey__c handled.")
    )
    last_idempotency_key = models.CharField(_("last IdemKey"), max_length=80, blank=True)
    correlation_id = models.CharField(_("correlation ID"), max_length=80, blank=True)
    requested_by = models.CharField(_("requested by"), max_length=80, blank=True)

    # Step outcomes: what a retry resumes from.
    loaded_at = models.DateTimeField(_("order loaded"), null=True, blank=True)
    approved_notified_at = models.DateTimeField(_("approval notified"), null=True, blank=True)
    whmcs_client_id = models.PositiveIntegerField(_("WHMCS client ID"), null=True, blank=True)
    whmcs_add_order_started_at = models.DateTimeField(_("WHMCS AddOrder sent"), null=True, blank=True)
    whmcs_order_id = models.PositiveIntegerField(_("WHMCS order ID"), null=True, blank=True)
    whmcs_service_ids = models.JSONField(_("WHMCS service IDs"), default=list, blank=True)
    whmcs_service_id = models.PositiveIntegerField(
        _("WHMCS service ID"),
        null=True,
        blank=True,
        help_text=_("The plan's service, set on the Opportunity."),
    )
    whmcs_invoice_id = models.PositiveIntegerField(_("WHMCS invoice ID"), null=True, blank=True)
    whmcs_accept_started_at = models.DateTimeField(_("WHMCS AcceptOrder sent"), null=True, blank=True)
    whmcs_accepted_at = models.DateTimeField(_("WHMCS order accepted"), null=True, blank=True)
    salesforce_updated_at = models.DateTimeField(
        _("Salesforce update queued"),
        null=True,
        blank=True,
        help_text=_("Outbox entry for Order and Opportunity."),
    )
    activated_notified_at = models.DateTimeField(_("activation notified"), null=True, blank=True)

    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    steps = models.JSONField(_("steps"), default=list, blank=True)
    error_code = models.CharField(_("error code"), max_length=100, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # The Celery task id of the claim: the broker redelivers a message (same id) only after its
    # worker died, so that message may take the claim over instead of waiting for it to expire.
    claimed_by = models.CharField(_("claimed by"), max_length=255, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("fulfillment run")
        verbose_name_plural = _("fulfillment runs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="fulfillment_due_idx")]

    def __str__(self) -> str:
        return f"Fulfillment of {self.salesforce_order_id} ({self.get_status_display()})"
