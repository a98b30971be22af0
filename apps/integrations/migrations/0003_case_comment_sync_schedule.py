"""Schedule the support ticket sync (``integrations.sync_case_comments``) every 3 minutes.

A customer waiting for an answer should see an agent's comment made in Salesforce within minutes;
each run costs two Salesforce queries (none while the portal has no ticket in Salesforce). Like
``0002``, an existing row of the same name is left as operators set it.
"""

from django.db import migrations

NAME = "Sync support ticket comments from Salesforce"
TASK = "integrations.sync_case_comments"


def create_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=3, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": TASK, "enabled": True, "interval": interval}
    )


def delete_periodic_task(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_periodic_tasks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, delete_periodic_task)]
