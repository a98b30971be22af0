"""How the opportunities app's records are written to Salesforce: one place that builds a Case's
Salesforce body, for the eligibility check, the cancellation request and the support ticket."""

from __future__ import annotations

from apps.integrations.outbox import salesforce_id_or_ref
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.opportunities.models import Case, Opportunity


def case_create_subrequest(
    case: Case, *, account_id: str, opportunity: Opportunity | None = None, reference_id: str = "case"
) -> CompositeSubrequest:
    """Create ``case`` on the customer's Account (and ``opportunity``, when given) in Salesforce."""
    values: dict[str, object] = {
        "account_id": account_id,
        "type": case.type,
        "subject": case.subject,
        "description": case.description,
        "status": case.status,
        "origin": case.origin,
        "priority": case.priority,
    }
    if opportunity is not None:
        values["opportunity_id"] = salesforce_id_or_ref(opportunity)
    return CompositeSubrequest.create("Case", reference_id, get_field_map().record("Case", values))
