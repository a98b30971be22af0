"""Give the "Supervisors" group the queue of held or failed Salesforce writes and its bulk retry.
Groups an admin deleted are not recreated here (``console_groups_ensure`` does that)."""

from django.db import migrations

from apps.console.migration_operations import grant_to_groups

PERMISSIONS = [("console", "view_salesforcewritequeueitem"), ("console", "retry_salesforce_write")]
GROUPS = ("Supervisors",)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0013_salesforce_write_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_to_groups(PERMISSIONS, GROUPS)]
