"""Internet eligibility requests and residence card (ID) submissions."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.addresses import AddressMixin
from apps.opportunities.models import Case
from portal.storage import private_storage


class EligibilityRequest(AddressMixin, models.Model):
    """An address the customer asked us to check for internet service (an NTT serviceability check
    done by an agent). The result lands on the customer profile's eligibility fields."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="eligibility_requests",
        verbose_name=_("customer"),
    )
    case = models.OneToOneField(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("case")
    )
    postal_code = models.CharField(_("postal code"), max_length=8)
    prefecture = models.CharField(_("prefecture"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    address_line1 = models.CharField(_("address line 1"), max_length=255)
    address_line2 = models.CharField(_("address line 2"), max_length=255, blank=True)
    # The same address in Japanese script: AddressMixin's fields.
    housing_type = models.CharField(_("housing type"), max_length=30, blank=True)
    notes = models.TextField(_("customer notes"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    class Meta:
        verbose_name = _("eligibility request")
        verbose_name_plural = _("eligibility requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.postal_code} {self.prefecture}{self.city}{self.address_line1}"


def residence_card_path(instance: "ResidenceCardSubmission", filename: str) -> str:
    # The customer's file name is never used: it could carry a path or reveal personal data.
    extension = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}.get(
        instance.content_type, "bin"
    )
    return f"residence-cards/{instance.user_id}/{uuid.uuid4().hex}.{extension}"


class RejectionReason(models.TextChoices):
    EXPIRED = "expired", _("Document expired")
    BLURRY = "blurry", _("Image not clear")
    WRONG_DOCUMENT_TYPE = "wrong_document_type", _("Wrong document type")
    NAME_MISMATCH = "name_mismatch", _("Name does not match")
    OTHER = "other", _("Other")


class ResidenceCardSubmission(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="residence_card_submissions",
        verbose_name=_("customer"),
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to=residence_card_path, max_length=255)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=30, choices=RejectionReason.choices, blank=True
    )
    rejection_message = models.TextField(_("rejection message"), blank=True)
    salesforce_content_version_id = models.CharField(
        _("Salesforce ContentVersion ID"), max_length=18, blank=True
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )

    class Meta:
        verbose_name = _("residence card submission")
        verbose_name_plural = _("residence card submissions")
        ordering = ["-submitted_at"]
        permissions = [("view_residence_card_document", _("Can view residence card documents"))]
        indexes = [models.Index(fields=["status", "submitted_at"], name="residence_card_queue_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(content_type__in=["image/png", "image/jpeg", "application/pdf"]),
                name="residence_card_allowed_content_type",
            ),
        ]

    def __str__(self) -> str:
        return f"Residence card of {self.user} ({self.get_status_display()})"


class ResidenceCardStatusChange(models.Model):
    """One step of a submission's history: who moved it from which status to which, and why."""

    submission = models.ForeignKey(
        ResidenceCardSubmission,
        on_delete=models.CASCADE,
        related_name="history",
        verbose_name=_("submission"),
    )
    from_status = models.CharField(_("from status"), max_length=20, blank=True)
    to_status = models.CharField(
        _("to status"), max_length=20, choices=ResidenceCardSubmission.Status.choices
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )
    note = models.TextField(_("note"), blank=True)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("residence card status change")
        verbose_name_plural = _("residence card status changes")
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"
