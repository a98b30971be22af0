"""Words for values the portal stores in English or as codes, shown in the console's language.

Some values are written once, in English, because Salesforce reads them (Case subjects the portal
generates, the note of a residence card upload) or because the API takes a code (housing type).
They stay as they are in the database and in Salesforce; the console shows them translated.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.opportunities.services import ELIGIBILITY_CASE_SUBJECT, ID_VERIFICATION_CASE_SUBJECT

HOUSING_TYPES = {
    "house": _("House"),
    "apartment": _("Apartment or condominium (mansion)"),
}

STORED_TEXTS = {
    ELIGIBILITY_CASE_SUBJECT: _("Internet availability check request (Portal)"),
    ID_VERIFICATION_CASE_SUBJECT: _("ID verification request (Portal)"),
    "Uploaded by the customer in the portal.": _("Uploaded by the customer in the portal."),
}

_CANCELLATION_SUBJECT = re.compile(r"^Cancellation Request - (?P<service>.*)$", re.DOTALL)


def housing_type_label(value: str) -> str:
    return str(HOUSING_TYPES.get(value, value)) if value else "—"


def stored_text_label(value: str) -> str:
    """A subject or note the portal wrote in English, in the active language; anything else (what a
    customer or agent typed) as it is."""
    if value in STORED_TEXTS:
        return str(STORED_TEXTS[value])
    match = _CANCELLATION_SUBJECT.match(value or "")
    if match:
        return gettext("Cancellation request - %(service)s") % {"service": match["service"]}
    return value
