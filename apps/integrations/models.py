"""Integration state kept in the portal DB: the outbox, event cursors and orphaned WHMCS clients.

The WHMCS mirror (services, invoices, payment methods) belongs to ``apps.billing``."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TargetSystem(models.TextChoices):
    SALESFORCE = "salesforce", _("Salesforce")
    WHMCS = "whmcs", _("WHMCS")


OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
"""Starts ``last_error`` of an entry held because its answer was lost after it may have created records."""

PAYLOAD_INVALID = "PAYLOAD_INVALID"
"""Starts ``last_error`` of an entry whose request cannot be built (a bad or missing reference)."""


class OutboxEntry(models.Model):
    """A change the portal owes Salesforce (or WHMCS), committed with the change that caused it.

    A Celery task delivers pending entries in ``id`` order per ``record_key``, so two changes to
    one record never overtake each other. ``payload`` holds what the delivery needs, for
    Salesforce a Composite request body built from the field map.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_PROGRESS = "in_progress", _("In progress")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    target_system = models.CharField(_("target system"), max_length=20, choices=TargetSystem.choices)
    operation = models.CharField(_("operation"), max_length=100)
    record_key = models.CharField(
        _("record key"), max_length=120, help_text=_("Deliveries for one key happen in order.")
    )
    payload = models.JSONField(_("payload"), default=dict)
    result = models.JSONField(_("result"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # Set (and committed) just before a request that creates records goes out, cleared with its
    # outcome: still set when a claim runs out means the answer was lost, not that nothing was sent.
    sending_since = models.DateTimeField(_("sending since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox entries")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["record_key", "status"], name="outbox_record_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} ({self.record_key}) [{self.status}]"

    @property
    def coalesced(self) -> bool:
        """An update where only the latest value matters, sent after a wait
        (``outbox_enqueue_coalesced_update``)."""
        return bool(isinstance(self.payload, dict) and self.payload.get("coalesced"))

    @property
    def outcome_unknown(self) -> bool:
        """Held because Salesforce may have created its records already (see ``outbox``)."""
        return self.status == self.Status.FAILED and self.last_error.startswith(OUTCOME_UNKNOWN)


class EventReplayCursor(models.Model):
    """The durable Pub/Sub position of one topic, and the lease that lets one subscriber hold it.

    The replay ID is written in the same transaction as the handler's work, so a restart resumes
    exactly after the last event whose effects were committed.
    """

    topic = models.CharField(_("topic"), max_length=255, unique=True)
    replay_id = models.BinaryField(_("replay ID"), null=True, blank=True)
    events_processed = models.PositiveBigIntegerField(_("events processed"), default=0)
    last_event_at = models.DateTimeField(_("last event at"), null=True, blank=True)
    lease_owner = models.CharField(_("lease owner"), max_length=255, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("event replay cursor")
        verbose_name_plural = _("event replay cursors")

    def __str__(self) -> str:
        return self.topic


class OrphanedWhmcsClient(models.Model):
    """A WHMCS client with no portal ID mapping, left behind by a failed registration or found by
    a scan. WHMCS cannot undo a client creation inside our transaction, so it is recorded here for
    ``manage.py cleanup_orphaned_whmcs_clients``."""

    class DetectedBy(models.TextChoices):
        REGISTRATION_FAILURE = "registration_failure", _("Registration failure")
        SCAN = "scan", _("Scan of WHMCS clients")

    class Resolution(models.TextChoices):
        OPEN = "", _("Open")
        CLOSED = "closed", _("Closed in WHMCS")
        DELETED = "deleted", _("Deleted from WHMCS")
        LINKED = "linked", _("Found a mapping")

    whmcs_client_id = models.PositiveIntegerField(_("WHMCS client ID"), unique=True)
    email = models.EmailField(_("email"), blank=True)
    salesforce_account_id = models.CharField(_("Salesforce Account ID"), max_length=18, blank=True)
    detected_by = models.CharField(_("detected by"), max_length=30, choices=DetectedBy.choices)
    reason = models.TextField(_("reason"))
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, default=Resolution.OPEN, blank=True
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("orphaned WHMCS client")
        verbose_name_plural = _("orphaned WHMCS clients")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"WHMCS client {self.whmcs_client_id}"


class SalesforceSyncCursor(models.Model):
    """How far the periodic ``SystemModstamp`` reconciliation of one Salesforce object has read
    (``apps.integrations.salesforce.sync.reconcile_changed_records``): the safety net behind
    Change Data Capture. The next run reads from this stamp on (inclusive), so records sharing it
    are read again rather than skipped; applying a record twice changes nothing."""

    sobject = models.CharField(_("Salesforce object"), max_length=80, unique=True)
    modstamp = models.DateTimeField(_("newest SystemModstamp read"), null=True, blank=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    records_read = models.PositiveBigIntegerField(_("records read"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Salesforce reconciliation cursor")
        verbose_name_plural = _("Salesforce reconciliation cursors")

    def __str__(self) -> str:
        return f"{self.sobject} @ {self.modstamp}"
