"""Reads for the customer's eligibility and ID verification status, from the portal DB only.

The status fields are the profile's mirror of the Salesforce Account; the portal's own rows
(eligibility requests, residence card submissions) add what the Account does not hold: the
address that was asked about, whether the Case has reached Salesforce, the structured rejection
reason and the document's details. A pending check shows the expected timeline, and a
rejection comes with what to do about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus
from apps.opportunities.models import Case
from apps.verification.models import EligibilityRequest, RejectionReason, ResidenceCardSubmission

REJECTION_REMEDIATIONS: dict[str, Promise] = {
    RejectionReason.EXPIRED: gettext_lazy(
        "Document has expired. Please upload a valid, unexpired residence card."
    ),
    RejectionReason.BLURRY: gettext_lazy(
        "Image is not clear enough. Please retake the photo in good lighting."
    ),
    RejectionReason.WRONG_DOCUMENT_TYPE: gettext_lazy(
        "This document type is not accepted. Please upload your residence card (在留カード)."
    ),
    RejectionReason.NAME_MISMATCH: gettext_lazy(
        "Name on document doesn't match account. Please contact support."
    ),
    RejectionReason.OTHER: gettext_lazy(
        "Please check the message from our team and upload your residence card again. "
        "If anything is unclear, contact support and we will help."
    ),
}
"""What the customer should do for each structured rejection reason."""


def rejection_remediation(reason: str) -> str:
    """The translated next step for a rejection reason (unknown reasons get the generic one)."""
    return str(REJECTION_REMEDIATIONS.get(reason, REJECTION_REMEDIATIONS[RejectionReason.OTHER]))


def _profile(user_id: int) -> CustomerProfile:
    # A signed-in user without a profile (staff) reads as "nothing requested yet".
    return CustomerProfile.objects.filter(user_id=user_id).first() or CustomerProfile(user_id=user_id)


# --- Internet eligibility --------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityOverview:
    status: str
    offering: str
    requested_at: datetime | None
    checked_at: datetime | None
    notes: str
    case_submitted: bool
    expected_timeline: str | None
    address: EligibilityRequest | None


def eligibility_latest_request(*, user_id: int) -> EligibilityRequest | None:
    """The customer's latest eligibility request, with its Case."""
    return (
        EligibilityRequest.objects.filter(user_id=user_id)
        .select_related("case")
        .order_by("-created_at", "-pk")
        .first()
    )


def eligibility_case(*, profile: CustomerProfile) -> Case | None:
    """The Case of the customer's latest eligibility request (or the one the Account names)."""
    request = eligibility_latest_request(user_id=profile.user_id)
    if request is not None and request.case is not None:
        return request.case
    if profile.internet_eligibility_case_id:
        return Case.objects.filter(salesforce_id=profile.internet_eligibility_case_id).first()
    return None


def eligibility_cases(*, case_ids: Mapping[int, str]) -> dict[int, Case | None]:
    """``eligibility_case`` of many customers, given as user id -> their profile's
    ``internet_eligibility_case_id``, in two reads whatever their number (a batch of status
    events): their requests with Cases, and the Cases the Accounts name."""
    named = dict(case_ids)
    if not named:
        return {}
    cases: dict[int, Case | None] = dict.fromkeys(named)
    latest: dict[int, EligibilityRequest] = {}
    for request in (
        EligibilityRequest.objects.filter(user_id__in=named)
        .select_related("case")
        .order_by("user_id", "-created_at", "-pk")
    ):
        latest.setdefault(request.user_id, request)
    for user_id, request in latest.items():
        cases[user_id] = request.case
    wanted = {user_id: named[user_id] for user_id, case in cases.items() if case is None and named[user_id]}
    if wanted:
        by_id = {case.salesforce_id: case for case in Case.objects.filter(salesforce_id__in=wanted.values())}
        for user_id, salesforce_id in wanted.items():
            cases[user_id] = by_id.get(salesforce_id)
    return cases


def eligibility_overview(*, user_id: int) -> EligibilityOverview:
    """The customer's internet eligibility: the mirrored result and their latest request."""
    profile = _profile(user_id)
    latest = eligibility_latest_request(user_id=user_id)
    status = profile.internet_eligibility_status
    # The Case reached Salesforce once its ID came back (on the Case row or, for a request made
    # outside the portal, on the Account's eligibility case field).
    case_submitted = bool(profile.internet_eligibility_case_id) or bool(
        latest is not None and latest.case is not None and latest.case.salesforce_id
    )
    return EligibilityOverview(
        status=status,
        offering=profile.internet_eligibility,
        requested_at=profile.internet_eligibility_requested_at,
        checked_at=profile.internet_eligibility_checked_at,
        notes=profile.internet_eligibility_notes,
        case_submitted=case_submitted,
        expected_timeline=(
            gettext(
                "Our team is checking NTT serviceability for your address. This usually takes "
                "1-2 business days, and we will email you when it is complete."
            )
            if status == EligibilityStatus.PENDING
            else None
        ),
        address=latest,
    )


# --- Residence card (ID verification) --------------------------------------------------------


def residence_card_latest_submission_id(*, user_id: int) -> int | None:
    """The customer's latest residence card (the one a review or a reopening applies to)."""
    return (
        ResidenceCardSubmission.objects.filter(user_id=user_id)
        .order_by("-submitted_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str
    remediation: str


@dataclass(frozen=True)
class ResidenceCardOverview:
    status: str
    submitted_at: datetime | None
    verified_at: datetime | None
    rejection: Rejection | None
    can_resubmit: bool
    document: ResidenceCardSubmission | None


def residence_card_overview(*, user_id: int) -> ResidenceCardOverview:
    """The customer's ID verification: the mirrored status, why it was rejected and what to do,
    and their latest document's details (never the document itself)."""
    profile = _profile(user_id)
    latest = (
        ResidenceCardSubmission.objects.filter(user_id=user_id)
        .only("content_type", "size", "submitted_at", "status", "rejection_reason", "rejection_message")
        .order_by("-submitted_at", "-pk")
        .first()
    )
    status = profile.id_verification_status
    rejection = None
    if status == IdVerificationStatus.REJECTED:
        # The reason is the agent's structured choice on the latest submission; a decision made
        # directly in Salesforce has none, and is "other".
        decided_here = (
            latest is not None
            and latest.status == ResidenceCardSubmission.Status.REJECTED
            and latest.rejection_reason
        )
        reason = latest.rejection_reason if decided_here and latest else RejectionReason.OTHER
        message = profile.id_verification_rejection_message or (
            latest.rejection_message if decided_here and latest else ""
        )
        rejection = Rejection(reason=reason, message=message, remediation=rejection_remediation(reason))
    return ResidenceCardOverview(
        status=status,
        submitted_at=profile.id_verification_submitted_at,
        verified_at=profile.id_verification_verified_at if status == IdVerificationStatus.VERIFIED else None,
        rejection=rejection,
        can_resubmit=status not in (IdVerificationStatus.SUBMITTED, IdVerificationStatus.VERIFIED),
        document=latest,
    )
