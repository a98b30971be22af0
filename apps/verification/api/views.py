"""Customer APIs for the internet eligibility check and the residence card (ID) verification.

Each endpoint serves only the signed-in customer's own status; there is no ID in the URL, so one
customer cannot name another's records. Reads come from the portal DB; writes commit locally and
reach Salesforce through the outbox, so they succeed while Salesforce is down.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.idempotency.api import idempotent
from apps.verification.api.serializers import (
    EligibilityOutputSerializer,
    EligibilityRequestInputSerializer,
    ResidenceCardInputSerializer,
    ResidenceCardOutputSerializer,
)
from apps.verification.selectors import eligibility_overview, residence_card_overview
from apps.verification.services import eligibility_request_create, residence_card_submit
from apps.verification.uploads import residence_card_check_request_size
from portal.api import signed_in_user


class EligibilityRequestApi(APIView):
    InputSerializer = EligibilityRequestInputSerializer
    OutputSerializer = EligibilityOutputSerializer

    @extend_schema(
        operation_id="eligibility_status",
        summary="The customer's internet eligibility",
        responses={200: OutputSerializer},
        tags=["eligibility"],
    )
    def get(self, request: Request) -> Response:
        overview = eligibility_overview(user_id=signed_in_user(request).pk)
        return Response(self.OutputSerializer(overview).data)

    @extend_schema(
        operation_id="eligibility_request",
        summary="Ask for an internet availability check at an address",
        description=(
            "Our team checks NTT serviceability for the address (usually 1-2 business days). "
            "Refused with 409 `eligibility_pending` while a check is pending."
        ),
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(description="Validation error"),
            409: OpenApiResponse(description="A check is already pending"),
        },
        tags=["eligibility"],
    )
    @idempotent()
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_id = signed_in_user(request).pk
        eligibility_request_create(user_id=user_id, **serializer.validated_data)
        return Response(
            self.OutputSerializer(eligibility_overview(user_id=user_id)).data, status=status.HTTP_201_CREATED
        )


class ResidenceCardMultiPartParser(MultiPartParser):
    """Refuses a body too large for any acceptable card before reading it, whoever reads it first."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        request = (parser_context or {})["request"]
        residence_card_check_request_size(
            request.META.get("CONTENT_LENGTH"), max_bytes=settings.RESIDENCE_CARD_MAX_BYTES
        )
        return super().parse(stream, media_type, parser_context)


class ResidenceCardApi(APIView):
    parser_classes = [ResidenceCardMultiPartParser, FormParser]
    InputSerializer = ResidenceCardInputSerializer
    OutputSerializer = ResidenceCardOutputSerializer

    @extend_schema(
        operation_id="residence_card_status",
        summary="The customer's ID verification",
        responses={200: OutputSerializer},
        tags=["verification"],
    )
    def get(self, request: Request) -> Response:
        overview = residence_card_overview(user_id=signed_in_user(request).pk)
        return Response(self.OutputSerializer(overview).data)

    @extend_schema(
        operation_id="residence_card_submit",
        summary="Upload the residence card for ID verification",
        description=(
            "Multipart `file`: a PNG, JPEG or PDF, judged by its content (not its name). Refused "
            "with 409 while a card is under review or once verified; allowed again after a rejection."
        ),
        request={"multipart/form-data": InputSerializer},
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(
                description="The file is missing, too large or not a sound PNG, JPEG or PDF"
            ),
            409: OpenApiResponse(description="A card is under review, or the customer is already verified"),
        },
        tags=["verification"],
    )
    @idempotent()
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_id = signed_in_user(request).pk
        residence_card_submit(user_id=user_id, uploaded_file=serializer.validated_data["file"])
        return Response(
            self.OutputSerializer(residence_card_overview(user_id=user_id)).data,
            status=status.HTTP_201_CREATED,
        )
