"""The API schema: drf-spectacular's, with ``Idempotency-Key`` documented wherever it is honoured.

Operations whose handler wears ``apps.idempotency.api.idempotent`` get the one header
description below, the ``Idempotent-Replayed`` header on their successful answers and the 409
answers the key brings (added to a 409 the operation documents already), so no view repeats them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes

from apps.idempotency.api import KEY_HEADER, REPLAYED_HEADER, Idempotency, idempotency_of
from apps.idempotency.models import KEY_MAX_LENGTH


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
        if operation is None or self._idempotency() is None:
            return operation
        responses = operation["responses"]
        earlier = responses.get("409", {}).get("description", "").rstrip(".")
        description = f"{earlier}. {CONFLICT_DESCRIPTION}" if earlier else CONFLICT_DESCRIPTION
        responses["409"] = {**responses.get("409", {}), "description": description}
        return operation
