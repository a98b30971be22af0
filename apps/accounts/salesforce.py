"""How the accounts app's records are written to Salesforce: the Account and Contact a
registration creates, and the Account fields the profile's changes send (eligibility, ID
verification, the sign-in stamp, the WHMCS client, the portal status). Each function is one
Account write in the portal's attribute names; the field map turns them into the org's names and
picklist values, and a name the org lacks fails the write (``INVALID_FIELD``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.accounts.models import (
    CustomerProfile,
    EligibilityStatus,
    IdVerificationStatus,
    PortalStatus,
    RegistrationSource,
    User,
)
from apps.integrations.salesforce.field_map import get_field_map, salesforce_datetime
from apps.integrations.salesforce.gateway import CompositeSubrequest


def _account_update(account_id: str, values: Mapping[str, Any]) -> CompositeSubrequest:
    return CompositeSubrequest.update(
        "Account", account_id, "account", get_field_map().record("Account", values)
    )


def account_contact_create_subrequests(
    *, user: User, profile: CustomerProfile, customer_number: str, email: str, source: str
) -> list[CompositeSubrequest]:
    """Create the customer's Account (``account``) and its Contact (``contact``, on
    ``@{account.id}``) in one all-or-none Composite."""
    field_map = get_field_map()
    account = field_map.record(
        "Account",
        {
            "name": f"{user.last_name} {user.first_name}",
            "customer_number": customer_number,
            "portal_status": PortalStatus.ACTIVE,
            "registration_source": source,
            "phone": profile.phone_number,
            "billing_street": " ".join(filter(None, [profile.address_line1, profile.address_line2])),
            "billing_city": profile.city,
            "billing_state": profile.prefecture,
            "billing_postal_code": profile.postal_code,
            "billing_country": "JP",
            # The same address in Japanese (custom fields; the postal code is shared).
            "billing_street_ja": " ".join(filter(None, [profile.address_line1_ja, profile.address_line2_ja]))
            or None,
            "billing_city_ja": profile.city_ja or None,
            "billing_state_ja": profile.prefecture_ja or None,
        },
    )
    contact = field_map.record(
        "Contact",
        {
            "account_id": "@{account.id}",
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": email,
            "phone": profile.phone_number,
            "birth_date": profile.birth_date.isoformat() if profile.birth_date else None,
        },
    )
    return [
        CompositeSubrequest.create("Account", "account", account),
        CompositeSubrequest.create("Contact", "contact", contact),
    ]


def account_whmcs_client_subrequest(account_id: str, whmcs_client_id: int | None) -> CompositeSubrequest:
    """The Account learns the WHMCS client the registration created."""
    return _account_update(account_id, {"whmcs_client_id": str(whmcs_client_id)})


def account_deactivated_subrequest(account_id: str) -> CompositeSubrequest:
    """Portal Status = Inactive (an Account no portal user maps to)."""
    return _account_update(account_id, {"portal_status": PortalStatus.INACTIVE})


def account_legacy_link_subrequest(account_id: str) -> CompositeSubrequest:
    """An existing customer's Account becomes a portal customer, source Legacy."""
    return _account_update(
        account_id, {"registration_source": RegistrationSource.LEGACY, "portal_status": PortalStatus.ACTIVE}
    )


def account_last_sign_in_fields(signed_in_at: datetime) -> dict[str, str]:
    """The Account fields of the (coalesced) sign-in stamp, in the org's names."""
    return {get_field_map().field("Account", "last_signed_in_at"): salesforce_datetime(signed_in_at)}


def account_eligibility_requested_subrequest(
    account_id: str, *, requested_at: datetime, case_reference: str
) -> CompositeSubrequest:
    """A new eligibility check: Pending, the request time, the Case (``@{case.id}`` while it is
    created in the same Composite); the last result's check time and notes cleared."""
    return _account_update(
        account_id,
        {
            "internet_eligibility_status": EligibilityStatus.PENDING,
            "internet_eligibility_requested_at": salesforce_datetime(requested_at),
            "internet_eligibility_case_id": case_reference,
            "internet_eligibility_checked_at": None,
            "internet_eligibility_notes": None,
        },
    )


def account_eligibility_decided_subrequest(
    account_id: str, *, status: str, offering: str, notes: str, checked_at: datetime
) -> CompositeSubrequest:
    """An agent's eligibility result: the offering, the status, the check time and the notes."""
    return _account_update(
        account_id,
        {
            "internet_eligibility": offering or None,
            "internet_eligibility_status": status,
            "internet_eligibility_checked_at": salesforce_datetime(checked_at),
            "internet_eligibility_notes": notes or None,
        },
    )


def account_eligibility_reopened_subrequest(account_id: str) -> CompositeSubrequest:
    """A decision taken back: Pending again, the check time cleared."""
    return _account_update(
        account_id,
        {"internet_eligibility_status": EligibilityStatus.PENDING, "internet_eligibility_checked_at": None},
    )


def account_id_verification_submitted_subrequest(
    account_id: str, *, submitted_at: datetime
) -> CompositeSubrequest:
    """A residence card uploaded: Submitted, the upload time, the last decision's texts cleared."""
    return _account_update(
        account_id,
        {
            "id_verification_status": IdVerificationStatus.SUBMITTED,
            "id_verification_submitted_at": salesforce_datetime(submitted_at),
            "id_verification_rejection_message": None,
            "id_verification_note": None,
        },
    )


def account_id_verification_decided_subrequest(
    account_id: str, *, status: str, decided_at: datetime, note: str, rejection_message: str
) -> CompositeSubrequest:
    """An agent's decision on the card: Verified or Rejected, when, the agent's note and the
    message the customer reads."""
    return _account_update(
        account_id,
        {
            "id_verification_status": status,
            "id_verification_verified_at": salesforce_datetime(decided_at),
            "id_verification_note": note,
            "id_verification_rejection_message": rejection_message or None,
        },
    )


def account_id_verification_reopened_subrequest(account_id: str) -> CompositeSubrequest:
    """A decision taken back: Submitted again, the decision's time and texts cleared."""
    return _account_update(
        account_id,
        {
            "id_verification_status": IdVerificationStatus.SUBMITTED,
            "id_verification_verified_at": None,
            "id_verification_note": None,
            "id_verification_rejection_message": None,
        },
    )
