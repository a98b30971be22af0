"""``GET /api/me/status`` (the dashboard's single read model) and ``GET /api/me/summary``."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.dashboard import DASHBOARD_COUNT_CAP, Dashboard, customer_dashboard
from apps.accounts.dashboard_cache import dashboard_cached
from apps.accounts.models import EligibilityStatus, IdVerificationStatus
from apps.accounts.services import dashboard_notify_invoice_due
from apps.billing.models import WhmcsInvoice
from apps.verification.api.serializers import RejectionOutputSerializer
from apps.verification.models import RejectionReason
from apps.verification.selectors import rejection_remediation
from portal.api import signed_in_user
from portal.fields import EnumField, MoneyField


class InvoiceSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    number = serializers.CharField()
    status = EnumField(choices=WhmcsInvoice.Status.choices)
    issued_on = serializers.DateField()
    due_on = serializers.DateField()
    total = MoneyField(help_text="In the minor unit of `currency` (whole yen for JPY).")
    currency = serializers.CharField(source="currency_code")
    is_overdue = serializers.BooleanField()


class ActivitySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["order", "invoice", "notification"])
    title = serializers.CharField()
    at = serializers.DateTimeField()
    link = serializers.CharField(allow_null=True)


def _capped_count() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0,
        max_value=DASHBOARD_COUNT_CAP,
        help_text=f"Counted up to {DASHBOARD_COUNT_CAP}: {DASHBOARD_COUNT_CAP} means that many or more "
        f'(the portal shows "{DASHBOARD_COUNT_CAP - 1}+").',
    )


class StatsSerializer(serializers.Serializer):
    active_services = _capped_count()
    unpaid_invoices = _capped_count()
    orders_in_progress = _capped_count()
    unread_notifications = _capped_count()


class SummarySerializer(serializers.Serializer):
    stats = StatsSerializer()
    next_invoice = InvoiceSummarySerializer(allow_null=True)
    recent_activity = ActivitySerializer(many=True)


class EligibilitySerializer(serializers.Serializer):
    status = EnumField(
        choices=EligibilityStatus.choices,
        allow_null=True,
        help_text="Null until the customer asks for an internet availability check; then pending, eligible or ineligible.",
    )
    offering = serializers.CharField()
    requested_at = serializers.DateTimeField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField()


class VerificationSerializer(serializers.Serializer):
    """The residence card check; `rejection` is the same object as in
    `/api/verification/residence-card`, null unless the latest card was rejected."""

    status = EnumField(
        choices=IdVerificationStatus.choices,
        allow_null=True,
        help_text="Null until the customer uploads a residence card; then submitted, verified or rejected.",
    )
    submitted_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    rejection = RejectionOutputSerializer(allow_null=True)
    can_resubmit = serializers.BooleanField()


class PaymentMethodsSerializer(serializers.Serializer):
    total_count = serializers.IntegerField(allow_null=True)


class TaskSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=[
            "account_setup",
            "invoice_due",
            "add_payment_method",
            "order_in_progress",
            "eligibility_pending",
            "id_verification_rejected",
            "id_verification_required",
            "onboarding",
        ]
    )
    priority = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    action_label = serializers.CharField()
    action_url = serializers.CharField()


class StatusSerializer(serializers.Serializer):
    summary = SummarySerializer()
    internet_eligibility = EligibilitySerializer()
    residence_card_verification = VerificationSerializer()
    payment_methods = PaymentMethodsSerializer()
    tasks = TaskSerializer(many=True)


def _summary(dashboard: Dashboard) -> dict[str, Any]:
    invoice = dashboard.next_invoice
    next_invoice = None
    if invoice is not None:
        next_invoice = {
            "pk": invoice.pk,
            "number": invoice.number or str(invoice.whmcs_id),
            "status": invoice.status,
            "issued_on": invoice.issued_on,
            "due_on": invoice.due_on,
            "total": invoice.total,
            "currency_code": invoice.currency_code,
            "is_overdue": invoice.due_on < dashboard.today,
        }
    return {
        "stats": {
            "active_services": dashboard.active_services,
            "unpaid_invoices": dashboard.unpaid_invoices,
            "orders_in_progress": dashboard.orders_in_progress,
            "unread_notifications": dashboard.unread_notifications,
        },
        "next_invoice": next_invoice,
        "recent_activity": dashboard.recent_activity(),
    }


def _rejection(dashboard: Dashboard) -> dict[str, Any]:
    reason = dashboard.latest_rejection_reason or RejectionReason.OTHER
    profile = dashboard.profile
    assert profile is not None  # only for a rejected profile
    return {
        "reason": reason,
        "message": profile.id_verification_rejection_message,
        "remediation": rejection_remediation(reason),
    }


def _status(dashboard: Dashboard) -> dict[str, Any]:
    profile = dashboard.profile
    rejected = profile is not None and profile.id_verification_status == IdVerificationStatus.REJECTED
    return {
        "summary": _summary(dashboard),
        "internet_eligibility": {
            "status": profile.internet_eligibility_status if profile else "",
            "offering": profile.internet_eligibility if profile else "",
            "requested_at": profile.internet_eligibility_requested_at if profile else None,
            "checked_at": profile.internet_eligibility_checked_at if profile else None,
            "notes": profile.internet_eligibility_notes if profile else "",
        },
        "residence_card_verification": {
            "status": profile.id_verification_status if profile else "",
            "submitted_at": profile.id_verification_submitted_at if profile else None,
            "verified_at": profile.id_verification_verified_at if profile else None,
            "rejection": _rejection(dashboard) if rejected and profile else None,
            "can_resubmit": profile is not None
            and profile.id_verification_status
            not in (IdVerificationStatus.SUBMITTED, IdVerificationStatus.VERIFIED),
        },
        "payment_methods": {"total_count": dashboard.payment_method_count},
        "tasks": [task.__dict__ for task in dashboard.tasks],
    }


# Built once: a serializer's fields are deep-copied from its class on every instantiation, which
# cost more than representing the dashboard. Representing holds no state, so one instance serves
# every request.
_STATUS_SERIALIZER = StatusSerializer()
_SUMMARY_SERIALIZER = SummarySerializer()


def _json(data: Any) -> bytes:
    """The bytes DRF's JSON renderer answers for ``data`` (compact, as without an ``indent``)."""
    return JSONRenderer().render(data)


def _cached_json_response(request: Request, body: bytes) -> HttpResponseBase:
    """Cached JSON as it is when the client takes plain JSON (every API client); DRF renders it
    again for the browsable API or an ``indent`` asked for in ``Accept``."""
    renderer = request.accepted_renderer
    if isinstance(renderer, JSONRenderer) and "indent" not in (request.accepted_media_type or ""):
        return HttpResponse(body, content_type=renderer.media_type)
    return Response(json.loads(body))


class MeStatusApi(APIView):
    @extend_schema(operation_id="me_status", responses=StatusSerializer, tags=["me"])
    def get(self, request: Request) -> HttpResponseBase:
        """Everything the dashboard shows, from the portal DB; creates ``INVOICE_DUE`` when an
        invoice is due within 7 days or overdue (deduplicated for 24 hours)."""
        user = signed_in_user(request)

        def build() -> bytes:
            dashboard = customer_dashboard(user=user)
            body = _json(_STATUS_SERIALIZER.to_representation(_status(dashboard)))
            # Before the payload is cached, so that the cached copy (kept far shorter than the
            # notification's deduplication) never needs to check again.
            if dashboard.next_invoice_is_due and dashboard.next_invoice is not None:
                dashboard_notify_invoice_due(user_id=user.pk, invoice_id=dashboard.next_invoice.pk)
            return body

        return _cached_json_response(request, dashboard_cached(user.pk, "status", build))


class MeSummaryApi(APIView):
    @extend_schema(operation_id="me_summary", responses=SummarySerializer, tags=["me"])
    def get(self, request: Request) -> HttpResponseBase:
        user = signed_in_user(request)

        def build() -> bytes:
            return _json(_SUMMARY_SERIALIZER.to_representation(_summary(customer_dashboard(user=user))))

        return _cached_json_response(request, dashboard_cached(user.pk, "summary", build))
