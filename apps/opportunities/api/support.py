"""Customer APIs for support cases: open a ticket, list and read one's Cases, reply on a ticket.

Only the signed-in customer's customer-visible Cases exist here (``apps.opportunities.support``);
anything else, including the customer's own internal Cases, is 404. Reads come from the portal
DB (never cached); writes reach Salesforce through the outbox.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.idempotency.api import idempotent
from apps.opportunities.support import (
    CASE_STATES,
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    CaseKind,
    SupportCategory,
    comment_view,
    support_case_comment_add,
    support_case_create,
    support_case_get,
    support_case_list,
    support_case_view,
    support_case_views,
)
from portal.api import DatabaseIdField, signed_in_user
from portal.pagination import PagePagination


@extend_schema_field({"type": "string", "enum": list(CASE_STATES)})
class CaseStateField(serializers.CharField):
    """The Case's state: `submitting` until Salesforce has it, then its status."""


@extend_schema_field({"type": "string", "enum": list(CaseKind.CHOICES)})
class CaseKindField(serializers.CharField):
    """A support ticket, or a cancellation request (shown as status only)."""


class RelatedServiceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The subscription's ID (`/api/subscriptions/{id}`).")
    name = serializers.CharField()


class SupportCommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    body = serializers.CharField()
    from_agent = serializers.BooleanField(help_text="Written by our support team (else by the customer).")
    author_name = serializers.CharField()
    submitting = serializers.BooleanField(help_text="True until our support system has the comment.")
    created_at = serializers.DateTimeField()


class SupportCaseListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = CaseKindField()
    case_number = serializers.CharField(help_text='Salesforce\'s case number once known, else "".')
    subject = serializers.CharField()
    category = serializers.ChoiceField(
        choices=SupportCategory.choices, allow_null=True, help_text="Null for cancellation requests."
    )
    state = CaseStateField()
    state_label = serializers.CharField(help_text="The state, translated for the customer.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SupportCaseDetailOutputSerializer(SupportCaseListOutputSerializer):
    description = serializers.CharField(allow_null=True, help_text="Null for cancellation requests.")
    related_service = RelatedServiceOutputSerializer(allow_null=True)
    comments = SupportCommentOutputSerializer(
        many=True, help_text="Published comments, oldest first; always empty for cancellation requests."
    )


class SupportCaseCreateInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=SUBJECT_MAX_LENGTH)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    category = serializers.ChoiceField(choices=SupportCategory.choices)
    service_id = DatabaseIdField(
        required=False,
        allow_null=True,
        default=None,
        help_text="One of the customer's subscriptions (`/api/subscriptions`) the ticket is about.",
    )


class SupportCommentCreateInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=COMMENT_MAX_LENGTH)


class SupportCaseListApi(APIView):
    pagination_class = PagePagination

    InputSerializer = SupportCaseCreateInputSerializer
    OutputSerializer = SupportCaseListOutputSerializer
    DetailOutputSerializer = SupportCaseDetailOutputSerializer

    @extend_schema(
        operation_id="support_cases_list",
        summary="The customer's support cases, newest first",
        description=(
            "Support tickets, and cancellation requests as status only. Internal cases (eligibility "
            "checks, ID verification) are never listed."
        ),
        responses={200: OutputSerializer(many=True)},
        tags=["support"],
    )
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(support_case_list(user=user), request, view=self)
        views = support_case_views(user=user, cases=page or [])
        return paginator.get_paginated_response(self.OutputSerializer(views, many=True).data)

    @extend_schema(
        operation_id="support_cases_create",
        summary="Open a support ticket",
        description=(
            "The ticket is answered at once in state `submitting`; it becomes `new` when our "
            "support system has it (usually within seconds)."
        ),
        request=InputSerializer,
        responses={
            201: DetailOutputSerializer,
            200: OpenApiResponse(
                DetailOutputSerializer,
                description="The same ticket, opened by the customer minutes ago (a double submit).",
            ),
            400: OpenApiResponse(description="Validation error"),
        },
        tags=["support"],
    )
    @idempotent()
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = signed_in_user(request)
        case, created = support_case_create(user=user, **serializer.validated_data)
        return Response(
            self.DetailOutputSerializer(support_case_view(user=user, case=case)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SupportCaseDetailApi(APIView):
    OutputSerializer = SupportCaseDetailOutputSerializer

    @extend_schema(
        operation_id="support_cases_retrieve",
        summary="One of the customer's support cases, with its comments",
        responses={
            200: OutputSerializer,
            404: OpenApiResponse(description="Not one of the customer's cases"),
        },
        tags=["support"],
    )
    def get(self, request: Request, case_id: int) -> Response:
        user = signed_in_user(request)
        case = support_case_get(user=user, case_id=case_id)
        if case is None:
            raise NotFound()
        return Response(self.OutputSerializer(support_case_view(user=user, case=case)).data)


class SupportCaseCommentCreateApi(APIView):
    InputSerializer = SupportCommentCreateInputSerializer
    OutputSerializer = SupportCommentOutputSerializer

    @extend_schema(
        operation_id="support_cases_comments_create",
        summary="Reply on a support ticket",
        description=(
            "Shown on the case at once. Cancellation requests take no comments (400 "
            "`comments_not_available`); a closed ticket answers 409 `case_closed`."
        ),
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            200: OpenApiResponse(
                OutputSerializer,
                description="The same reply, sent by the customer minutes ago (a double submit).",
            ),
            400: OpenApiResponse(description="Validation error, or comments not available"),
            404: OpenApiResponse(description="Not one of the customer's cases"),
            409: OpenApiResponse(description="The case is closed"),
        },
        tags=["support"],
    )
    @idempotent()
    def post(self, request: Request, case_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment, created = support_case_comment_add(
            user=signed_in_user(request), case_id=case_id, body=serializer.validated_data["body"]
        )
        return Response(
            self.OutputSerializer(comment_view(comment)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


support_urlpatterns = [
    path("support/cases", SupportCaseListApi.as_view(), name="support-case-list"),
    path("support/cases/<int:case_id>", SupportCaseDetailApi.as_view(), name="support-case-detail"),
    path(
        "support/cases/<int:case_id>/comments",
        SupportCaseCommentCreateApi.as_view(),
        name="support-case-comments",
    ),
]
