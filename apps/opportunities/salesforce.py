"""How the opportunities app's records are written to Salesforce: the Opportunity (opened for an
order or at registration, moved through its stages and the cancellation), and the Case (one body
for the eligibility check, the cancellation request and the support ticket) with its status and
comments."""

from __future__ import annotations

from datetime import datetime

from apps.integrations.outbox import PortalRef, salesforce_id_or_ref
from apps.integrations.salesforce.field_map import get_field_map, salesforce_datetime
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.opportunities.models import Case, CaseComment, Opportunity, OpportunityStage


def opportunity_create_subrequest(
    opportunity: Opportunity, *, account_id: str, reference_id: str = "opportunity"
) -> CompositeSubrequest:
    """Create ``opportunity`` on the customer's Account in Salesforce."""
    values = {
        "account_id": account_id,
        "name": opportunity.name,
        "stage": opportunity.stage,
        "commodity_type": opportunity.commodity_type,
        "application_stage": opportunity.application_stage or None,
        "source": opportunity.source,
        "close_date": opportunity.close_date.isoformat() if opportunity.close_date else None,
    }
    return CompositeSubrequest.create(
        "Opportunity", reference_id, get_field_map().record("Opportunity", values)
    )


def opportunity_update_subrequest(
    opportunity: Opportunity, *attributes: str, reference_id: str = "opportunity"
) -> CompositeSubrequest:
    """Send the row's ``attributes`` to its Opportunity (or to the one an earlier outbox entry is
    still creating)."""
    values: dict[str, object] = {}
    for attribute in attributes:
        value = getattr(opportunity, attribute)
        values[attribute] = salesforce_datetime(value) if isinstance(value, datetime) else value
    return CompositeSubrequest.update(
        "Opportunity",
        salesforce_id_or_ref(opportunity),
        reference_id,
        get_field_map().record("Opportunity", values),
    )


def opportunity_activated_subrequest(
    *, salesforce_id: str, whmcs_service_id: int | None
) -> CompositeSubrequest:
    """The Opportunity a fulfilled Order names is Active with the WHMCS service it became (the
    portal may not mirror that Opportunity, so it is named by its Salesforce ID)."""
    values = {"stage": OpportunityStage.ACTIVE, "whmcs_service_id": whmcs_service_id}
    return CompositeSubrequest.update(
        "Opportunity", salesforce_id, "opportunity", get_field_map().record("Opportunity", values)
    )


def opportunity_stage_subrequest(*, salesforce_id: str, stage: str) -> CompositeSubrequest:
    """Set the stage of an Opportunity the portal may not mirror, named by its Salesforce ID."""
    return CompositeSubrequest.update(
        "Opportunity", salesforce_id, "opportunity", get_field_map().record("Opportunity", {"stage": stage})
    )


def case_create_subrequest(
    case: Case,
    *,
    account_id: str,
    opportunity: Opportunity | None = None,
    opportunity_reference: str | PortalRef | None = None,
    reference_id: str = "case",
) -> CompositeSubrequest:
    """Create ``case`` on the customer's Account (and ``opportunity``, when given) in Salesforce.
    ``opportunity_reference`` names the Opportunity instead (``@{opportunity.id}`` for one the
    same Composite request creates)."""
    values: dict[str, object] = {
        "account_id": account_id,
        "type": case.type,
        "subject": case.subject,
        "description": case.description,
        "status": case.status,
        "origin": case.origin,
        "priority": case.priority,
    }
    if opportunity_reference is not None:
        values["opportunity_id"] = opportunity_reference
    elif opportunity is not None:
        values["opportunity_id"] = salesforce_id_or_ref(opportunity)
    return CompositeSubrequest.create("Case", reference_id, get_field_map().record("Case", values))


def case_status_update_subrequest(record_id: str | PortalRef, status: str) -> CompositeSubrequest:
    """Set the status of the Case ``record_id`` (an ID, or the Case an earlier entry creates)."""
    return CompositeSubrequest.update(
        "Case", record_id, "case", get_field_map().record("Case", {"status": status})
    )


def case_comment_create_subrequest(*, case: Case, comment: CaseComment) -> CompositeSubrequest:
    """Create the CaseComment, published (the customer sees it), on the Case or on the Case an
    earlier outbox entry is still creating."""
    values = {
        "parent_id": salesforce_id_or_ref(case),
        "body": comment.body,
        "is_published": comment.is_public,
    }
    return CompositeSubrequest.create("CaseComment", "comment", get_field_map().record("CaseComment", values))
