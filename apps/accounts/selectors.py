"""Reads of customer accounts."""

from __future__ import annotations

from django.utils.translation import gettext

from apps.accounts.models import AccountSetup, IdMapping, RegistrationAttempt, User
from portal.exceptions import ApplicationError


def user_with_profile(*, user_id: int) -> User:
    """The user with their profile and mapping in one query (profile may be absent for staff)."""
    return User.objects.select_related("profile", "id_mapping").get(pk=user_id)


def salesforce_account_id_of(*, user_id: int) -> str:
    """The customer's Salesforce Account ID, from the ID mapping registration created; "" when
    the customer has none (staff, or a registration that did not finish)."""
    return (
        IdMapping.objects.filter(user_id=user_id).values_list("salesforce_account_id", flat=True).first()
        or ""
    )


def customer_account_id(*, user_id: int) -> str:
    """The signed-in customer's Salesforce Account ID for a change they ask for; an
    ``ApplicationError`` for the customer when there is none yet."""
    account_id = salesforce_account_id_of(user_id=user_id)
    if not account_id:
        if RegistrationAttempt.objects.filter(
            user_id=user_id, status__in=RegistrationAttempt.OPEN_STATUSES
        ).exists():
            raise ApplicationError(
                gettext(
                    "We are still setting up your account. This usually takes a minute; please try "
                    "again shortly."
                ),
                code="account_setup_in_progress",
            )
        raise ApplicationError(
            gettext("Your customer account is not set up yet. Please contact support."),
            code="account_not_linked",
        )
    return account_id


def decision_account_id(*, user_id: int) -> str:
    """The Salesforce Account ID of the customer an agent decides about; an ``ApplicationError``
    for the agent when the customer has none yet (the decision could not reach Salesforce)."""
    account_id = salesforce_account_id_of(user_id=user_id)
    if not account_id:
        raise ApplicationError(
            gettext("This customer has no Salesforce Account yet, so the decision cannot be recorded."),
            code="account_not_linked",
        )
    return account_id


def account_setup_of(*, user: User) -> AccountSetup:
    """How far the customer's registration has come: ``complete`` once their Salesforce and
    WHMCS records are linked, else their open attempt's ``in_progress`` (the worker finishes it)
    or ``needs_attention`` (support finishes it), else ``not_linked``."""
    if user.is_staff or IdMapping.objects.filter(user=user).exists():
        return AccountSetup.COMPLETE
    status = (
        RegistrationAttempt.objects.filter(user=user, status__in=RegistrationAttempt.OPEN_STATUSES)
        .values_list("status", flat=True)
        .first()
    )
    if status == RegistrationAttempt.Status.NEEDS_ATTENTION:
        return AccountSetup.NEEDS_ATTENTION
    return AccountSetup.IN_PROGRESS if status else AccountSetup.NOT_LINKED
