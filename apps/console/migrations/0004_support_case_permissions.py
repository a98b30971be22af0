"""Give the "Agents" and "Supervisors" groups the support case queue: seeing it and replying.

Replying is an everyday agent task, so both groups get it.
"""

from django.db import migrations

from apps.console.migration_operations import grant_to_groups

PERMISSIONS = [("console", "view_supportcasequeueitem"), ("console", "reply_support_case")]
GROUPS = ("Agents", "Supervisors")


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0003_support_case_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_to_groups(PERMISSIONS, GROUPS)]
