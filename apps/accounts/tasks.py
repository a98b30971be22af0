"""Celery entry points of accounts. Thin on purpose: one service call each."""

from celery import Task, shared_task

from apps.integrations.retry import Backoff, RetryableErrorTask

# Task names keep their ``integrations.`` prefix: beat's schedule rows and queued messages name them.


@shared_task(name="integrations.reconcile_account_statuses", ignore_result=True, base=RetryableErrorTask)
def reconcile_account_statuses_task(record_ids: list[str] | None = None) -> dict[str, int]:
    """Catch Account status changes whose platform event or change event was missed, or re-read
    ``record_ids`` after a change event gap."""
    from apps.accounts.sync import reconcile_account_statuses

    report = reconcile_account_statuses(record_ids=record_ids)
    return {"fetched": report.fetched, "updated": report.updated}


@shared_task(
    name="integrations.detect_orphaned_whmcs_clients",
    base=RetryableErrorTask,
    backoff=Backoff(initial=10 * 60, maximum=60 * 60),
    ignore_result=True,
    max_retries=3,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def detect_orphaned_whmcs_clients_task() -> int:
    """Record the WHMCS clients and Salesforce Accounts registration created that no portal user
    maps to; returns how many are new. Deletes nothing (``manage.py
    cleanup_orphaned_whmcs_clients --apply [--salesforce]`` acts on them) and only queues the new
    Accounts' deactivation; retries when WHMCS or Salesforce is unreachable (both scans are
    idempotent). Run daily from beat."""
    from apps.accounts.orphans import orphaned_salesforce_accounts_detect, orphaned_whmcs_clients_detect

    return len(orphaned_whmcs_clients_detect()) + len(orphaned_salesforce_accounts_detect())


@shared_task(name="accounts.advance_registration", bind=True, ignore_result=True)
def advance_registration_task(self: Task, attempt_id: int) -> None:
    """Run a registration's remaining steps; failures are scheduled again by the saga itself."""
    from apps.accounts.registration import registration_advance

    registration_advance(attempt_id=attempt_id, claimant=self.request.id or "")


@shared_task(name="accounts.resume_registrations", ignore_result=True)
def resume_registrations_task() -> int:
    """Resume registrations left due by a lost message or a killed process. Run every minute."""
    from apps.accounts.registration import registrations_resume_due

    return registrations_resume_due()
