"""Reads of customer accounts."""

from __future__ import annotations

from django.utils.translation import gettext

from apps.accounts.models import IdMapping, User
from portal.exceptions import ApplicationError


def user_with_profile(*, user_id: int) -> User:
    """The user with their profile and mapping in one query (profile may be absent for staff)."""
    return User.objects.select_related("profile", "id_mapping").get(pk=user_id)


def decision_account_id(*, user_id: int) -> str:
    """The Salesforce Account ID of the customer an agent decides about; an ``ApplicationError``
    for the agent when the customer has none yet (the decision could not reach Salesforce)."""
    account_id = (
        IdMapping.objects.filter(user_id=user_id).values_list("salesforce_account_id", flat=True).first()
    )
    if not account_id:
        raise ApplicationError(
            gettext("This customer has no Salesforce Account yet, so the decision cannot be recorded."),
            code="account_not_linked",
        )
    return account_id
