"""The console's staff groups and their permissions.

Migration ``0002_agent_groups`` creates the groups, ``0004_support_case_permissions`` adds the
support case queue to them, ``0006_supervisor_lockout_permissions`` the sign-in lockouts and
``0008_registration_queue_permissions`` the stuck registrations and
``0009_price_mismatch_permissions`` the catalog's price mismatches and
``0012_assign_queue_item_permission`` assigning queue items and
``0014_salesforce_write_queue_permissions`` the held or failed Salesforce writes, each with a frozen copy of these
lists (migrations must not follow later code changes);
``console_groups_ensure`` recreates them from here, for a database that was flushed
(transactional tests) or whose groups an admin deleted.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

AGENTS = "Agents"
SUPERVISORS = "Supervisors"

AGENT_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("console", "view_eligibilityqueueitem"),
    ("console", "view_idverificationqueueitem"),
    ("console", "view_orderapprovalqueueitem"),
    ("console", "view_cancellationqueueitem"),
    ("console", "view_supportcasequeueitem"),
    ("console", "view_agentdecision"),
    ("console", "decide_eligibility"),
    ("console", "decide_id_verification"),
    ("console", "approve_order"),
    ("console", "manage_cancellation"),
    ("console", "reply_support_case"),
    ("verification", "view_residence_card_document"),
)
# Supervisors also see sign-in lockouts (django-axes) and lift them by deleting the attempt.
LOCKOUT_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
    ("axes", "view_accesslog"),
    ("axes", "view_accessfailurelog"),
)
# Supervisors alone resume or abandon stuck registrations: abandoning removes a portal user.
REGISTRATION_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("console", "view_registrationqueueitem"),
    ("console", "manage_registration"),
)
# Supervisors see where Salesforce and WHMCS price a product differently (billed as quoted).
PRICE_MISMATCH_PERMISSIONS: tuple[tuple[str, str], ...] = (("catalog", "view_pricemismatch"),)
SUPERVISOR_PERMISSIONS: tuple[tuple[str, str], ...] = (
    *AGENT_PERMISSIONS,
    ("console", "reopen_decision"),
    ("console", "assign_queue_item"),
    ("console", "view_salesforcewritequeueitem"),
    ("console", "retry_salesforce_write"),
    *LOCKOUT_PERMISSIONS,
    *REGISTRATION_PERMISSIONS,
    *PRICE_MISMATCH_PERMISSIONS,
)
GROUP_PERMISSIONS = {AGENTS: AGENT_PERMISSIONS, SUPERVISORS: SUPERVISOR_PERMISSIONS}


def console_groups_ensure() -> dict[str, Group]:
    """Create the groups if missing and give them (at least) their permissions."""
    groups: dict[str, Group] = {}
    with transaction.atomic():
        for name, codenames in GROUP_PERMISSIONS.items():
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.add(
                *[
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                    for app_label, codename in codenames
                ]
            )
            groups[name] = group
    return groups
