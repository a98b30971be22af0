"""The agent console's own data: proxies that give each queue its admin page, and the audit log.

The queues are proxies of the records they work on (no tables of their own), so a decision
changes the one row the customer's API reads. ``AgentDecision`` is the audit trail: who decided
what, when, and the state before and after; its Meta carries the console's permissions, which
the "Agents" and "Supervisors" groups (``groups.py`` and its data migrations) are built from.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import CustomerProfile, RegistrationAttempt
from apps.checkout.models import Order
from apps.integrations.models import OutboxEntry
from apps.opportunities.models import Case, Opportunity
from apps.verification.models import ResidenceCardSubmission


class EligibilityQueueItem(CustomerProfile):
    """A customer's internet eligibility check (the profile mirrors the Account's fields).

    Each queue lists the oldest (or, for cancellations, the soonest) first.
    """

    class Meta:
        proxy = True
        ordering = [F("internet_eligibility_requested_at").asc(nulls_last=True), "pk"]
        verbose_name = _("internet eligibility check")
        verbose_name_plural = _("internet eligibility queue")


class IdVerificationQueueItem(ResidenceCardSubmission):
    """A residence card waiting for (or after) an agent's review."""

    class Meta:
        proxy = True
        ordering = ["submitted_at", "pk"]
        verbose_name = _("ID verification")
        verbose_name_plural = _("ID verification queue")


class OrderApprovalQueueItem(Order):
    """An order waiting for (or after) an agent's approval."""

    class Meta:
        proxy = True
        ordering = ["created_at", "pk"]
        verbose_name = _("order approval")
        verbose_name_plural = _("order approval queue")


class CancellationQueueItem(Opportunity):
    """A service whose cancellation is in progress (or done)."""

    class Meta:
        proxy = True
        # Soonest scheduled date first, whichever of the internet and SIM dates is set.
        ordering = [
            Coalesce("scheduled_cancellation_at", "sim_scheduled_cancellation_at").asc(nulls_last=True),
            "pk",
        ]
        verbose_name = _("cancellation")
        verbose_name_plural = _("cancellation queue")


class SupportCaseQueueItem(Case):
    """A customer's support ticket (a Case opened in the portal) and its comment thread."""

    class Meta:
        proxy = True
        ordering = ["created_at", "pk"]
        verbose_name = _("support case")
        verbose_name_plural = _("support case queue")


class RegistrationQueueItem(RegistrationAttempt):
    """A registration that needs a supervisor, or has been in progress for too long."""

    class Meta:
        proxy = True
        ordering = ["created_at", "pk"]
        verbose_name = _("stuck registration")
        verbose_name_plural = _("stuck registration queue")


class SalesforceWriteQueueItem(OutboxEntry):
    """A Salesforce write the outbox holds (outcome unknown) or gave up on (failed): the
    supervisors' queue, oldest first, with bulk retry."""

    class Meta:
        proxy = True
        ordering = ["created_at", "pk"]
        verbose_name = _("Salesforce write")
        verbose_name_plural = _("held or failed Salesforce writes")
        permissions = [("retry_salesforce_write", _("Can retry held or failed Salesforce writes"))]


class SubjectType(models.TextChoices):
    ELIGIBILITY = "eligibility", _("Internet eligibility")
    ID_VERIFICATION = "id_verification", _("ID verification")
    ORDER = "order", _("Order approval")
    CANCELLATION = "cancellation", _("Cancellation")
    SUPPORT_CASE = "support_case", _("Support case")
    REGISTRATION = "registration", _("Registration")
    SALESFORCE_WRITE = "salesforce_write", _("Salesforce write")


class DecisionAction(models.TextChoices):
    MARK_ELIGIBLE = "mark_eligible", _("Marked eligible")
    MARK_INELIGIBLE = "mark_ineligible", _("Marked ineligible")
    REOPEN_ELIGIBILITY = "reopen_eligibility", _("Reopened eligibility check")
    VERIFY_ID = "verify_id", _("Verified ID")
    REJECT_ID = "reject_id", _("Rejected ID")
    REOPEN_ID_VERIFICATION = "reopen_id_verification", _("Reopened ID verification")
    APPROVE_ORDER = "approve_order", _("Approved order")
    REJECT_ORDER = "reject_order", _("Rejected order")
    HOLD_ORDER = "hold_order", _("Put order on hold")
    RELEASE_ORDER = "release_order", _("Released order from hold")
    UPDATE_LINE_RETURN = "update_line_return", _("Updated line return status")
    COMPLETE_CANCELLATION = "complete_cancellation", _("Completed cancellation")
    REPLY_SUPPORT_CASE = "reply_support_case", _("Replied to support case")
    RETRY_SYNC = "retry_sync", _("Retried Salesforce sync")
    RESOLVE_SYNC = "resolve_sync", _("Found a held Salesforce write in Salesforce")
    CLAIM_ITEM = "claim_item", _("Claimed queue item")
    RELEASE_ITEM = "release_item", _("Released queue item")
    ASSIGN_ITEM = "assign_item", _("Assigned queue item")
    RESUME_REGISTRATION = "resume_registration", _("Resumed registration")
    ABANDON_REGISTRATION = "abandon_registration", _("Abandoned registration")


class AgentDecision(models.Model):
    """One decision an agent made in the console, with the state before and after it.

    Rows are only ever added (by the console's services); the admin shows them read-only.
    ``outbox_entry`` is the Salesforce write the decision queued, so the record page can show
    whether it has reached Salesforce.
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="console_decisions",
        verbose_name=_("agent"),
    )
    # Kept when the customer's user is deleted (abandoning a registration removes it): the log
    # outlives what it is about.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="console_decisions_about",
        verbose_name=_("customer"),
    )
    subject_type = models.CharField(_("subject type"), max_length=30, choices=SubjectType.choices)
    subject_id = models.CharField(_("subject ID"), max_length=40)
    action = models.CharField(_("action"), max_length=40, choices=DecisionAction.choices)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    outbox_entry = models.ForeignKey(
        "integrations.OutboxEntry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Salesforce write"),
    )
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("agent decision")
        verbose_name_plural = _("decision log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "created_at"], name="decision_subject_idx"),
        ]
        permissions = [
            ("decide_eligibility", _("Can decide internet eligibility")),
            ("decide_id_verification", _("Can decide ID verification")),
            ("approve_order", _("Can approve orders")),
            ("manage_cancellation", _("Can manage cancellations")),
            ("reopen_decision", _("Can reopen a decision")),
            ("reply_support_case", _("Can reply to support cases")),
            ("manage_registration", _("Can resume or abandon stuck registrations")),
            ("assign_queue_item", _("Can assign queue items to agents")),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.subject_type} {self.subject_id})"


class QueueClaim(models.Model):
    """Who works on a queue item: the agent who claimed it, or to whom a supervisor assigned it.

    One row per item at most; releasing deletes it. Claims are advisory: they steer "my items"
    and "save and next", the services still decide whether a decision applies.
    """

    subject_type = models.CharField(_("subject type"), max_length=30, choices=SubjectType.choices)
    subject_id = models.CharField(_("subject ID"), max_length=40)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="console_claims",
        verbose_name=_("agent"),
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned by"),
    )
    claimed_at = models.DateTimeField(_("claimed at"), auto_now=True)

    class Meta:
        verbose_name = _("queue claim")
        verbose_name_plural = _("queue claims")
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id"], name="queue_claim_unique_item"),
        ]
        indexes = [models.Index(fields=["agent", "subject_type"], name="queue_claim_agent_idx")]

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id} → {self.agent_id}"
