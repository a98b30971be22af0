"""The dashboard's single read model (``GET /api/me/status``, ``GET /api/me/summary``).

Everything comes from the portal DB in one statement whatever the customer's history: a row with
the profile, the ID mapping, the next unpaid invoice and the capped counts, and the recent orders
and notifications (each list bounded). Priority, copy and links of every task are decided here, server-side, so the
client only maps a task type to an icon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import (
    AccountSetup,
    CustomerProfile,
    EligibilityStatus,
    IdMapping,
    IdVerificationStatus,
    User,
)
from apps.accounts.selectors import account_setup_of
from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.checkout.models import ActivationStatus, Order, OrderStatus
from apps.notifications.models import Notification
from apps.notifications.selectors import UNREAD_COUNT_CAP
from apps.verification.models import RejectionReason, ResidenceCardSubmission
from portal.prepared import prepared_cursor

INVOICE_DUE_WINDOW = timedelta(days=7)
RECENT_ACTIVITY = 5
# The dashboard's counts stop here: their cost does not grow with the customer's history.
DASHBOARD_COUNT_CAP = UNREAD_COUNT_CAP  # the bell's cap, so the two agree
ORDER_IN_PROGRESS_STATUSES = (OrderStatus.DRAFT, OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED)
# get_status_display() hashes every (lazy) label on each call; the same lookup, once.
_ORDER_STATUS_LABELS = dict(OrderStatus.choices)
UNPAID_INVOICE_STATUSES = (WhmcsInvoice.Status.UNPAID, WhmcsInvoice.Status.PAYMENT_PENDING)


COUNT_NAMES = (
    "active_services",
    "unpaid_invoices",
    "orders_in_progress",
    "unread_notifications",
    "payment_methods",
)


def _counts_sql(*, user_id: int, now: datetime) -> tuple[list[str], list[Any]]:
    """The five dashboard counts as SQL expressions (one per name of ``COUNT_NAMES``), with their
    parameters in order.

    Each count stops at ``DASHBOARD_COUNT_CAP`` (a ``LIMIT`` inside the count), so its cost is
    bounded by the cap, not by the customer's history: 10 or 10,000 unread notifications cost the
    same. A count equal to the cap reads "at least that many" (the portal shows "99+").
    """
    cap = DASHBOARD_COUNT_CAP

    def capped(table: str, where: str) -> str:
        return f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT {cap:d}) AS capped)"  # noqa: S608 - model names and an int

    def placeholders(values: tuple[str, ...]) -> str:
        return ", ".join(["%s"] * len(values))

    quote = connection.ops.quote_name
    services = quote(WhmcsService._meta.db_table)
    invoices = quote(WhmcsInvoice._meta.db_table)
    orders = quote(Order._meta.db_table)
    notifications = quote(Notification._meta.db_table)
    pay_methods = quote(WhmcsPaymentMethod._meta.db_table)
    read = quote("read")
    expressions = [
        capped(services, "user_id = %s AND status = %s"),
        capped(invoices, f"user_id = %s AND status IN ({placeholders(UNPAID_INVOICE_STATUSES)})"),
        capped(
            orders,
            f"user_id = %s AND (status IN ({placeholders(ORDER_IN_PROGRESS_STATUSES)}) OR activation_status = %s)",
        ),
        capped(notifications, f"user_id = %s AND {read} = %s AND dismissed = %s AND expires_at > %s"),
        capped(pay_methods, "user_id = %s"),
    ]
    params: list[Any] = [
        user_id, WhmcsService.Status.ACTIVE,
        user_id, *UNPAID_INVOICE_STATUSES,
        user_id, *ORDER_IN_PROGRESS_STATUSES, ActivationStatus.ACTIVATING,
        user_id, False, False, connection.ops.adapt_datetimefield_value(now),
        user_id,
    ]  # fmt: skip
    return expressions, params


class _Columns:
    """Some of a model's fields, selected by hand-written SQL and read back as the ORM reads them
    (the backend's converters, then ``Model.from_db``), so the rest of the dashboard works on
    model instances."""

    def __init__(self, model: type[Model], names: tuple[str, ...]) -> None:
        self.model = model
        # In the model's field order: Model.from_db fills the fields not selected in that order.
        self.fields = [
            model_field for model_field in model._meta.concrete_fields if model_field.name in names
        ]
        self.attnames = [model_field.attname for model_field in self.fields]

    def sql(self, alias: str) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(model_field.column)}" for model_field in self.fields)

    def convert(self, values: Sequence[Any]) -> list[Any]:
        converted = []
        for model_field, value in zip(self.fields, values, strict=True):
            column = model_field.cached_col
            field_converters = model_field.get_db_converters(connection)  # type: ignore[attr-defined]
            for converter in [*connection.ops.get_db_converters(column), *field_converters]:
                value = converter(value, column, connection)
            converted.append(value)
        return converted

    def instance(self, values: Sequence[Any]) -> Any:
        """The model instance from the selected values, in ``self.fields`` order."""
        return self.model.from_db(connection.alias, self.attnames, self.convert(values))

    def joined(self, values: Sequence[Any]) -> Any:
        """The instance from a LEFT JOIN's values (the primary key first), None for no row."""
        return None if values[0] is None else self.instance(values)

    def named(self, **values: Any) -> Any:
        return self.instance([values[model_field.name] for model_field in self.fields])


_PROFILE = _Columns(
    CustomerProfile,
    (
        "id",
        "internet_eligibility",
        "internet_eligibility_status",
        "internet_eligibility_requested_at",
        "internet_eligibility_checked_at",
        "internet_eligibility_notes",
        "id_verification_status",
        "id_verification_submitted_at",
        "id_verification_verified_at",
        "id_verification_rejection_message",
    ),
)
_MAPPING = _Columns(IdMapping, ("id", "whmcs_client_id"))
_INVOICE = _Columns(
    WhmcsInvoice, ("id", "whmcs_id", "number", "status", "issued_on", "due_on", "total", "currency_code")
)
_ORDER = _Columns(Order, ("id", "order_number", "status", "created_at"))
_NOTIFICATION = _Columns(Notification, ("title", "action_url", "created_at"))


@dataclass(frozen=True)
class _Reads:
    profile: CustomerProfile | None
    id_mapping: IdMapping | None
    next_invoice: WhmcsInvoice | None
    counts: dict[str, int]
    rejection_reason: str | None
    recent_orders: list[Order]
    recent_notifications: list[Notification]


def _dashboard_reads(*, user_id: int, now: datetime) -> _Reads:
    """Everything the dashboard reads, in one statement whatever the customer's history: a row
    with the profile, the ID mapping, the next unpaid invoice, the counts and the latest rejection
    reason, then the ``RECENT_ACTIVITY`` latest orders and live notifications (``UNION ALL``;
    each part fills its own columns, the others are NULL).

    Plain SQL on purpose: it is the hottest read of the portal, and building the equivalent ORM
    queries cost more Python time than the database spent answering them, and each was a round
    trip. Every value is a bound parameter; table and column names come from the models. The
    NULLs stand at the top level of each part, where PostgreSQL types them from the other parts.
    """
    quote = connection.ops.quote_name
    counts, count_params = _counts_sql(user_id=user_id, now=now)
    invoices = quote(WhmcsInvoice._meta.db_table)
    status, order_number, title, action_url = (
        quote(name) for name in ("status", "order_number", "title", "action_url")
    )
    rejected = (
        f"CASE WHEN p.{quote('id_verification_status')} = %s THEN (SELECT {quote('rejection_reason')} "  # noqa: S608 - model names
        f"FROM {quote(ResidenceCardSubmission._meta.db_table)} WHERE user_id = %s AND {status} = %s "
        f"ORDER BY {quote('submitted_at')} DESC LIMIT 1) END"
    )
    unpaid = ", ".join(["%s"] * len(UNPAID_INVOICE_STATUSES))
    head = [_PROFILE.sql("p"), _MAPPING.sql("m"), _INVOICE.sql("i"), *counts, rejected]
    head_width = len(_PROFILE.fields) + len(_MAPPING.fields) + len(_INVOICE.fields) + len(counts) + 1
    no_head = ", ".join(["NULL"] * head_width)
    # Recent rows: kind, order id, order number or title, order status, created_at, link.
    sql = (
        f"SELECT {', '.join(head)}, NULL, NULL, NULL, NULL, NULL, NULL"  # noqa: S608 - model names
        f" FROM {quote(User._meta.db_table)} u"
        f" LEFT JOIN {quote(CustomerProfile._meta.db_table)} p ON p.user_id = u.id"
        f" LEFT JOIN {quote(IdMapping._meta.db_table)} m ON m.user_id = u.id"
        f" LEFT JOIN {invoices} i ON i.id = (SELECT id FROM {invoices} WHERE user_id = %s"
        f" AND {status} IN ({unpaid}) ORDER BY due_on, whmcs_id LIMIT 1)"
        " WHERE u.id = %s"
        f" UNION ALL SELECT {no_head}, %s, o.id, o.{order_number}, o.{status}, o.created_at, NULL"
        f" FROM (SELECT id, {order_number}, {status}, created_at FROM {quote(Order._meta.db_table)}"
        f" WHERE user_id = %s ORDER BY created_at DESC LIMIT {RECENT_ACTIVITY:d}) o"
        f" UNION ALL SELECT {no_head}, %s, NULL, n.{title}, NULL, n.created_at, n.{action_url}"
        f" FROM (SELECT {title}, created_at, {action_url} FROM {quote(Notification._meta.db_table)}"
        " WHERE user_id = %s AND dismissed = %s AND expires_at > %s"
        f" ORDER BY created_at DESC LIMIT {RECENT_ACTIVITY:d}) n"
    )
    params: list[Any] = [
        *count_params,
        IdVerificationStatus.REJECTED, user_id, ResidenceCardSubmission.Status.REJECTED,
        user_id, *UNPAID_INVOICE_STATUSES,
        user_id,
        "order", user_id,
        "notification", user_id, False, connection.ops.adapt_datetimefield_value(now),
    ]  # fmt: skip
    # Prepared: on PostgreSQL its two reads of the partitioned notifications would otherwise plan
    # every day partition on every request.
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    heads = [row for row in rows if row[head_width] is None]
    if len(heads) != 1:
        raise User.DoesNotExist(user_id)
    values = list(heads[0][:head_width])
    joined = []
    for columns in (_PROFILE, _MAPPING, _INVOICE):
        joined.append(columns.joined(values[: len(columns.fields)]))
        del values[: len(columns.fields)]
    profile, mapping, invoice = joined
    *count_values, rejection_reason = values
    recent = [row[head_width:] for row in rows if row[head_width] is not None]
    orders = [
        _ORDER.named(id=pk, order_number=text, status=order_status, created_at=created_at)
        for kind, pk, text, order_status, created_at, _link in recent
        if kind == "order"
    ]
    notifications = [
        _NOTIFICATION.named(title=text, action_url=link, created_at=created_at)
        for kind, _pk, text, _status, created_at, link in recent
        if kind == "notification"
    ]

    def newest_first(items: list[Any]) -> list[Any]:
        return sorted(items, key=lambda item: item.created_at, reverse=True)

    return _Reads(
        profile=profile,
        id_mapping=mapping,
        next_invoice=invoice,
        counts=dict(zip(COUNT_NAMES, (int(value) for value in count_values), strict=True)),
        rejection_reason=rejection_reason,
        recent_orders=newest_first(orders),
        recent_notifications=newest_first(notifications),
    )


@dataclass(frozen=True)
class Task:
    type: str
    priority: int  # 1 is the most urgent
    title: str
    description: str
    action_label: str
    action_url: str


@dataclass
class Dashboard:
    user: User
    profile: CustomerProfile | None
    active_services: int
    unpaid_invoices: int
    orders_in_progress: int
    unread_notifications: int
    payment_method_count: int | None
    next_invoice: WhmcsInvoice | None
    recent_orders: list[Order]
    recent_notifications: list[Notification]
    latest_rejection_reason: str
    today: date
    account_setup: str = AccountSetup.COMPLETE
    tasks: list[Task] = field(default_factory=list)

    @property
    def next_invoice_is_due(self) -> bool:
        invoice = self.next_invoice
        return invoice is not None and invoice.due_on <= self.today + INVOICE_DUE_WINDOW

    def recent_activity(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {
                "type": "order",
                "title": _("Order %(number)s: %(status)s")
                % {"number": o.order_number or o.pk, "status": _ORDER_STATUS_LABELS.get(o.status, o.status)},
                "at": o.created_at,
                "link": f"/account/orders/{o.pk}",
            }
            for o in self.recent_orders
        ]
        items += [
            {"type": "notification", "title": n.title, "at": n.created_at, "link": n.action_url}
            for n in self.recent_notifications
        ]
        if self.next_invoice is not None:
            invoice = self.next_invoice
            items.append(
                {
                    "type": "invoice",
                    "title": _("Invoice %(number)s issued") % {"number": invoice.number or invoice.whmcs_id},
                    "at": timezone.make_aware(datetime.combine(invoice.issued_on, datetime.min.time())),
                    "link": "/account/billing/invoices",
                }
            )
        return sorted(items, key=lambda item: item["at"], reverse=True)[:RECENT_ACTIVITY]


def customer_dashboard(*, user: User, now: datetime | None = None) -> Dashboard:
    """The customer's whole dashboard, read from the portal DB only: one statement (three for a
    customer whose registration is not linked yet), whatever the customer's history."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    reads = _dashboard_reads(user_id=user.pk, now=now)
    profile, mapping, counts = reads.profile, reads.id_mapping, reads.counts
    rejection_reason = ""
    if profile is not None and profile.id_verification_status == IdVerificationStatus.REJECTED:
        rejection_reason = reads.rejection_reason or RejectionReason.OTHER
    dashboard = Dashboard(
        user=user,
        profile=profile,
        active_services=counts["active_services"],
        unpaid_invoices=counts["unpaid_invoices"],
        orders_in_progress=counts["orders_in_progress"],
        unread_notifications=counts["unread_notifications"],
        # Unknown (null) until the customer has a billing account to read payment methods from.
        payment_method_count=counts["payment_methods"] if mapping and mapping.whmcs_client_id else None,
        next_invoice=reads.next_invoice,
        recent_orders=reads.recent_orders,
        recent_notifications=reads.recent_notifications,
        latest_rejection_reason=rejection_reason,
        today=today,
        account_setup=AccountSetup.COMPLETE if mapping is not None else account_setup_of(user=user),
    )
    dashboard.tasks = _tasks(dashboard)
    return dashboard


def _tasks(dashboard: Dashboard) -> list[Task]:
    tasks: list[Task] = []
    if dashboard.account_setup in (AccountSetup.IN_PROGRESS, AccountSetup.NEEDS_ATTENTION):
        waiting_for_support = dashboard.account_setup == AccountSetup.NEEDS_ATTENTION
        tasks.append(
            Task(
                type="account_setup",
                priority=1,
                title=_("We are finishing setting up your account"),
                description=_(
                    "Our support team is completing your account and will contact you by email. You can "
                    "browse plans in the meantime."
                )
                if waiting_for_support
                else _(
                    "Your customer and billing records are being created. This usually takes a minute; "
                    "ordering and requests open as soon as it is done."
                ),
                action_label=_("Refresh"),
                action_url="/account",
            )
        )
    profile = dashboard.profile
    invoice = dashboard.next_invoice
    if invoice is not None and dashboard.next_invoice_is_due:
        overdue = invoice.due_on < dashboard.today
        tasks.append(
            Task(
                type="invoice_due",
                priority=1 if overdue else 2,
                title=_("Invoice overdue") if overdue else _("Invoice due soon"),
                description=_("Invoice %(number)s for %(amount)s is due on %(date)s.")
                % {
                    "number": invoice.number or invoice.whmcs_id,
                    "amount": _money(invoice.total, invoice.currency_code),
                    "date": invoice.due_on.isoformat(),
                },
                action_label=_("Pay invoice"),
                action_url="/account/billing/invoices",
            )
        )
    if profile is not None and profile.id_verification_status == IdVerificationStatus.REJECTED:
        tasks.append(
            Task(
                type="id_verification_rejected",
                priority=2,
                title=_("ID verification needs attention"),
                description=profile.id_verification_rejection_message
                or _("We could not verify your residence card. Please upload it again."),
                action_label=_("Resubmit"),
                action_url="/account/settings/verification",
            )
        )
    # Journey step 7: a customer who may order (eligible for internet, or ID verified for SIM)
    # adds a payment method first, since orders WHMCS could not bill are refused.
    ready_to_order = profile is not None and (
        profile.internet_eligibility_status == EligibilityStatus.ELIGIBLE
        or profile.id_verification_status == IdVerificationStatus.VERIFIED
    )
    if dashboard.payment_method_count == 0 and (
        dashboard.active_services or dashboard.orders_in_progress or ready_to_order
    ):
        tasks.append(
            Task(
                type="add_payment_method",
                priority=2,
                title=_("Add a payment method"),
                description=_("Add a card so your services keep running without interruption."),
                action_label=_("Add payment method"),
                action_url="/account/billing/payment-methods",
            )
        )
    if (
        settings.INTERNET_ORDERS_REQUIRE_ID_VERIFICATION
        and profile is not None
        and profile.internet_eligibility_status == EligibilityStatus.ELIGIBLE
        and profile.id_verification_status in (IdVerificationStatus.NOT_SUBMITTED, "")
    ):
        # Internet orders need a verified ID in this deployment (INTERNET_ORDERS_REQUIRE_ID_VERIFICATION).
        tasks.append(
            Task(
                type="id_verification_required",
                priority=3,
                title=_("Verify your ID to order internet"),
                description=_(
                    "Upload your residence card so we can verify your identity before your internet order."
                ),
                action_label=_("Upload residence card"),
                action_url="/account/settings/verification",
            )
        )
    if dashboard.orders_in_progress:
        tasks.append(
            Task(
                type="order_in_progress",
                priority=3,
                title=_("Order in progress"),
                description=_("We are reviewing and setting up your order. We will notify you at each step."),
                action_label=_("View orders"),
                action_url="/account/orders",
            )
        )
    if profile is not None and profile.internet_eligibility_status == EligibilityStatus.PENDING:
        tasks.append(
            Task(
                type="eligibility_pending",
                priority=4,
                title=_("Internet availability check in progress"),
                description=_("Our team is checking your address. This usually takes 1-2 business days."),
                action_label=_("View status"),
                action_url="/account/services/internet",
            )
        )
    if (
        not tasks
        and not dashboard.active_services
        and not dashboard.recent_orders
        and (
            profile is None
            or (not profile.internet_eligibility_status and not profile.id_verification_status)
        )
    ):
        tasks.append(
            Task(
                type="onboarding",
                priority=5,
                title=_("Welcome to SonixNet"),
                description=_(
                    "Check internet availability at your address or choose a SIM plan to get started."
                ),
                action_label=_("Browse plans"),
                action_url="/shop",
            )
        )
    return sorted(tasks, key=lambda task: task.priority)


def _money(amount: Decimal, currency: str) -> str:
    if currency == "JPY":
        return f"¥{amount:,.0f}"
    return f"{amount:,.2f} {currency}"


def invoice_due_notification_context(invoice: WhmcsInvoice) -> dict[str, Any]:
    return {
        "invoice_number": invoice.number or str(invoice.whmcs_id),
        "amount": invoice.total,
        "currency": invoice.currency_code,
        "due_date": invoice.due_on,
    }
