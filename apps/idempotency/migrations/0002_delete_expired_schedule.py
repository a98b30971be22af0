"""Schedule the deletion of expired idempotency keys (``idempotency.delete_expired``) hourly.

Keys are kept ``IDEMPOTENCY_KEY_RETENTION`` (24 hours by default); an hourly run keeps the table
at about a day of creating requests. Like ``integrations.0002``, an existing row of the same
name is left as operators set it.
"""

from django.db import migrations

NAME = "Delete expired idempotency keys"
TASK = "idempotency.delete_expired"


def create_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "enabled": True, "interval": interval})


def delete_periodic_task(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, delete_periodic_task)]
