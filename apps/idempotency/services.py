"""Idempotency keys: the first request with a key runs, repeats get its answer.

Like Stripe's: a client sends ``Idempotency-Key`` with a creating POST, and every repeat of that
request with that key (a double click, a retry after a lost answer) gets the first answer back
instead of creating again. The same key with another request is refused, and so is a repeat while
the first is still running. Only successful answers are kept: after a refusal the client fixes
the request and sends it again with the same key.

The HTTP side (reading the header, the fingerprint, the view decorator) is ``apps.idempotency.api``;
this module keeps the rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.idempotency.models import KEY_MAX_LENGTH, IdempotentRequest
from portal.exceptions import ApplicationError, ConflictError

IN_PROGRESS_RETRY_AFTER_SECONDS = 1
"""What a repeat that arrives while the first request runs is told to wait: most answer within a
second, and one that died frees its key when its lock runs out (``IDEMPOTENCY_LOCK``)."""


class IdempotencyKeyReused(ConflictError):
    def __init__(self) -> None:
        super().__init__(
            gettext("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
        )


class IdempotencyKeyInProgress(ConflictError):
    def __init__(self) -> None:
        super().__init__(
            gettext("A request with this Idempotency-Key is still being processed. Please try again."),
            code="idempotency_key_in_progress",
            headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER_SECONDS)},
        )


def idempotency_key_clean(value: str | None) -> str | None:
    """The key a client sent, without surrounding spaces; None when it sent none (or a blank one).
    Raises ``ApplicationError`` for a key longer than 255 characters or with unprintable ones."""
    key = (value or "").strip()
    if not key:
        return None
    if len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise ApplicationError(
            gettext("The Idempotency-Key header must be at most %(max)d printable characters.")
            % {"max": KEY_MAX_LENGTH},
            code="idempotency_key_invalid",
        )
    return key


def idempotency_key_require(value: str | None) -> str:
    """``idempotency_key_clean`` for an operation that needs a key."""
    key = idempotency_key_clean(value)
    if key is None:
        raise ApplicationError(
            gettext("The Idempotency-Key header is required."), code="idempotency_key_required"
        )
    return key


def idempotent_request_begin(
    *, scope: str, operation: str, key: str, fingerprint: str, now: datetime | None = None
) -> IdempotentRequest:
    """Claim ``key`` for this request, or find the answer an earlier one left.

    Returns the row: in progress, this request holds the key and must run, then call
    ``idempotent_request_complete`` or ``idempotent_request_release``; completed, the answer to
    replay. Raises ``IdempotencyKeyReused`` when the key came with another request, and
    ``IdempotencyKeyInProgress`` while an earlier request with it still runs.
    """
    now = now or timezone.now()
    locked_until = now + settings.IDEMPOTENCY_LOCK
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                scope=scope, operation=operation, key=key, fingerprint=fingerprint, locked_until=locked_until
            )
    except IntegrityError:
        pass
    earlier = IdempotentRequest.objects.filter(scope=scope, operation=operation, key=key).first()
    if earlier is None:
        # Released between our insert and this read: the other request was refused a moment ago.
        raise IdempotencyKeyInProgress()
    if earlier.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if earlier.state == IdempotentRequest.State.COMPLETED:
        return earlier
    if earlier.locked_until > now:
        raise IdempotencyKeyInProgress()
    # The earlier request died mid-way (its lock ran out): this one takes the key over. The old
    # expiry in the filter makes one of several such requests the winner.
    taken = IdempotentRequest.objects.filter(
        pk=earlier.pk, state=IdempotentRequest.State.IN_PROGRESS, locked_until=earlier.locked_until
    ).update(locked_until=locked_until)
    if not taken:
        raise IdempotencyKeyInProgress()
    earlier.locked_until = locked_until
    return earlier


def idempotent_request_complete(
    claim: IdempotentRequest, *, status: int, body: Any, now: datetime | None = None
) -> None:
    """Keep the answer of the request holding ``claim``, for its repeats.

    A claim taken over meanwhile (this request outlived its lock) is left to the newer request.
    """
    IdempotentRequest.objects.filter(
        pk=claim.pk, state=IdempotentRequest.State.IN_PROGRESS, locked_until=claim.locked_until
    ).update(
        state=IdempotentRequest.State.COMPLETED,
        response_status=status,
        response_body=body,
        completed_at=now or timezone.now(),
    )


def idempotent_request_release(claim: IdempotentRequest) -> None:
    """Free the key after a request that did not succeed, so the client can send it again."""
    IdempotentRequest.objects.filter(
        pk=claim.pk, state=IdempotentRequest.State.IN_PROGRESS, locked_until=claim.locked_until
    ).delete()


def idempotent_requests_delete_expired(*, now: datetime | None = None) -> int:
    """Delete the keys older than ``IDEMPOTENCY_KEY_RETENTION``; returns how many. A repeat after
    that runs as a new request (the domain's own rules still refuse a duplicate order)."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_RETENTION
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
