"""Writes for internet eligibility requests and residence card (ID) submissions.

Both are customer requests to an agent, recorded in the portal DB and promised to Salesforce in
the same transaction (one outbox entry = one Composite call), so the customer's request succeeds
even while Salesforce is down. Seed 000 "Eligibility Validation Module" and "ID Verification
Module" describe the Salesforce side; the agent's answer comes back through the Account's
platform event and reconciliation, not through these services.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import CustomerProfile, EligibilityStatus, IdMapping, IdVerificationStatus
from apps.integrations.outbox import WriteBack, outbox_enqueue_salesforce, portal_file_base64
from apps.integrations.salesforce.field_map import get_field_map, salesforce_datetime
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.opportunities.models import Case, CaseOrigin, CasePriority, CaseStatus, CaseType
from apps.verification.models import (
    EligibilityRequest,
    RejectionReason,
    ResidenceCardStatusChange,
    ResidenceCardSubmission,
)
from apps.verification.uploads import residence_card_inspect
from portal.exceptions import ApplicationError, ConflictError
from portal.storage import private_storage

ELIGIBILITY_CASE_SUBJECT = "Internet availability check request (Portal)"
"""The agents' queue filters on this exact subject (seed 000 "Agent Workflow & Checklist")."""

RESIDENCE_CARD_OPEN_STATUSES = (IdVerificationStatus.SUBMITTED, IdVerificationStatus.VERIFIED)
"""While the card is waiting for review or already accepted, another upload is refused."""


def _customer(user_id: int, *, lock: bool) -> tuple[CustomerProfile, str]:
    """The customer's profile (row-locked when ``lock``) and Salesforce Account ID."""
    profiles = CustomerProfile.objects.select_for_update() if lock else CustomerProfile.objects.all()
    profile = profiles.filter(user_id=user_id).first()
    account_id = (
        IdMapping.objects.filter(user_id=user_id).values_list("salesforce_account_id", flat=True).first()
    )
    if profile is None or not account_id:
        raise ApplicationError(
            gettext("Your customer account is not set up yet. Please contact support."),
            code="account_not_linked",
        )
    return profile, account_id


# --- Internet eligibility --------------------------------------------------------------------


def _eligibility_case_description(request: EligibilityRequest) -> str:
    """What the agent needs for the NTT serviceability check, in the agents' language (English)."""
    address = " ".join(
        part
        for part in (
            f"〒{request.postal_code}",
            request.prefecture,
            request.city,
            request.address_line1,
            request.address_line2,
        )
        if part
    )
    lines = [
        "The customer asked the portal to check internet availability at this address.",
        "",
        f"Address: {address}",
        f"Housing type: {request.housing_type or 'not given'}",
    ]
    if request.notes:
        lines += ["", "Customer notes:", request.notes]
    return "\n".join(lines)


def eligibility_request_create(
    *,
    user_id: int,
    postal_code: str,
    prefecture: str,
    city: str,
    address_line1: str,
    address_line2: str = "",
    housing_type: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> EligibilityRequest:
    """Ask an agent to check internet availability at an address (seed 000, journey step 4).

    Refused while a check is pending; allowed again after a result (a customer who moves checks
    the new address). Creates the Case and the request, marks the profile mirror pending, and
    enqueues ONE Salesforce call: create the Case and point the Account at it
    (``Internet_Eligibility_Case_Id__c = @{case.id}``). The old result's check time and notes are
    cleared on both sides so the mirror and the Account keep agreeing; the offering itself stays
    until the agent sets a new one.
    """
    now = now or timezone.now()
    field_map = get_field_map()
    with transaction.atomic():
        profile, account_id = _customer(user_id, lock=True)
        if profile.internet_eligibility_status == EligibilityStatus.PENDING:
            raise ConflictError(
                gettext(
                    "We are already checking internet availability for you. "
                    "You will hear from us when the check is complete."
                ),
                code="eligibility_pending",
            )
        request = EligibilityRequest(
            user_id=user_id,
            postal_code=postal_code,
            prefecture=prefecture,
            city=city,
            address_line1=address_line1,
            address_line2=address_line2,
            housing_type=housing_type,
            notes=notes,
        )
        case = Case(
            user_id=user_id,
            type=CaseType.ELIGIBILITY_CHECK,
            subject=ELIGIBILITY_CASE_SUBJECT,
            description=_eligibility_case_description(request),
            status=CaseStatus.NEW,
            origin=CaseOrigin.PORTAL,
            priority=CasePriority.MEDIUM,
        )
        case.full_clean(exclude=["user", "opportunity", "salesforce_id"])
        case.save()
        request.case = case
        request.full_clean(exclude=["user", "case"])
        request.save()

        profile.internet_eligibility_status = EligibilityStatus.PENDING
        profile.internet_eligibility_requested_at = now
        profile.internet_eligibility_checked_at = None
        profile.internet_eligibility_notes = ""
        profile.internet_eligibility_case_id = ""
        dashboard_cache_invalidate(profile.user_id)
        profile.save(
            update_fields=[
                "internet_eligibility_status",
                "internet_eligibility_requested_at",
                "internet_eligibility_checked_at",
                "internet_eligibility_notes",
                "internet_eligibility_case_id",
                "updated_at",
            ]
        )

        outbox_enqueue_salesforce(
            operation="eligibility.request",
            record_key=f"Account:{account_id}",
            subrequests=[
                CompositeSubrequest.create(
                    "Case",
                    "case",
                    field_map.record(
                        "Case",
                        {
                            "account_id": account_id,
                            "subject": case.subject,
                            "description": case.description,
                            "origin": case.origin,
                            "type": case.type,
                            "status": case.status,
                            "priority": case.priority,
                        },
                    ),
                ),
                CompositeSubrequest.update(
                    "Account",
                    account_id,
                    "account",
                    field_map.record(
                        "Account",
                        {
                            "internet_eligibility_status": EligibilityStatus.PENDING,
                            "internet_eligibility_requested_at": salesforce_datetime(now),
                            "internet_eligibility_case_id": "@{case.id}",
                            "internet_eligibility_checked_at": None,
                            "internet_eligibility_notes": None,
                        },
                    ),
                ),
            ],
            write_backs=[
                WriteBack("case", "opportunities.Case", case.pk),
                WriteBack("case", "accounts.CustomerProfile", profile.pk, "internet_eligibility_case_id"),
            ],
        )
    return request


# --- Residence card (ID verification) --------------------------------------------------------


def _refuse_if_open(profile: CustomerProfile) -> None:
    if profile.id_verification_status == IdVerificationStatus.SUBMITTED:
        raise ConflictError(
            gettext("Your residence card is being reviewed. You can upload a new one if we ask you to."),
            code="id_verification_pending",
        )
    if profile.id_verification_status == IdVerificationStatus.VERIFIED:
        raise ConflictError(
            gettext(
                "Your identity is already verified; there is no need to upload your residence card again."
            ),
            code="id_verification_verified",
        )


def residence_card_submit(
    *, user_id: int, uploaded_file: IO[bytes], now: datetime | None = None
) -> ResidenceCardSubmission:
    """Store a residence card for review and tell Salesforce (seed 000 "ID Verification Module").

    The file is checked by content (``uploads``) and stored privately under a generated name. In
    one transaction: the submission and its first history step, the profile mirror set to
    Submitted (clearing the last rejection), and ONE Salesforce call: a ContentVersion published
    to the Account plus the Account's verification fields. Refused while a card is under review or
    once verified; allowed again after a rejection. If the transaction fails the stored file is
    deleted, so no document is left without its row.
    """
    now = now or timezone.now()
    profile, _ = _customer(user_id, lock=False)
    _refuse_if_open(profile)  # early answer before reading the file; checked again under the lock
    inspected = residence_card_inspect(uploaded_file, max_bytes=settings.RESIDENCE_CARD_MAX_BYTES)
    field_map = get_field_map()
    stored_name = ""
    try:
        with transaction.atomic():
            profile, account_id = _customer(user_id, lock=True)
            _refuse_if_open(profile)
            submission = ResidenceCardSubmission(
                user_id=user_id,
                content_type=inspected.content_type,
                size=inspected.size,
                sha256=inspected.sha256,
                status=ResidenceCardSubmission.Status.SUBMITTED,
            )
            # The name given here is ignored: ``residence_card_path`` generates one.
            submission.file.save("residence-card", ContentFile(inspected.content), save=False)
            stored_name = submission.file.name or ""
            submission.full_clean(exclude=["user", "reviewed_by"])
            submission.save()
            ResidenceCardStatusChange.objects.create(
                submission=submission,
                from_status="",
                to_status=ResidenceCardSubmission.Status.SUBMITTED,
                changed_by_id=user_id,
                note="Uploaded by the customer in the portal.",
            )

            profile.id_verification_status = IdVerificationStatus.SUBMITTED
            profile.id_verification_submitted_at = now
            profile.id_verification_rejection_message = ""
            profile.id_verification_note = ""
            dashboard_cache_invalidate(user_id)
            profile.save(
                update_fields=[
                    "id_verification_status",
                    "id_verification_submitted_at",
                    "id_verification_rejection_message",
                    "id_verification_note",
                    "updated_at",
                ]
            )

            file_name = posixpath.basename(stored_name)
            outbox_enqueue_salesforce(
                operation="verification.residence_card",
                record_key=f"Account:{account_id}",
                subrequests=[
                    CompositeSubrequest.create(
                        "ContentVersion",
                        "document",
                        field_map.record(
                            "ContentVersion",
                            {
                                "title": f"Residence card {timezone.localdate(now).isoformat()}",
                                "path": file_name,
                                "data": portal_file_base64(
                                    "verification.ResidenceCardSubmission", submission.pk, "file"
                                ),
                                "linked_record_id": account_id,
                            },
                        ),
                    ),
                    CompositeSubrequest.update(
                        "Account",
                        account_id,
                        "account",
                        field_map.record(
                            "Account",
                            {
                                "id_verification_status": IdVerificationStatus.SUBMITTED,
                                "id_verification_submitted_at": salesforce_datetime(now),
                                "id_verification_rejection_message": None,
                                "id_verification_note": None,
                            },
                        ),
                    ),
                ],
                write_backs=[
                    WriteBack(
                        "document",
                        "verification.ResidenceCardSubmission",
                        submission.pk,
                        "salesforce_content_version_id",
                    )
                ],
            )
    except BaseException:
        if stored_name:
            private_storage().delete(stored_name)
        raise
    return submission


def residence_card_record_salesforce_decision(
    *, user_id: int, status: str, rejection_message: str = ""
) -> bool:
    """Close the submission under review when the decision was made in Salesforce itself.

    The console records its own decisions on the submission; an agent working in Salesforce
    only changes the Account, so the status event brings the outcome here. Rejections made there
    carry no structured reason: they are filed as "other". Returns whether a submission moved.
    """
    return residence_card_record_salesforce_decisions([(user_id, status, rejection_message)])[0]


def residence_card_record_salesforce_decisions(decisions: Sequence[tuple[int, str, str]]) -> list[bool]:
    """``residence_card_record_salesforce_decision`` for many ``(user_id, status,
    rejection_message)`` decisions, applied in order, with one locking read. Returns, for each,
    whether a submission moved (the first final decision for a customer closes the submission)."""
    final = (ResidenceCardSubmission.Status.VERIFIED, ResidenceCardSubmission.Status.REJECTED)
    user_ids = {user_id for user_id, status, _ in decisions if status in final}
    if not user_ids:
        return [False] * len(decisions)
    now = timezone.now()
    moved = []
    with transaction.atomic():
        under_review: dict[int, ResidenceCardSubmission] = {}
        for candidate in (
            ResidenceCardSubmission.objects.select_for_update()
            .filter(user_id__in=user_ids, status=ResidenceCardSubmission.Status.SUBMITTED)
            .order_by("user_id", "submitted_at")
        ):
            under_review[candidate.user_id] = candidate  # The latest submission of each customer.
        for user_id, status, rejection_message in decisions:
            submission = under_review.pop(user_id, None) if status in final else None
            moved.append(submission is not None)
            if submission is None:
                continue
            submission.status = status
            submission.reviewed_at = now
            if status == ResidenceCardSubmission.Status.REJECTED:
                submission.rejection_reason = RejectionReason.OTHER
                submission.rejection_message = rejection_message
            submission.save(update_fields=["status", "reviewed_at", "rejection_reason", "rejection_message"])
            dashboard_cache_invalidate(user_id)
            ResidenceCardStatusChange.objects.create(
                submission=submission,
                from_status=ResidenceCardSubmission.Status.SUBMITTED,
                to_status=status,
                note="Decided in Salesforce",
            )
    return moved
