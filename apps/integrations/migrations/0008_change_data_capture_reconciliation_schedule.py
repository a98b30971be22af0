"""Schedule the ``SystemModstamp`` reconciliation of Opportunities, Orders and Cases every 10
minutes: the safety net behind Change Data Capture, so a lost subscription (or one away longer
than the event retention) leaves the mirror stale for at most one interval. Accounts, the catalog
and support ticket comments already have theirs (``0002``, ``0003``). Like ``0002``, an existing
row of the same name is left as operators set it.
"""

from django.db import migrations

PERIODIC_TASKS = {
    "Reconcile Opportunities from Salesforce": "opportunities.reconcile_opportunities",
    "Reconcile Orders from Salesforce": "checkout.reconcile_orders",
    "Reconcile Cases from Salesforce": "opportunities.reconcile_cases",
}


def create_periodic_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    for name, task in PERIODIC_TASKS.items():
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "enabled": True, "interval": interval})


def delete_periodic_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(PERIODIC_TASKS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0007_salesforce_sync_cursor"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, delete_periodic_tasks)]
