"""Writes for internet eligibility requests and residence card (ID) submissions and reviews.

Both are customer requests to an agent, recorded in the portal DB and promised to Salesforce in
the same transaction (one outbox entry = one Composite call), so the customer's request succeeds
even while Salesforce is down. This app owns the requests and the residence cards' review status
(README, "Who changes a status"); the Account's status fields they move belong to
``apps.accounts.services``, which these functions call. An agent answers an eligibility request
through ``apps.accounts.services``, and reviews a card here (``residence_card_verify``,
``residence_card_reject``, ``residence_card_reopen``) from the console; a decision made in
Salesforce comes back through the Account's platform event
(``residence_card_record_salesforce_decisions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import CustomerProfile, IdVerificationStatus, User
from apps.accounts.selectors import salesforce_account_id_of
from apps.accounts.services import (
    customer_eligibility_request,
    customer_id_verification_decide,
    customer_id_verification_refuse_if_open,
    customer_id_verification_reopen,
    customer_id_verification_submit,
)
from apps.accounts.status_notifications import account_status_notify
from apps.integrations.outbox import WriteBack, account_record_key, outbox_enqueue_salesforce
from apps.opportunities.salesforce import case_create_subrequest
from apps.opportunities.schedule import TOKYO
from apps.opportunities.services import (
    eligibility_case_open,
    id_verification_case_close,
    id_verification_case_open,
    internet_opportunity_for_eligibility,
)
from apps.verification.models import (
    EligibilityRequest,
    RejectionReason,
    ResidenceCardStatusChange,
    ResidenceCardSubmission,
)
from apps.verification.salesforce import residence_card_upload_subrequest
from apps.verification.selectors import residence_card_latest_submission_id
from apps.verification.uploads import residence_card_inspect
from portal.exceptions import ApplicationError, ConflictError
from portal.storage import private_storage
from portal.transitions import Transition, field_values


def _customer(user_id: int, *, lock: bool) -> tuple[CustomerProfile, str]:
    """The customer's profile (row-locked when ``lock``) and Salesforce Account ID."""
    profiles = CustomerProfile.objects.select_for_update() if lock else CustomerProfile.objects.all()
    profile = profiles.filter(user_id=user_id).first()
    account_id = salesforce_account_id_of(user_id=user_id)
    if profile is None or not account_id:
        raise ApplicationError(
            gettext("Your customer account is not set up yet. Please contact support."),
            code="account_not_linked",
        )
    return profile, account_id


# --- Internet eligibility --------------------------------------------------------------------


def _eligibility_case_description(request: EligibilityRequest) -> str:
    """What the agent needs for the NTT serviceability check, in the agents' language (English);
    the address in Japanese first, as the check reads it."""
    lines = [
        "The customer asked the portal to check internet availability at this address.",
        "",
        f"Address (Japanese): {request.address_ja or 'not given'}",
        f"Address (romaji): {request.address_romaji}",
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
    prefecture_ja: str = "",
    city_ja: str = "",
    address_line1_ja: str = "",
    address_line2_ja: str = "",
    housing_type: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> EligibilityRequest:
    """Ask an agent to check internet availability at an address.

    Refused while a check is pending; allowed again after a result (a customer who moves checks
    the new address). Marks the profile mirror pending (``customer_eligibility_request``), opens
    the internet Opportunity of the check (``internet_opportunity_for_eligibility``) and the Case
    linked to it (``eligibility_case_open``, both the opportunities app's), records the request,
    and enqueues ONE Salesforce call: create (or move) the Opportunity, create the Case and point
    the Account at it (``Internet_Eligibility_Case_Id__c = @{case.id}``).
    """
    now = now or timezone.now()
    with transaction.atomic():
        profile, account_id = _customer(user_id, lock=True)
        account_update = customer_eligibility_request(
            profile=profile, account_id=account_id, case_reference="@{case.id}", now=now
        )
        request = EligibilityRequest(
            user_id=user_id,
            postal_code=postal_code,
            prefecture=prefecture,
            city=city,
            address_line1=address_line1,
            address_line2=address_line2,
            prefecture_ja=prefecture_ja,
            city_ja=city_ja,
            address_line1_ja=address_line1_ja,
            address_line2_ja=address_line2_ja,
            housing_type=housing_type,
            notes=notes,
        )
        linked = internet_opportunity_for_eligibility(
            user=profile.user, account_id=account_id, today=timezone.localdate(now, TOKYO)
        )
        case = eligibility_case_open(
            user_id=user_id,
            description=_eligibility_case_description(request),
            opportunity=linked.opportunity,
        )
        request.case = case
        request.full_clean(exclude=["user", "case"])
        request.save()

        outbox_enqueue_salesforce(
            operation="eligibility.request",
            record_key=account_record_key(account_id),
            subrequests=[
                *([linked.subrequest] if linked.subrequest is not None else []),
                case_create_subrequest(
                    case, account_id=account_id, opportunity_reference=linked.case_reference
                ),
                account_update,
            ],
            write_backs=[
                *linked.write_backs,
                WriteBack("case", "opportunities.Case", case.pk),
                WriteBack("case", "accounts.CustomerProfile", profile.pk, "internet_eligibility_case_id"),
            ],
        )
    return request


# --- Residence card (ID verification) --------------------------------------------------------


def residence_card_submit(
    *, user_id: int, uploaded_file: IO[bytes], now: datetime | None = None
) -> ResidenceCardSubmission:
    """Store a residence card for review and tell Salesforce.

    The file is checked by content (``uploads``) and stored privately under a generated name. In
    one transaction: the submission and its first history step, the profile mirror set to
    Submitted (``customer_id_verification_submit``, clearing the last rejection), and ONE
    Salesforce call: a ContentVersion published to the Account, the Account's verification fields
    and the ID Verification Case (origin Portal) an agent reviews it on
    (``id_verification_case_open``, the Case's owner). Refused while a card is under review or once verified; allowed again after a
    rejection. If the transaction fails the stored file is deleted, so no document is left
    without its row.
    """
    now = now or timezone.now()
    profile, _ = _customer(user_id, lock=False)
    # An early answer before reading the file; checked again under the lock.
    customer_id_verification_refuse_if_open(profile)
    inspected = residence_card_inspect(uploaded_file, max_bytes=settings.RESIDENCE_CARD_MAX_BYTES)
    stored_name = ""
    try:
        with transaction.atomic():
            profile, account_id = _customer(user_id, lock=True)
            account_update = customer_id_verification_submit(profile=profile, account_id=account_id, now=now)
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
            case = id_verification_case_open(
                user_id=user_id, description=_id_verification_case_description(now=now)
            )

            outbox_enqueue_salesforce(
                operation="verification.residence_card",
                record_key=account_record_key(account_id),
                subrequests=[
                    residence_card_upload_subrequest(
                        submission, account_id=account_id, uploaded_on=timezone.localdate(now)
                    ),
                    account_update,
                    case_create_subrequest(case, account_id=account_id),
                ],
                write_backs=[
                    WriteBack(
                        "document",
                        "verification.ResidenceCardSubmission",
                        submission.pk,
                        "salesforce_content_version_id",
                    ),
                    WriteBack("case", "opportunities.Case", case.pk),
                ],
            )
    except BaseException:
        if stored_name:
            private_storage().delete(stored_name)
        raise
    return submission


def _id_verification_case_description(*, now: datetime) -> str:
    """The Case text an agent reads (English, like every agent-facing Salesforce text). Nothing
    the customer typed: the card itself is the ContentVersion on the Account."""
    uploaded = timezone.localtime(now, TOKYO).strftime("%Y-%m-%d %H:%M")
    return "\n".join(
        [
            "Residence card uploaded through the customer portal for ID verification.",
            f"Uploaded at: {uploaded} JST",
            "The card is attached to the Account (Files). Set the Account's ID verification status "
            "to Verified or Rejected, then close this case.",
        ]
    )


def residence_card_record_salesforce_decisions(*, decisions: Sequence[tuple[int, str, str]]) -> list[bool]:
    """Close the submissions under review whose decision was made in Salesforce itself.

    The console records its own decisions on the submission; an agent working in Salesforce
    only changes the Account, so the status event brings the outcome here. Rejections made there
    carry no structured reason: they are filed as "other". ``(user_id, status,
    rejection_message)`` decisions are applied in order, with one locking read. Returns, for each,
    whether a submission moved (the first final decision for a customer closes the submission).
    """
    final = (ResidenceCardSubmission.Status.VERIFIED, ResidenceCardSubmission.Status.REJECTED)
    user_ids = {user_id for user_id, status, _ in decisions if status in final}
    if not user_ids:
        return [False] * len(decisions)
    now = timezone.now()
    moved = []
    with transaction.atomic(savepoint=False):  # Nothing to keep of a failed call: no round trips for one.
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
            rejected = status == ResidenceCardSubmission.Status.REJECTED
            _review_status_set(
                submission,
                status=status,
                reviewed_at=now,
                reviewed_by_id=submission.reviewed_by_id,
                rejection_reason=RejectionReason.OTHER if rejected else submission.rejection_reason,
                rejection_message=rejection_message if rejected else submission.rejection_message,
                changed_by=None,
                note="Decided in Salesforce",
            )
    return moved


def _review_status_set(
    submission: ResidenceCardSubmission,
    *,
    status: str,
    reviewed_at: datetime | None,
    reviewed_by_id: int | None,
    rejection_reason: str,
    rejection_message: str,
    changed_by: User | None,
    note: str,
) -> None:
    """The one place a residence card's review status changes: the submission's review fields
    and the step in its history."""
    from_status = submission.status
    submission.status = status
    submission.rejection_reason = rejection_reason
    submission.rejection_message = rejection_message
    submission.reviewed_at = reviewed_at
    submission.reviewed_by_id = reviewed_by_id
    submission.save(
        update_fields=["status", "rejection_reason", "rejection_message", "reviewed_at", "reviewed_by"]
    )
    dashboard_cache_invalidate(submission.user_id)
    ResidenceCardStatusChange.objects.create(
        submission=submission, from_status=from_status, to_status=status, changed_by=changed_by, note=note
    )


# --- Residence card review (the agents' decisions) ----------------------------------------------

_REVIEW_FIELDS = ("status", "rejection_reason", "rejection_message", "reviewed_at", "reviewed_by_id")
"""What a review changes on the submission (and its audit row records)."""


def _reviewer_name(agent: User) -> str:
    return agent.get_full_name() or agent.email


def residence_card_verify(*, agent: User, submission_id: int, now: datetime | None = None) -> Transition:
    """The residence card is valid and matches the account: Verified, with the verified time and
    the note "Verified by <agent>"."""
    return _residence_card_decide(
        agent=agent,
        submission_id=submission_id,
        status=IdVerificationStatus.VERIFIED,
        reason="",
        message="",
        now=now,
    )


def residence_card_reject(
    *, agent: User, submission_id: int, reason: str, message: str, now: datetime | None = None
) -> Transition:
    """The card cannot be accepted: Rejected, with the structured ``reason`` (kept on the
    submission, it picks the customer's remediation text) and the customer-facing ``message``
    (``Id_Verification_Rejection_Message__c``, shown to the customer and in the Salesforce email)."""
    message = message.strip()
    if reason not in RejectionReason.values:
        raise ApplicationError(gettext("Choose a rejection reason."), code="reason_required")
    if not message:
        raise ApplicationError(
            gettext("Write the message the customer will see."), code="rejection_message_required"
        )
    return _residence_card_decide(
        agent=agent,
        submission_id=submission_id,
        status=IdVerificationStatus.REJECTED,
        reason=reason,
        message=message,
        now=now,
    )


def _residence_card_decide(
    *,
    agent: User,
    submission_id: int,
    status: IdVerificationStatus,
    reason: str,
    message: str,
    now: datetime | None,
) -> Transition:
    """The decision on a card under review, under row locks on the submission and the profile
    (in that order, as the status events take them), so two agents deciding at once cannot both
    succeed: the submission closed, the Account's verification fields and the ID Verification
    Case closed (``id_verification_case_close``) in ONE Salesforce call, and
    the notification the status event would give (``account_status_notify``: once per decision,
    whichever path arrives first)."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = ResidenceCardSubmission.objects.select_for_update().get(pk=submission_id)
        profile = CustomerProfile.objects.select_for_update().get(user_id=submission.user_id)
        if submission.status != ResidenceCardSubmission.Status.SUBMITTED:
            raise ConflictError(
                gettext("This residence card has already been reviewed (%(status)s).")
                % {"status": submission.get_status_display()},
                code="already_decided",
            )
        verified = status == IdVerificationStatus.VERIFIED
        if verified:
            note = f"Verified by {_reviewer_name(agent)}"
        else:
            note = f"Rejected by {_reviewer_name(agent)} ({RejectionReason(reason).name.lower()})"
        before = field_values(submission, _REVIEW_FIELDS)
        account = customer_id_verification_decide(
            profile=profile, status=status, note=note, rejection_message=message, now=now
        )
        review_status = (
            ResidenceCardSubmission.Status.VERIFIED if verified else ResidenceCardSubmission.Status.REJECTED
        )
        _review_status_set(
            submission,
            status=review_status,
            reviewed_at=now,
            reviewed_by_id=agent.pk,
            rejection_reason=reason,
            rejection_message=message,
            changed_by=agent,
            note=message or note,
        )
        subrequests = [account.subrequest]
        case_update = id_verification_case_close(user_id=submission.user_id)
        if case_update is not None:
            subrequests.append(case_update)
        entry = outbox_enqueue_salesforce(
            operation=f"console.id_verification.{status}",
            record_key=account_record_key(account.account_id),
            subrequests=subrequests,
        )
        account_status_notify(
            user_id=submission.user_id,
            account_id=account.account_id,
            verification_status=status,
            rejection_message=message,
            now=now,
        )
    return Transition(
        user_id=submission.user_id,
        before={"submission": before, "account": account.before},
        after={"submission": field_values(submission, _REVIEW_FIELDS), "account": account.after},
        outbox_entry=entry,
    )


def residence_card_reopen(*, agent: User, submission_id: int, note: str) -> Transition:
    """A supervisor takes back the decision on the customer's latest card: Submitted again (the
    Account's verified time, note and rejection message cleared, its ID Verification Case New
    again), back in the queue."""
    note = note.strip()
    with transaction.atomic():
        submission = ResidenceCardSubmission.objects.select_for_update().get(pk=submission_id)
        profile = CustomerProfile.objects.select_for_update().get(user_id=submission.user_id)
        decided = (ResidenceCardSubmission.Status.VERIFIED, ResidenceCardSubmission.Status.REJECTED)
        if submission.status not in decided:
            raise ConflictError(
                gettext("Only a verified or rejected card can be reopened."), code="not_decided"
            )
        if residence_card_latest_submission_id(user_id=submission.user_id) != submission.pk:
            raise ConflictError(
                gettext("The customer has uploaded a newer card; review that one instead."),
                code="not_latest_submission",
            )
        before = field_values(submission, _REVIEW_FIELDS)
        account = customer_id_verification_reopen(profile=profile)
        _review_status_set(
            submission,
            status=ResidenceCardSubmission.Status.SUBMITTED,
            reviewed_at=None,
            reviewed_by_id=None,
            rejection_reason="",
            rejection_message="",
            changed_by=agent,
            note=note or "Reopened by a supervisor.",
        )
        subrequests = [account.subrequest]
        case_update = id_verification_case_close(user_id=submission.user_id, reopen=True)
        if case_update is not None:
            subrequests.append(case_update)
        entry = outbox_enqueue_salesforce(
            operation="console.id_verification.reopen",
            record_key=account_record_key(account.account_id),
            subrequests=subrequests,
        )
    return Transition(
        user_id=submission.user_id,
        before={"submission": before, "account": account.before},
        after={"submission": field_values(submission, _REVIEW_FIELDS), "account": account.after},
        outbox_entry=entry,
    )
