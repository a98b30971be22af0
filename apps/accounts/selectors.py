"""Reads of customer accounts."""

from __future__ import annotations

from apps.accounts.models import User


def user_with_profile(*, user_id: int) -> User:
    """The user with their profile and mapping in one query (profile may be absent for staff)."""
    return User.objects.select_related("profile", "id_mapping").get(pk=user_id)
