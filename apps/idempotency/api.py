"""``Idempotency-Key`` on the API: the decorator a creating POST wears.

A view opts in by decorating its handler (under ``extend_schema``, which ``portal.schema``
completes with the header and the 409 answers)::

    @extend_schema(...)
    @idempotent()
    def post(self, request: Request) -> Response: ...

With the header, the first request runs and, when it succeeds (2xx), its status and JSON body are
kept; a repeat with the same key and the same request gets them back with ``Idempotent-Replayed:
true`` and the handler does not run again. The same key with another request is 409
``idempotency_key_reused``, a repeat while the first still runs 409 ``idempotency_key_in_progress``
(``Retry-After``). An answer that is not a success keeps nothing, so the key can be sent again.
Without the header the handler runs as it always did, unless the operation ``required`` it.

Keys belong to the signed-in customer (another customer's key is another key), and to one
operation (the URL pattern): on anonymous operations (sign-up) the key and the operation are all
there is, so their ``replay`` must check that the repeat comes from whoever made the first request.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.utils.datastructures import MultiValueDict
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.idempotency.models import IdempotentRequest
from apps.idempotency.services import (
    idempotency_key_clean,
    idempotency_key_require,
    idempotent_request_begin,
    idempotent_request_complete,
    idempotent_request_release,
)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

ReplayHook = Callable[[Request, Response], Response]
"""Called with a repeat and the answer kept for it; returns the answer to send (after doing what
a replay must do again, such as signing in), or raises ``IdempotencyKeyReused`` to refuse it."""


@dataclass(frozen=True)
class Idempotency:
    """How a handler honours ``Idempotency-Key`` (read by ``portal.schema`` to document it)."""

    required: bool
    secret_fields: frozenset[str]
    replay: ReplayHook | None


View = TypeVar("View", bound=APIView)
Arguments = ParamSpec("Arguments")
Handler = Callable[Concatenate[View, Request, Arguments], Response]


def idempotent(
    *, required: bool = False, secret_fields: Iterable[str] = (), replay: ReplayHook | None = None
) -> Callable[[Handler[View, Arguments]], Handler[View, Arguments]]:
    """Make a view handler honour ``Idempotency-Key`` (see the module's docstring).

    ``required``: a request without the key is refused (400 ``idempotency_key_required``).
    ``secret_fields``: top-level body fields (``password``) left out of the fingerprint, so they
    are neither kept nor hashed; a ``replay`` hook checks them instead.
    """
    policy = Idempotency(required=required, secret_fields=frozenset(secret_fields), replay=replay)

    def decorate(handler: Handler[View, Arguments]) -> Handler[View, Arguments]:
        @functools.wraps(handler)
        def honour_key(
            view: View, request: Request, *args: Arguments.args, **kwargs: Arguments.kwargs
        ) -> Response:
            header = request.headers.get(KEY_HEADER)
            key = idempotency_key_require(header) if policy.required else idempotency_key_clean(header)
            if key is None:
                return handler(view, request, *args, **kwargs)
            claim = idempotent_request_begin(
                scope=request_scope(request),
                operation=request_operation(request),
                key=key,
                fingerprint=request_fingerprint(
                    request.data, url_kwargs=view.kwargs, secret_fields=policy.secret_fields
                ),
            )
            if claim.state == IdempotentRequest.State.COMPLETED:
                replayed = Response(
                    claim.response_body, status=claim.response_status, headers={REPLAYED_HEADER: "true"}
                )
                return policy.replay(request, replayed) if policy.replay is not None else replayed
            try:
                response = handler(view, request, *args, **kwargs)
            except BaseException:
                idempotent_request_release(claim)
                raise
            if status.is_success(response.status_code):
                idempotent_request_complete(claim, status=response.status_code, body=response.data)
            else:
                idempotent_request_release(claim)
            return response

        honour_key.idempotency = policy  # type: ignore[attr-defined]  # read by portal.schema
        return honour_key

    return decorate


def idempotency_of(handler: object) -> Idempotency | None:
    """How ``handler`` honours ``Idempotency-Key``, or None when it does not."""
    policy = getattr(handler, "idempotency", None)
    return policy if isinstance(policy, Idempotency) else None


def request_scope(request: Request) -> str:
    """Whose keys: the signed-in customer's, or the anonymous operation's."""
    return f"user:{request.user.pk}" if request.user.is_authenticated else "anonymous"


def request_operation(request: Request) -> str:
    """The method and URL pattern (``POST api/support/cases/<int:case_id>/comments``); the URL's
    arguments are part of the fingerprint, so a key reused on another case is refused."""
    match = request._request.resolver_match
    return f"{request.method} {match.route if match is not None else request.path}"


def request_fingerprint(data: Any, *, url_kwargs: Mapping[str, Any], secret_fields: frozenset[str]) -> str:
    """SHA-256 of the URL arguments and the parsed body, in a canonical JSON: key order does not
    matter, files count by their content's digest, ``secret_fields`` are left out."""
    canonical = {"url": dict(url_kwargs), "body": _canonical_body(data, secret_fields)}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _canonical_body(data: Any, secret_fields: frozenset[str]) -> Any:
    if isinstance(data, MultiValueDict):  # form and multipart bodies
        return {
            name: [
                _file_digest(value) if isinstance(value, UploadedFile) else value
                for value in data.getlist(name)
            ]
            for name in data
            if name not in secret_fields
        }
    if isinstance(data, Mapping):
        return {name: value for name, value in data.items() if name not in secret_fields}
    return data


def _file_digest(upload: UploadedFile) -> dict[str, str]:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)  # the handler reads it next
    return {"sha256": digest.hexdigest()}
