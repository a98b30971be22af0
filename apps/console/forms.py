"""The decision forms on the console's record pages. They only validate input; the services
decide whether the record is in a state the decision applies to."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.console.services import ELIGIBILITY_OFFERINGS
from apps.opportunities.models import CaseStatus, LineReturnStatus
from apps.opportunities.support import COMMENT_MAX_LENGTH
from apps.verification.models import RejectionReason

FieldT = TypeVar("FieldT", bound=forms.Field)


class DatalistInput(forms.TextInput):
    """A text input with suggestions: the usual values to pick, any other value to type."""

    template_name = "console/widgets/datalist.html"

    def __init__(self, options: tuple[str, ...], attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.options = options

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-options"
        context["widget"]["attrs"]["list"] = list_id
        context["widget"]["list_id"] = list_id
        context["widget"]["options"] = self.options
        return context


def customer_visible(field: FieldT) -> FieldT:
    """Mark a field whose value the customer reads (the portal, the email from Salesforce): the
    decision form shows it with a warning badge (``console/includes/decision_form.html``)."""
    field.customer_visible = True  # type: ignore[attr-defined]
    return field


class MarkEligibleForm(forms.Form):
    offering = forms.CharField(
        label=_("Offering type"),
        max_length=100,
        widget=DatalistInput(ELIGIBILITY_OFFERINGS),
        help_text=_('The result of the NTT check, e.g. "Home 1G"; pick one or type another.'),
    )
    notes = customer_visible(
        forms.CharField(
            label=_("Notes"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=_("Shown to the customer with the result. Leave out internal remarks."),
        )
    )


class MarkIneligibleForm(forms.Form):
    notes = customer_visible(
        forms.CharField(
            label=_("Notes"),
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=_("Why the address is not eligible. The customer reads this."),
        )
    )


class VerifyIdForm(forms.Form):
    name_matches = forms.BooleanField(label=_("The name on the card matches the account"))
    document_valid = forms.BooleanField(label=_("The document is a valid residence card"))
    not_expired = forms.BooleanField(label=_("The card has not expired"))


class RejectIdForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "---------"), *RejectionReason.choices])
    message = customer_visible(
        forms.CharField(
            label=_("Message to the customer"),
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=_(
                "Shown to the customer and in the email from Salesforce. Be specific but professional."
            ),
        )
    )


class ApproveOrderForm(forms.Form):
    items_checked = forms.BooleanField(label=_("I checked the order items and their prices"))


class RejectOrderForm(forms.Form):
    reason = customer_visible(
        forms.CharField(
            label=_("Reason"),
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=_(
                "Shown to the customer in their notification; also kept in the decision log and "
                "written to the Order's Description in Salesforce. Leave out internal remarks."
            ),
        )
    )


class HoldOrderForm(forms.Form):
    reason = customer_visible(
        forms.CharField(
            label=_("Why hold"),
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text=_(
                "Shown to the customer in their notification. The order cannot be approved until "
                "released. Written to the Order's Description in Salesforce."
            ),
        )
    )


class ReleaseOrderForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class LineReturnForm(forms.Form):
    line_return_status = forms.ChoiceField(
        label=_("Line return status"),
        choices=[choice for choice in LineReturnStatus.choices if choice[0]],
    )


class CompleteCancellationForm(forms.Form):
    service_terminated = forms.BooleanField(label=_("The service has been terminated in WHMCS"))


class ReopenForm(forms.Form):
    note = forms.CharField(
        label=_("Why reopen"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the decision log."),
    )


class SupportReplyForm(forms.Form):
    body = customer_visible(
        forms.CharField(
            label=_("Reply to the customer"),
            max_length=COMMENT_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 5}),
            help_text=_(
                "Shown to the customer in the portal and added to the Case in Salesforce as a public comment."
            ),
        )
    )
    status = forms.ChoiceField(
        label=_("Case status"),
        required=False,
        choices=[
            ("", _("Leave unchanged")),
            (CaseStatus.WORKING.value, _("Working")),
            (CaseStatus.ESCALATED.value, _("Escalated")),
            (CaseStatus.CLOSED.value, _("Closed")),
        ],
    )


class ResumeRegistrationForm(forms.Form):
    """Nothing to fill in: resuming gives the registration a fresh round of tries."""


class AbandonRegistrationForm(forms.Form):
    reason = forms.CharField(
        label=_("Why abandon"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the registration's log, the orphan records and the decision log."),
    )
