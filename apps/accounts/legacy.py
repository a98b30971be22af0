"""Linking customers who existed before the portal (registration source "Legacy")."""

from __future__ import annotations

from dataclasses import asdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import CustomerProfile, IdMapping, PortalStatus, RegistrationSource, User
from apps.accounts.salesforce import account_legacy_link_subrequest
from apps.accounts.services import customer_profile_apply_account_fields
from apps.integrations.outbox import account_record_key, outbox_enqueue_salesforce
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway


def customer_link_legacy(
    *, customer_number: str, email: str, gateway: SalesforceGateway | None = None
) -> User:
    """Create the portal user and ID mapping of an existing Salesforce customer.

    The Account is found by customer number and must have a Contact with this email. Nothing is
    created in Salesforce or WHMCS (the WHMCS client is the Account's ``WH_Account__c``); the
    Account is only marked as a portal customer with source "Legacy". The user gets no usable
    password: they choose one through the password reset link.
    """
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A portal user with this email address already exists."})
    gateway = gateway or get_gateway()

    account = gateway.find_account_by_customer_number(customer_number)
    if account is None:
        raise ValidationError(
            {"customer_number": f"No single Salesforce Account has customer number {customer_number}."}
        )
    contact = gateway.find_contact(account_id=account.id, email=email)
    if contact is None:
        raise ValidationError({"email": "The Account has no Contact with this email address."})
    if IdMapping.objects.filter(salesforce_account_id=account.id).exists():
        raise ValidationError({"customer_number": "This Account is already linked to a portal user."})

    with transaction.atomic():
        user = User(email=email, first_name=contact.first_name, last_name=contact.last_name)
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
            salesforce_account_id=account.id,
            salesforce_contact_id=contact.id,
            whmcs_client_id=account.whmcs_client_id,
        )
        # The record's fields are the profile's attribute names.
        customer_profile_apply_account_fields(user_id=user.pk, values=asdict(account))
        outbox_enqueue_salesforce(
            operation="account.link_legacy",
            record_key=account_record_key(account.id),
            subrequests=[account_legacy_link_subrequest(account.id)],
        )
    CustomerProfile.objects.filter(user=user).update(synced_at=timezone.now())
    return user
