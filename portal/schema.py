"""The API schema: drf-spectacular's, completed here so that no view repeats the common parts.

- Every error response an operation can give is documented with the ``Error`` component (the
  envelope of ``portal.exceptions``) and an example: 400 where it takes input, 401 and 403 where it
  needs a signed-in customer, 403 for a failed CSRF check on unsafe methods, 404 where its path
  names a record, 415 where it takes a body, 429 (with ``Retry-After``) where it is throttled, and
  any other error status the view documents itself.
- Security: the session cookie, and the ``X-CSRFToken`` header on unsafe methods.
- Summaries, descriptions and examples come from ``portal/operations.yaml`` (keyed by operation
  id) unless the view's ``extend_schema`` gives them; view docstrings are for developers and never
  reach the schema. ``tests/portal/test_api_contract.py`` fails for an operation without them.
- Operations whose handler wears ``apps.idempotency.api.idempotent`` get the one header
  description below, the ``Idempotent-Replayed`` header on their successful answers and the 409
  answers the key brings (added to a 409 the operation documents already).
- Views on the default parsers are documented as taking JSON only (forms are still parsed, but
  JSON is the contract).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.settings import api_settings

from apps.idempotency.api import KEY_HEADER, REPLAYED_HEADER, Idempotency, idempotency_of
from apps.idempotency.models import KEY_MAX_LENGTH
from portal.authentication import CSRF_HEADER

OPERATIONS_FILE = Path(__file__).with_name("operations.yaml")
"""Summary, description and examples of every operation, keyed by operation id."""

SESSION_SCHEME = "session"
CSRF_SCHEME = "csrf"


@functools.cache
def operation_docs() -> dict[str, dict[str, Any]]:
    with OPERATIONS_FILE.open(encoding="utf-8") as file:
        return dict(yaml.safe_load(file) or {})


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code of this field's error, e.g. `required`.")
    message = serializers.CharField(help_text="The error, translated for the customer.")


class ErrorSerializer(serializers.Serializer):
    """Every error under /api/ has this shape."""

    code = serializers.CharField(
        help_text="Stable machine code to branch on (`invalid`, `not_authenticated`, `not_found`, "
        "`throttled`, or the business rule refused, e.g. `id_verification_required`)."
    )
    message = serializers.CharField(
        help_text="What went wrong, translated for the customer (`Accept-Language`: en or ja)."
    )
    # Declared fields leave the class body (DRF's metaclass), so this does not hide Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=FieldErrorSerializer()),
        required=False,
        help_text="Validation errors only (`code` is `invalid`): field name → its errors. Nested fields "
        "are named with dots (`items.0.quantity`); errors about the whole body are under "
        "`non_field_errors`.",
    )
    details = serializers.DictField(
        required=False,
        help_text="Only when the error carries data, e.g. `retry_after` (seconds) of `throttled`, or the "
        "choices a business rule allows.",
    )
    request_id = serializers.CharField(
        help_text="Names this request in the portal's logs (also in the `X-Request-ID` response header): "
        "quote it when reporting a problem."
    )


REQUEST_ID_EXAMPLE = "5f0c1e9a7b3d4c2e8a6f1b0d9c8e7a6b"

ERROR_RESPONSES: dict[str, tuple[str, dict[str, Any]]] = {
    "400": (
        "The request is not valid (`invalid`, with `fields`), or a business rule refused it.",
        {
            "code": "invalid",
            "message": "Some of the data sent is not valid: see the errors of each field.",
            "fields": {"email": [{"code": "invalid", "message": "Enter a valid email address."}]},
        },
    ),
    "401": (
        "Not signed in (`not_authenticated`): sign in with `POST /api/auth/login`.",
        {"code": "not_authenticated", "message": "Authentication credentials were not provided."},
    ),
    "403": (
        "Signed in but not allowed (`permission_denied`), or the CSRF check failed (`csrf_failed`).",
        {
            "code": "csrf_failed",
            "message": "The CSRF check failed: send the token from GET /api/auth/csrf in the "
            "X-CSRFToken header.",
        },
    ),
    "404": (
        "No such record of the signed-in customer (`not_found`).",
        {"code": "not_found", "message": "Not found."},
    ),
    "409": ("The request conflicts with the current state.", {"code": "conflict", "message": "Conflict."}),
    "415": (
        "The body is not JSON (`unsupported_media_type`).",
        {"code": "unsupported_media_type", "message": 'Unsupported media type "text/plain" in request.'},
    ),
    "429": (
        "Too many requests (`throttled`): `Retry-After` says after how many seconds to try again.",
        {
            "code": "throttled",
            "message": "Request was throttled. Expected available in 42 seconds.",
            "details": {"retry_after": 42},
        },
    ),
    "503": (
        "A system the request needs is unavailable: try again later.",
        {"code": "service_unavailable", "message": "Service temporarily unavailable, try again later."},
    ),
}
GENERIC_ERROR = ("An error.", {"code": "error", "message": "An error."})


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "portal.authentication.SessionAuthentication"
    name = SESSION_SCHEME

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "Django's session cookie, set by `POST /api/auth/login` (or sign-up) and "
            "ended by `POST /api/auth/logout`. Browsers send it by themselves; other clients keep "
            "the cookies of the answers. Unsafe methods (POST, PUT, PATCH, DELETE) also need the "
            f"`{CSRF_SCHEME}` scheme.",
        }


CSRF_DEFINITION = {
    "type": "apiKey",
    "in": "header",
    "name": CSRF_HEADER,
    "description": "Every POST, PUT, PATCH and DELETE, signed in or not (sign-in and sign-up too), "
    f"sends `{CSRF_HEADER}` with the token from `GET /api/auth/csrf`, which also sets the "
    f"`{settings.CSRF_COOKIE_NAME}` cookie that must come along. Without them the answer is 403 "
    "`csrf_failed`. The token changes when the customer signs in: fetch it again then.",
}


def key_description(*, required: bool) -> str:
    hours = round(settings.IDEMPOTENCY_KEY_RETENTION.total_seconds() / 3600)
    return (
        f"{'' if required else 'Recommended. '}A value unique to this request, e.g. a UUID: at most "
        f"{KEY_MAX_LENGTH} printable characters. Send it again with a retry (a lost answer, a double "
        f"click) and the first request's answer comes back with `{REPLAYED_HEADER}: true` instead of "
        f"a second record. Keys are yours alone and kept for {hours} hours; an answer that is not a "
        "success is not kept, so after fixing the request send it again with the same key."
    )


CONFLICT_DESCRIPTION = (
    "The Idempotency-Key was used for a different request (`idempotency_key_reused`), or a "
    "request with it is still running (`idempotency_key_in_progress`; try again after "
    "`Retry-After` seconds)."
)


class AutoSchema(openapi.AutoSchema):
    def get_description(self) -> str:  # type: ignore[override]
        # Not the view's docstring: that is written for developers (operations.yaml is for users).
        return ""

    def map_parsers(self) -> list[Any]:
        if list(self.view.parser_classes) == list(api_settings.DEFAULT_PARSER_CLASSES):
            return ["application/json"]
        return super().map_parsers()

    def get_auth(self) -> list[dict[str, Any]]:
        requirements = super().get_auth()
        if self.method in SAFE_METHODS:
            return requirements
        self.registry.register_on_missing(
            ResolvedComponent(
                name=CSRF_SCHEME,
                type=ResolvedComponent.SECURITY_SCHEMA,
                object=CSRF_SCHEME,
                schema=CSRF_DEFINITION,
            )
        )
        with_csrf: list[dict[str, Any]] = []
        for requirement in requirements or [{}]:
            combined = {**requirement, CSRF_SCHEME: []}
            if combined not in with_csrf:
                with_csrf.append(combined)
        return with_csrf

    def _needs_sign_in(self) -> bool:
        return bool(self.view.get_authenticators()) and not all(
            isinstance(permission, AllowAny) for permission in self.view.get_permissions()
        )

    def _error_statuses(self, operation: dict[str, Any]) -> set[str]:
        statuses = {code for code in operation["responses"] if code.isdigit() and int(code) >= 400}
        parameters = operation.get("parameters", [])
        if "requestBody" in operation:
            statuses |= {"400", "415"}
        if any(parameter.get("in") == "query" for parameter in parameters):
            statuses.add("400")
        if any(parameter.get("in") == "path" for parameter in parameters):
            statuses.add("404")
        if self._paginated(operation) or self._cursor_paginated(operation):
            statuses.add("404")  # a page past the last, or a cursor that does not decode
        if self._needs_sign_in():
            statuses.add("401")
        permissions = self.view.get_permissions()
        if self.method not in SAFE_METHODS or any(
            type(permission) not in (AllowAny, IsAuthenticated) for permission in permissions
        ):
            statuses.add("403")  # the CSRF check, or a permission beyond being signed in
        if self.view.get_throttles():
            statuses.add("429")
        return statuses

    @staticmethod
    def _paginated(operation: dict[str, Any]) -> bool:
        return any(
            parameter.get("in") == "query" and parameter.get("name") == "page"
            for parameter in operation.get("parameters", [])
        )

    @staticmethod
    def _cursor_paginated(operation: dict[str, Any]) -> bool:
        return any(
            parameter.get("in") == "query" and parameter.get("name") == "cursor"
            for parameter in operation.get("parameters", [])
        )

    def _document_errors(self, operation: dict[str, Any]) -> None:
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation["responses"]
        for code in sorted(self._error_statuses(operation)):
            description, example = ERROR_RESPONSES.get(code, GENERIC_ERROR)
            documented = responses.get(code, {})
            if documented.get("description"):
                description = self._with_common_causes(code, operation, documented["description"])
            elif code == "404" and self._paginated(operation):
                description = "No such page (`not_found`): `page` is below 1 or past the last page."
            elif code == "404" and self._cursor_paginated(operation):
                description = "No such page (`not_found`): `cursor` does not decode (use the `next` and `previous` URLs as given)."
            response: dict[str, Any] = {
                "content": {
                    "application/json": {
                        "schema": error,
                        "examples": {
                            example["code"]: {"value": {**example, "request_id": REQUEST_ID_EXAMPLE}}
                        },
                    }
                },
                "description": description,
            }
            headers = dict(documented.get("headers", {}))
            if code == "401":
                headers["WWW-Authenticate"] = {
                    "schema": {"type": "string", "enum": ['Session realm="api"']},
                    "description": "The session cookie is the only way to authenticate.",
                }
            if code in {"429", "503"} or (code == "409" and self._idempotency() is not None):
                headers["Retry-After"] = {
                    "schema": {"type": "integer", "minimum": 0},
                    "description": "Seconds to wait before trying again.",
                }
            if headers:
                response["headers"] = headers
            responses[code] = response
        operation["responses"] = dict(sorted(responses.items()))

    def _with_common_causes(self, code: str, operation: dict[str, Any], description: str) -> str:
        """A view's own description of a 400 or 403, plus the causes every such operation shares."""
        description = description.rstrip(".")
        if (
            code == "400"
            and "requestBody" in operation
            and not re.search(r"`invalid`|[Vv]alidation", description)
        ):
            description += ". Or the body is not valid (`invalid`, with `fields`)"
        if code == "403" and self.method not in SAFE_METHODS and "csrf_failed" not in description:
            description += ". Or the CSRF check failed (`csrf_failed`)"
        return description + "."

    def _document_operation(self, operation: dict[str, Any]) -> None:
        docs = operation_docs().get(operation["operationId"], {})
        for key in ("summary", "description"):
            if not operation.get(key) and docs.get(key):
                operation[key] = str(docs[key]).strip()
        request_example = docs.get("request")
        if request_example is not None and "requestBody" in operation:
            for media in operation["requestBody"]["content"].values():
                media.setdefault("examples", {"example": {"value": request_example}})
        for code, example in (docs.get("responses") or {}).items():
            content = operation["responses"].get(str(code), {}).get("content", {})
            for media in content.values():
                media.setdefault("examples", {"example": {"value": example}})

    def _idempotency(self) -> Idempotency | None:
        return idempotency_of(getattr(self.view, self.method.lower(), None))

    def get_override_parameters(self) -> list[Any]:
        parameters = super().get_override_parameters()
        idempotency = self._idempotency()
        if idempotency is None:
            return parameters
        responses = self.get_response_serializers()
        successes: list[int | str] = (
            [code for code in responses if 200 <= int(code) < 300] if isinstance(responses, dict) else []
        )
        return [
            *parameters,
            OpenApiParameter(
                KEY_HEADER,
                {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH},
                OpenApiParameter.HEADER,
                required=idempotency.required,
                description=key_description(required=idempotency.required),
            ),
            OpenApiParameter(
                REPLAYED_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                enum=["true"],
                response=successes or True,
                description="Present when this is the kept answer of an earlier request with the same key.",
            ),
        ]

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        # Here rather than in get_response_serializers, which extend_schema(responses=...) replaces.
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        if self._idempotency() is not None:
            responses = operation["responses"]
            earlier = responses.get("409", {}).get("description", "").rstrip(".")
            description = f"{earlier}. {CONFLICT_DESCRIPTION}" if earlier else CONFLICT_DESCRIPTION
            responses["409"] = {**responses.get("409", {}), "description": description}
        self._document_errors(operation)
        self._document_operation(operation)
        return operation


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: OpenAPI links from each creating POST whose answer has an ``id`` to the
    operations on that record (``POST /api/orders`` → ``GET /api/orders/{order_id}``), so clients
    and stateful testers know which value to carry from one call to the next."""
    paths = result.get("paths", {})
    schemas = result.get("components", {}).get("schemas", {})
    for path, item in paths.items():
        post = item.get("post")
        if post is None:
            continue
        for code, response in post.get("responses", {}).items():
            if not code.startswith("2"):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            target = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
            if "id" not in target.get("properties", {}):
                continue
            links: dict[str, Any] = {}
            for other_path, other_item in sorted(paths.items()):
                match = re.fullmatch(re.escape(path) + r"/\{(\w+)\}(/[\w-]+)*", other_path)
                if match is None:
                    continue
                for other in other_item.values():
                    parameters = [p for p in other.get("parameters", []) if p.get("in") == "path"]
                    if [p["name"] for p in parameters] == [match.group(1)]:
                        links[other["operationId"]] = {
                            "operationId": other["operationId"],
                            "parameters": {match.group(1): "$response.body#/id"},
                        }
            if links:
                response["links"] = links
    return result
