"""How the verification app's records are written to Salesforce: the residence card, uploaded as
a ContentVersion published to the customer's Account. (The eligibility check's Case is written
by its owner, ``apps.opportunities.salesforce``; the Account's status fields by
``apps.accounts.services``.)"""

from __future__ import annotations

import posixpath
from datetime import date

from apps.integrations.outbox import portal_file_base64
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.verification.models import ResidenceCardSubmission


def residence_card_upload_subrequest(
    submission: ResidenceCardSubmission, *, account_id: str, uploaded_on: date, reference_id: str = "document"
) -> CompositeSubrequest:
    """Upload the stored card to the Account. The outbox reads the file when it sends the entry,
    so the queued payload never holds the document."""
    values = {
        "title": f"Residence card {uploaded_on.isoformat()}",
        "path": posixpath.basename(submission.file.name or ""),
        "data": portal_file_base64(submission._meta.label, submission.pk, "file"),
        "linked_record_id": account_id,
    }
    return CompositeSubrequest.create(
        "ContentVersion", reference_id, get_field_map().record("ContentVersion", values)
    )
