"""Small helpers shared by the API views of every app."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from apps.accounts.models import User

DATABASE_ID_MAX = 2**63 - 1
"""The largest primary key (``BigAutoField``: a signed 64-bit integer on SQLite and PostgreSQL).
A larger number cannot name a row, and the database driver fails on it with ``OverflowError``."""


class DatabaseIdField(serializers.IntegerField):
    """An input naming a row by its ID: 1 to ``DATABASE_ID_MAX``, so that a number out of that
    range is a validation error (400) rather than a database overflow (500)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=DATABASE_ID_MAX, **kwargs)


def signed_in_user(request: Request) -> User:
    """The request's user, typed; views behind ``IsAuthenticated`` never see an anonymous one."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
