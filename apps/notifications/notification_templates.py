"""The text of every notification type: title, message, call to action.

Strings are ``gettext_lazy`` with named ``%(parameter)s`` placeholders, so one template renders in
English (stored on the row) and in the reader's language at read time (the row
keeps the parameters in ``Notification.context``). The wording follows the Salesforce email
templates the customer receives for the same events, so inbox and portal say the same thing.
Titles carry the "notification title" message context, so in Japanese they can read as a sentence
while the same English words label the types in the admin.

A type has one or more message variants, most specific first; the first variant whose parameters
are all present in the context is used. That is how optional details (agent notes, a rejection
reason, an order number) appear when a producer knows them and are left out cleanly when it does
not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.utils import formats, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from apps.notifications.models import NotificationType

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")

# Parameters with a type: stored as ISO dates / decimal strings, formatted per language.
DATE_PARAMETERS = frozenset({"scheduled_date", "due_date", "cancelled_on"})
MONTH_PARAMETERS = frozenset({"expires_on"})
MONEY_PARAMETERS = frozenset({"amount"})
DEFAULT_CURRENCY = "JPY"


@dataclass(frozen=True)
class NotificationTemplate:
    title: Promise
    messages: tuple[Promise, ...]
    action_url: str | None = None
    action_label: Promise | None = None

    # Cached: the placeholders are read from the English msgids, which never change.
    @cached_property
    def parameters(self) -> frozenset[str]:
        """Every context key the template reads (``currency`` goes with ``amount``)."""
        names = set().union(_placeholders(self.title), *self.message_placeholders)
        if names & MONEY_PARAMETERS:
            names.add("currency")
        return frozenset(names)

    @cached_property
    def message_placeholders(self) -> tuple[frozenset[str], ...]:
        """The parameters each message variant needs, in variant order."""
        return tuple(_placeholders(message) for message in self.messages)


@dataclass(frozen=True)
class RenderedNotification:
    title: str
    message: str | None
    action_url: str | None
    action_label: str | None


TEMPLATES: dict[str, NotificationTemplate] = {
    NotificationType.ELIGIBILITY_ELIGIBLE: NotificationTemplate(
        title=pgettext_lazy("notification title", "Good news! Internet service is available"),
        messages=(
            _(
                "We've confirmed that internet service is available at your address. "
                "Your eligible offering: %(offering)s. You can now choose a plan and complete your order."
            ),
            _(
                "We've confirmed that internet service is available at your address. "
                "You can now choose a plan and complete your order."
            ),
        ),
        action_url="/account/services/internet",
        action_label=_("View plans"),
    ),
    NotificationType.ELIGIBILITY_INELIGIBLE: NotificationTemplate(
        title=pgettext_lazy("notification title", "Internet service not available"),
        messages=(
            _(
                "Unfortunately, after checking with NTT, internet service is not currently available "
                "at your address. If you believe this is an error or your situation changes, please "
                "contact our support team. Notes: %(notes)s"
            ),
            _(
                "Unfortunately, after checking with NTT, internet service is not currently available "
                "at your address. If you believe this is an error or your situation changes, please "
                "contact our support team."
            ),
        ),
        # Dashboard seed: eligibility notifications lead to the internet page, which shows the
        # result and its notes (and from there the way to support).
        action_url="/account/services/internet",
        action_label=_("View status"),
    ),
    NotificationType.VERIFICATION_VERIFIED: NotificationTemplate(
        title=pgettext_lazy("notification title", "ID verification complete"),
        messages=(_("Your identity verification is complete. You can now proceed with your order."),),
        action_url="/account/settings/verification",
        action_label=_("Continue checkout"),
    ),
    NotificationType.VERIFICATION_REJECTED: NotificationTemplate(
        title=pgettext_lazy("notification title", "ID verification requires attention"),
        messages=(
            _(
                "We were unable to verify your identity from the document you submitted. Please "
                "resubmit a clear photo of your residence card. Reason: %(reason)s"
            ),
            _(
                "We were unable to verify your identity from the document you submitted. Please "
                "resubmit a clear photo of your residence card."
            ),
        ),
        action_url="/account/settings/verification",
        action_label=_("Resubmit"),
    ),
    NotificationType.ORDER_APPROVED: NotificationTemplate(
        title=pgettext_lazy("notification title", "Order approved"),
        messages=(
            _(
                "Your order %(order_number)s has been approved and is being processed. "
                "We'll let you know when your service is active."
            ),
            _(
                "Your order has been approved and is being processed. "
                "We'll let you know when your service is active."
            ),
        ),
        action_url="/account/orders",
        action_label=_("View order"),
    ),
    NotificationType.ORDER_ACTIVATED: NotificationTemplate(
        title=pgettext_lazy("notification title", "Service activated"),
        messages=(
            _("Your order %(order_number)s is complete and %(service_name)s is now active."),
            _("Your order %(order_number)s is complete and your service is now active."),
            _("Your service is now active."),
        ),
        action_url="/account/services",
        action_label=_("View service"),
    ),
    NotificationType.ORDER_FAILED: NotificationTemplate(
        title=pgettext_lazy("notification title", "Order requires attention"),
        messages=(
            _(
                "We couldn't complete your order %(order_number)s. Our team has been notified and "
                "will contact you. If you have any questions, please contact our support team."
            ),
            _(
                "We couldn't complete your order. Our team has been notified and will contact you. "
                "If you have any questions, please contact our support team."
            ),
        ),
        action_url="/account/orders",
        action_label=_("View order"),
    ),
    # The console's order decisions (apps/checkout/services.py): the agent's reason is the
    # customer's to read (the form marks it so) and is a parameter, never part of the template.
    NotificationType.ORDER_REJECTED: NotificationTemplate(
        title=pgettext_lazy("notification title", "Order not accepted"),
        messages=(
            _(
                "We could not accept your order %(order_number)s and it has been cancelled. If you have any "
                "questions, please contact our support team. Reason: %(reason)s"
            ),
            _(
                "We could not accept your order and it has been cancelled. If you have any "
                "questions, please contact our support team. Reason: %(reason)s"
            ),
        ),
        action_url="/account/orders",
        action_label=_("View order"),
    ),
    NotificationType.ORDER_ON_HOLD: NotificationTemplate(
        title=pgettext_lazy("notification title", "Order on hold"),
        messages=(
            _("Your order %(order_number)s is on hold. Reason: %(reason)s"),
            _("Your order is on hold. Reason: %(reason)s"),
        ),
        action_url="/account/orders",
        action_label=_("View order"),
    ),
    NotificationType.ORDER_HOLD_RELEASED: NotificationTemplate(
        title=pgettext_lazy("notification title", "Order back in review"),
        messages=(
            _("Your order %(order_number)s is no longer on hold and is being reviewed again."),
            _("Your order is no longer on hold and is being reviewed again."),
        ),
        action_url="/account/orders",
        action_label=_("View order"),
    ),
    NotificationType.CANCELLATION_SCHEDULED: NotificationTemplate(
        title=pgettext_lazy("notification title", "Cancellation scheduled"),
        messages=(
            _(
                "Cancellation of %(service_name)s is scheduled for %(scheduled_date)s. "
                "The service remains available until then."
            ),
            _(
                "Your cancellation is scheduled for %(scheduled_date)s. "
                "The service remains available until then."
            ),
            _("Cancellation of %(service_name)s has been scheduled."),
            _("Your cancellation request has been received and scheduled."),
        ),
        action_url="/account/services",
        action_label=_("View status"),
    ),
    NotificationType.CANCELLATION_COMPLETE: NotificationTemplate(
        title=pgettext_lazy("notification title", "Service cancelled"),
        messages=(
            _("%(service_name)s has been cancelled. Thank you for using SonixNet."),
            _("Your service has been cancelled. Thank you for using SonixNet."),
        ),
        action_url="/account/services",
        action_label=_("View services"),
    ),
    NotificationType.PAYMENT_METHOD_EXPIRING: NotificationTemplate(
        title=pgettext_lazy("notification title", "Payment method expiring soon"),
        messages=(
            _(
                "Your payment method %(card)s expires in %(expires_on)s. "
                "Please update it to avoid any interruption to your services."
            ),
            _(
                "Your payment method %(card)s expires soon. "
                "Please update it to avoid any interruption to your services."
            ),
            _(
                "A payment method on your account expires soon. "
                "Please update it to avoid any interruption to your services."
            ),
        ),
        action_url="/account/billing/payment-methods",
        action_label=_("Update payment method"),
    ),
    NotificationType.INVOICE_DUE: NotificationTemplate(
        title=pgettext_lazy("notification title", "Invoice due"),
        messages=(
            _("Invoice %(invoice_number)s for %(amount)s is due on %(due_date)s."),
            _("Invoice %(invoice_number)s is due on %(due_date)s."),
            _("You have an invoice due soon. Please review it on your billing page."),
        ),
        action_url="/account/billing/invoices",
        action_label=_("View invoice"),
    ),
    NotificationType.SYSTEM_ANNOUNCEMENT: NotificationTemplate(
        title=pgettext_lazy("notification title", "System announcement"),
        # Free text: there is no message without it (the stored message is shown instead).
        messages=(_("%(text)s"),),
    ),
}


def get_template(notification_type: str) -> NotificationTemplate | None:
    return TEMPLATES.get(notification_type)


def render_notification(notification_type: str, context: Mapping[str, Any]) -> RenderedNotification | None:
    """The notification's text in the active language, or ``None`` when the type has no template.

    ``message`` is ``None`` when no variant's parameters are all present in ``context``.
    """
    template = get_template(notification_type)
    if template is None:
        return None
    present = {key for key, value in context.items() if value not in (None, "")}
    values = {key: _format_value(key, context[key], context) for key in present}
    message = next(
        (
            str(variant) % values
            for variant, needs in zip(template.messages, template.message_placeholders, strict=True)
            if needs <= present
        ),
        None,
    )
    return RenderedNotification(
        title=str(template.title) % values,
        message=message,
        action_url=template.action_url,
        action_label=str(template.action_label) if template.action_label is not None else None,
    )


def _placeholders(text: Promise) -> frozenset[str]:
    """The named parameters of a lazy string, read from its English msgid."""
    with translation.override(None):
        return frozenset(_PLACEHOLDER.findall(str(text)))


def _format_value(key: str, value: Any, context: Mapping[str, Any]) -> str:
    """Dates and amounts are stored language-neutral (ISO, decimal strings) and formatted here."""
    try:
        if key in DATE_PARAMETERS:
            return formats.date_format(date.fromisoformat(str(value)[:10]), "DATE_FORMAT")
        if key in MONTH_PARAMETERS:
            return formats.date_format(date.fromisoformat(str(value)[:10]), "YEAR_MONTH_FORMAT")
        if key in MONEY_PARAMETERS:
            return _format_money(Decimal(str(value)), str(context.get("currency") or DEFAULT_CURRENCY))
    except (ValueError, InvalidOperation):
        pass
    return str(value)


def _format_money(amount: Decimal, currency: str) -> str:
    if currency.upper() == "JPY":
        number = formats.number_format(amount, decimal_pos=0, use_l10n=True, force_grouping=True)
        return pgettext("money", "¥%(amount)s") % {"amount": number}
    number = formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{number} {currency.upper()}"
