"""The periodic jobs exist after ``migrate`` on an empty database (pytest-django migrates the
test database from scratch), so a fresh install has the whole schedule."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db


def schedule(task: PeriodicTask) -> tuple[object, ...]:
    if task.interval is not None:
        return ("every", task.interval.every, task.interval.period)
    assert task.crontab is not None
    crontab = task.crontab
    return (
        "cron",
        crontab.minute,
        crontab.hour,
        crontab.day_of_week,
        crontab.day_of_month,
        crontab.month_of_year,
        str(crontab.timezone),
    )


def test_the_beat_schedule_is_created_by_migrate() -> None:
    tasks = {
        task.task: (schedule(task), task.enabled, task.expire_seconds)
        for task in PeriodicTask.objects.select_related("interval", "crontab")
    }

    assert tasks == {
        "integrations.deliver_outbox": (("every", 5, "seconds"), True, 60),
        "integrations.sync_catalog": (("every", 15, "minutes"), True, None),
        "integrations.reconcile_account_statuses": (("every", 10, "minutes"), True, None),
        "integrations.sync_case_comments": (("every", 3, "minutes"), True, None),
        "opportunities.reconcile_opportunities": (("every", 10, "minutes"), True, None),
        "opportunities.reconcile_cases": (("every", 10, "minutes"), True, None),
        "checkout.reconcile_orders": (("every", 10, "minutes"), True, None),
        "accounts.resume_registrations": (("every", 1, "minutes"), True, 60),
        "integrations.whmcs.sync_all_customers_billing": (("every", 1, "hours"), True, None),
        "checkout.resume_fulfillments": (("every", 5, "minutes"), True, None),
        "idempotency.delete_expired": (("every", 1, "hours"), True, None),
        "notifications.cleanup_expired": (("cron", "30", "3", "*", "*", "*", "Asia/Tokyo"), True, None),
        "integrations.detect_orphaned_whmcs_clients": (
            ("cron", "0", "4", "*", "*", "*", "Asia/Tokyo"),
            True,
            None,
        ),
        "notifications.check_invoices_due": (("cron", "0", "9", "*", "*", "*", "Asia/Tokyo"), True, None),
        "notifications.check_payment_methods_expiring": (
            ("cron", "10", "9", "*", "*", "*", "Asia/Tokyo"),
            True,
            None,
        ),
    }


def test_every_scheduled_task_is_a_registered_task_on_its_queue() -> None:
    celery_app.loader.import_default_modules()
    queues = {
        task.task: celery_app.amqp.router.route({}, task.task)["queue"].name
        for task in PeriodicTask.objects.all()
    }

    assert set(queues) <= set(celery_app.tasks)
    assert queues == {
        "integrations.deliver_outbox": "salesforce",
        "integrations.sync_catalog": "salesforce",
        "integrations.reconcile_account_statuses": "salesforce",
        "integrations.sync_case_comments": "salesforce",
        "opportunities.reconcile_opportunities": "salesforce",
        "opportunities.reconcile_cases": "salesforce",
        "checkout.reconcile_orders": "salesforce",
        "accounts.resume_registrations": "salesforce",
        "integrations.whmcs.sync_all_customers_billing": "default",
        "checkout.resume_fulfillments": "default",
        "idempotency.delete_expired": "default",
        "notifications.cleanup_expired": "default",
        "integrations.detect_orphaned_whmcs_clients": "default",
        "notifications.check_invoices_due": "default",
        "notifications.check_payment_methods_expiring": "default",
    }
    assert celery_app.amqp.router.route({}, "checkout.fulfill_order")["queue"].name == "salesforce"
    assert celery_app.tasks["checkout.fulfill_order"].acks_late is True
