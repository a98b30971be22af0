"""Small helpers shared by the API views of every app."""

from __future__ import annotations

from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from apps.accounts.models import User


def signed_in_user(request: Request) -> User:
    """The request's user, typed; views behind ``IsAuthenticated`` never see an anonymous one."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
