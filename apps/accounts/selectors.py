"""Reads of customer accounts."""

from __future__ import annotations

from django.utils.translation import gettext

from apps.accounts.models import IdMapping, User
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
