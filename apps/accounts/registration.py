"""Registration: the one synchronous flow that spans Salesforce, WHMCS and the portal DB.

Seven steps, in order:

1. Salesforce Account (with the generated customer number, portal status Active and the
   registration source) and 2. its Contact — together, as ONE Composite call;
3. the WHMCS billing client;
4. the Account's ``WH_Account__c`` (and, at a SIM checkout, the new Opportunity) — through the
   outbox, so it is the second and last Salesforce call and can never be lost;
5. the portal user, 6. the ID mapping — in one DB transaction with the outbox entry;
7. the logged-in session (the API view logs the returned user in).

Failure handling follows the design: nothing external is created for a duplicate email; if a
step fails after Salesforce, the Account is kept on purpose; a WHMCS client created before a
failure is recorded in ``OrphanedWhmcsClient`` for ``cleanup_orphaned_whmcs_clients``; the portal
user and mapping roll back. Every step lands in ``RegistrationAttempt.steps`` as it happens.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import (
    CustomerProfile,
    IdMapping,
    PortalStatus,
    RegistrationAttempt,
    RegistrationSource,
    User,
)
from apps.catalog.models import ProductType
from apps.integrations.models import OrphanedWhmcsClient
from apps.integrations.outbox import WriteBack, account_record_key, outbox_enqueue_salesforce
from apps.integrations.salesforce.exceptions import SalesforceError
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import CompositeSubrequest, SalesforceGateway, get_gateway
from apps.integrations.whmcs.client import WhmcsClient, get_whmcs_client
from apps.integrations.whmcs.exceptions import WhmcsError
from apps.opportunities.models import CommodityType, Opportunity, OpportunitySource, OpportunityStage
from portal.exceptions import ServiceUnavailableError

logger = logging.getLogger(__name__)

WHMCS_CLIENT_NOTE = "Created by the SonixNet portal"
"""Tags every WHMCS client the portal creates, so the orphan scan can find them."""


@dataclass(frozen=True)
class RegistrationData:
    email: str
    password: str
    first_name: str
    last_name: str
    phone_number: str
    postal_code: str
    prefecture: str
    city: str
    address_line1: str
    address_line2: str = ""
    first_name_kana: str = ""
    last_name_kana: str = ""
    birth_date: date | None = None


class _Attempt:
    """Appends each step's outcome to the attempt row as soon as it is known."""

    def __init__(self, attempt: RegistrationAttempt) -> None:
        self.row = attempt

    def step(self, name: str, status: str, **detail: Any) -> None:
        self.row.steps = [
            *self.row.steps,
            {"step": name, "status": status, "at": timezone.now().isoformat(), **detail},
        ]
        RegistrationAttempt.objects.filter(pk=self.row.pk).update(steps=self.row.steps)

    def finish(self, status: str, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.row, name, value)
        self.row.status = status
        self.row.finished_at = timezone.now()
        self.row.save()


def customer_register(
    *,
    data: RegistrationData,
    source: RegistrationSource,
    order_type: str | None = None,
    gateway: SalesforceGateway | None = None,
    whmcs: WhmcsClient | None = None,
) -> User:
    """Create the customer everywhere and return the portal user (not yet logged in)."""
    email = User.objects.normalize_email(data.email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {"email": _("An account with this email address already exists.")}, code="email_taken"
        )
    try:
        with transaction.atomic():
            row = RegistrationAttempt.objects.create(email=email, source=source)
    except IntegrityError:
        raise ValidationError(
            {"email": _("A registration for this email address is already in progress.")}, code="in_progress"
        ) from None
    attempt = _Attempt(row)
    customer_number = f"P{row.pk:07d}"

    account_id, contact_id = _create_salesforce_account(
        attempt, data, email, customer_number, source, gateway
    )
    whmcs_client_id = _create_whmcs_client(attempt, data, email, account_id, whmcs)

    try:
        with transaction.atomic():
            user = _create_portal_records(
                data, email, customer_number, source, account_id, contact_id, whmcs_client_id, order_type
            )
            attempt.finish(
                RegistrationAttempt.Status.SUCCEEDED,
                user=user,
                customer_number=customer_number,
                salesforce_account_id=account_id,
                salesforce_contact_id=contact_id,
                whmcs_client_id=whmcs_client_id,
            )
    except Exception as exc:
        reason = f"Portal user creation failed after WHMCS client creation: {type(exc).__name__}"
        with transaction.atomic():
            OrphanedWhmcsClient.objects.get_or_create(
                whmcs_client_id=whmcs_client_id,
                defaults={
                    "email": email,
                    "salesforce_account_id": account_id,
                    "detected_by": OrphanedWhmcsClient.DetectedBy.REGISTRATION_FAILURE,
                    "reason": f"{reason} (registration attempt {row.pk}).",
                },
            )
            attempt.step("portal_user", "failed", error=type(exc).__name__)
            attempt.finish(
                RegistrationAttempt.Status.FAILED,
                customer_number=customer_number,
                salesforce_account_id=account_id,
                salesforce_contact_id=contact_id,
                whmcs_client_id=whmcs_client_id,
                error=reason,
            )
        logger.exception("Registration %s failed creating the portal user", row.pk)
        if isinstance(exc, IntegrityError):
            raise ValidationError(
                {"email": _("An account with this email address already exists.")}, code="email_taken"
            ) from exc
        raise
    attempt.step("portal_user", "succeeded", user_id=user.pk)
    attempt.step("id_mapping", "succeeded")
    logger.info("Registered customer %s (Account %s, WHMCS client %s)", user.pk, account_id, whmcs_client_id)
    return user


def _create_salesforce_account(
    attempt: _Attempt,
    data: RegistrationData,
    email: str,
    customer_number: str,
    source: RegistrationSource,
    gateway: SalesforceGateway | None,
) -> tuple[str, str]:
    field_map = get_field_map()
    account = field_map.record(
        "Account",
        {
            "name": f"{data.last_name} {data.first_name}",
            "customer_number": customer_number,
            "portal_status": PortalStatus.ACTIVE,
            "registration_source": source,
            "phone": data.phone_number,
            "billing_street": " ".join(filter(None, [data.address_line1, data.address_line2])),
            "billing_city": data.city,
            "billing_state": data.prefecture,
            "billing_postal_code": data.postal_code,
            "billing_country": "JP",
        },
    )
    contact = field_map.record(
        "Contact",
        {
            "account_id": "@{account.id}",
            "first_name": data.first_name,
            "last_name": data.last_name,
            "email": email,
            "phone": data.phone_number,
            "birth_date": data.birth_date.isoformat() if data.birth_date else None,
        },
    )
    try:
        gateway = gateway or get_gateway()
        result = gateway.composite(
            [
                CompositeSubrequest.create("Account", "account", account),
                CompositeSubrequest.create("Contact", "contact", contact),
            ],
            all_or_none=True,
        )
    except SalesforceError as exc:
        attempt.step("salesforce_account", "failed", error_code=exc.error_code)
        attempt.finish(RegistrationAttempt.Status.FAILED, customer_number=customer_number, error=str(exc))
        raise ServiceUnavailableError(
            _("We could not create your account right now. Please try again in a few minutes."),
            code="registration_unavailable",
        ) from exc
    account_id, contact_id = result.ids["account"], result.ids["contact"]
    attempt.step("salesforce_account", "succeeded", salesforce_account_id=account_id)
    attempt.step("salesforce_contact", "succeeded", salesforce_contact_id=contact_id)
    return account_id, contact_id


def _create_whmcs_client(
    attempt: _Attempt, data: RegistrationData, email: str, account_id: str, whmcs: WhmcsClient | None
) -> int:
    try:
        whmcs = whmcs or get_whmcs_client()
        client_id = whmcs.add_client(
            first_name=data.first_name,
            last_name=data.last_name,
            email=email,
            address1=data.address_line1,
            address2=data.address_line2,
            city=data.city,
            state=data.prefecture,
            postcode=data.postal_code,
            country="JP",
            phone_number=data.phone_number,
            # Customers sign in to the portal only; the billing client gets an unusable password.
            password=secrets.token_urlsafe(24),
            notes=f"{WHMCS_CLIENT_NOTE}; Salesforce Account {account_id}",
        )
    except WhmcsError as exc:
        attempt.step("whmcs_client", "failed", error=exc.message)
        attempt.finish(RegistrationAttempt.Status.FAILED, salesforce_account_id=account_id, error=str(exc))
        raise ServiceUnavailableError(
            _("We could not create your account right now. Please try again in a few minutes."),
            code="registration_unavailable",
        ) from exc
    attempt.step("whmcs_client", "succeeded", whmcs_client_id=client_id)
    return client_id


def _create_portal_records(
    data: RegistrationData,
    email: str,
    customer_number: str,
    source: RegistrationSource,
    account_id: str,
    contact_id: str,
    whmcs_client_id: int,
    order_type: str | None,
) -> User:
    user = User(email=email, first_name=data.first_name, last_name=data.last_name)
    user.set_password(data.password)
    user.save()
    CustomerProfile.objects.create(
        user=user,
        customer_number=customer_number,
        first_name_kana=data.first_name_kana,
        last_name_kana=data.last_name_kana,
        birth_date=data.birth_date,
        phone_number=data.phone_number,
        postal_code=data.postal_code,
        prefecture=data.prefecture,
        city=data.city,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        portal_status=PortalStatus.ACTIVE,
        registration_source=source,
        synced_at=timezone.now(),
    )
    IdMapping.objects.create(
        user=user,
        salesforce_account_id=account_id,
        salesforce_contact_id=contact_id,
        whmcs_client_id=whmcs_client_id,
    )

    field_map = get_field_map()
    subrequests = [
        CompositeSubrequest.update(
            "Account",
            account_id,
            "account",
            field_map.record("Account", {"whmcs_client_id": str(whmcs_client_id)}),
        )
    ]
    write_backs = []
    if order_type == ProductType.SIM:
        # The SIM Opportunity is created at checkout registration; order placement then
        # finds it (SIM: "open or new") and moves it on.
        opportunity = Opportunity.objects.create(
            user=user,
            name=f"{data.last_name} {data.first_name} - SIM",
            product_type=ProductType.SIM,
            stage=OpportunityStage.INTRODUCTION,
            commodity_type=CommodityType.SIM,
            source=OpportunitySource.ORDER_PLACEMENT,
            close_date=timezone.localdate(),
        )
        subrequests.append(
            CompositeSubrequest.create(
                "Opportunity",
                "opportunity",
                field_map.record(
                    "Opportunity",
                    {
                        "account_id": account_id,
                        "name": opportunity.name,
                        "stage": opportunity.stage,
                        "commodity_type": opportunity.commodity_type,
                        "source": opportunity.source,
                        "close_date": opportunity.close_date.isoformat() if opportunity.close_date else None,
                    },
                ),
            )
        )
        write_backs.append(WriteBack("opportunity", "opportunities.Opportunity", opportunity.pk))
    outbox_enqueue_salesforce(
        operation="registration.link_whmcs_client",
        record_key=account_record_key(account_id),
        subrequests=subrequests,
        write_backs=write_backs,
    )
    return user
