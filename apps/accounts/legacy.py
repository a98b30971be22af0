"""Linking customers who existed before the portal (registration source "Legacy")."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import CustomerProfile, IdMapping, PortalStatus, RegistrationSource, User
from apps.accounts.services import customer_profile_apply_account_fields
from apps.accounts.sync import ACCOUNT_STATUS_ATTRIBUTES
from apps.integrations.outbox import account_record_key, outbox_enqueue_salesforce
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import (
    CompositeSubrequest,
    SalesforceGateway,
    get_gateway,
    soql_literal,
)


def customer_link_legacy(
    *, customer_number: str, email: str, gateway: SalesforceGateway | None = None
) -> User:
    """Create the portal user and ID mapping of an existing Salesforce customer.

    The Account is found by customer number and must have a Contact with this email. Nothing is
    created in Salesforce or WHMCS (the WHMCS client is the Account's ``WH_Account__c``); the
    Account is only marked as a portal customer with source "Legacy". The user gets no usable
    password: they choose one through the password reset link.
    """
    field_map = get_field_map()
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A portal user with this email address already exists."})
    gateway = gateway or get_gateway()

    account_fields = field_map.fields("Account", "name", "whmcs_client_id", *ACCOUNT_STATUS_ATTRIBUTES)
    number_field = field_map.field("Account", "customer_number")
    accounts = gateway.query(
        f"SELECT Id, {', '.join(account_fields)} FROM Account "  # noqa: S608 - SOQL, values escaped
        f"WHERE {number_field} = {soql_literal(customer_number)} LIMIT 2"
    )
    if len(accounts) != 1:
        raise ValidationError(
            {"customer_number": f"No single Salesforce Account has customer number {customer_number}."}
        )
    account = accounts[0]
    contact_fields = field_map.fields("Contact", "first_name", "last_name", "email")
    contacts = gateway.query(
        f"SELECT Id, {', '.join(contact_fields)} FROM Contact "  # noqa: S608 - SOQL, values escaped
        f"WHERE {field_map.field('Contact', 'account_id')} = {soql_literal(account['Id'])} "
        f"AND {field_map.field('Contact', 'email')} = {soql_literal(email)} LIMIT 1"
    )
    if not contacts:
        raise ValidationError({"email": "The Account has no Contact with this email address."})
    contact = field_map.from_record("Contact", contacts[0])
    if IdMapping.objects.filter(salesforce_account_id=account["Id"]).exists():
        raise ValidationError({"customer_number": "This Account is already linked to a portal user."})

    whmcs_client_id = account.get(field_map.field("Account", "whmcs_client_id"))
    with transaction.atomic():
        user = User(
            email=email, first_name=contact.get("first_name") or "", last_name=contact.get("last_name") or ""
        )
        user.set_unusable_password()
        user.save()
        CustomerProfile.objects.create(
            user=user,
            customer_number=customer_number,
            registration_source=RegistrationSource.LEGACY,
            portal_status=PortalStatus.ACTIVE,
        )
        IdMapping.objects.create(
            user=user,
            salesforce_account_id=account["Id"],
            salesforce_contact_id=contacts[0]["Id"],
            whmcs_client_id=int(whmcs_client_id) if whmcs_client_id else None,
        )
        customer_profile_apply_account_fields(
            user_id=user.pk, values=field_map.from_record("Account", account)
        )
        outbox_enqueue_salesforce(
            operation="account.link_legacy",
            record_key=account_record_key(account["Id"]),
            subrequests=[
                CompositeSubrequest.update(
                    "Account",
                    account["Id"],
                    "account",
                    field_map.record(
                        "Account",
                        {
                            "registration_source": RegistrationSource.LEGACY,
                            "portal_status": PortalStatus.ACTIVE,
                        },
                    ),
                )
            ],
        )
    CustomerProfile.objects.filter(user=user).update(synced_at=timezone.now())
    return user
