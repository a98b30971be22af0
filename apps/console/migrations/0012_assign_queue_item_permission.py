"""Give the "Supervisors" group the permission to assign queue items to agents. Groups an admin
deleted are not recreated here (``console_groups_ensure`` does that)."""

from django.db import migrations

from apps.console.migration_operations import grant_to_groups

PERMISSIONS = [("console", "assign_queue_item")]
GROUPS = ("Supervisors",)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0011_queue_claims"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_to_groups(PERMISSIONS, GROUPS)]
