"""The portal's periodic jobs, stored for django-celery-beat's database scheduler.

A data migration, so a fresh install (``manage.py migrate``) has the whole schedule and operators
can change it in the admin afterwards. Rows that already exist (same name) are left as they are.
Daily jobs run at fixed times in Japan, out of office hours.
"""

from django.db import migrations

TOKYO = "Asia/Tokyo"

# name -> (task, schedule, options). A schedule is ("every", n, period) or ("daily", hour, minute).
PERIODIC_TASKS = {
    "Deliver the Salesforce outbox": (
        "integrations.deliver_outbox",
        ("every", 5, "seconds"),
        # A backlog of identical deliveries is pointless: each run delivers everything due.
        {"expire_seconds": 60},
    ),
    "Sync the catalog from Salesforce": ("integrations.sync_catalog", ("every", 15, "minutes"), {}),
    "Reconcile Account statuses from Salesforce": (
        "integrations.reconcile_account_statuses",
        ("every", 10, "minutes"),
        {},
    ),
    "Sync WHMCS billing of all customers": (
        "integrations.whmcs.sync_all_customers_billing",
        ("every", 1, "hours"),
        {},
    ),
    "Resume lost order fulfillments": ("checkout.resume_fulfillments", ("every", 5, "minutes"), {}),
    "Delete expired notifications": ("notifications.cleanup_expired", ("daily", 3, 30), {}),
    "Detect orphaned WHMCS clients": ("integrations.detect_orphaned_whmcs_clients", ("daily", 4, 0), {}),
    "Notify invoices due": ("notifications.check_invoices_due", ("daily", 9, 0), {}),
    "Notify payment methods expiring": ("notifications.check_payment_methods_expiring", ("daily", 9, 10), {}),
}


def create_periodic_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, schedule, options) in PERIODIC_TASKS.items():
        if schedule[0] == "every":
            interval, _ = IntervalSchedule.objects.get_or_create(every=schedule[1], period=schedule[2])
            when = {"interval": interval}
        else:
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=str(schedule[2]),
                hour=str(schedule[1]),
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=TOKYO,
            )
            when = {"crontab": crontab}
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "enabled": True, **when, **options}
        )


def delete_periodic_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(PERIODIC_TASKS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, delete_periodic_tasks)]
