"""Give the "Supervisors" group the stuck registration queue: seeing it, resuming and abandoning.

Supervisors only: abandoning removes a customer's portal user and leaves Salesforce and WHMCS
records to the orphan cleanup. Groups an admin deleted are not recreated here
(``console_groups_ensure`` does that).
"""

from django.db import migrations

from apps.console.migration_operations import grant_to_groups

PERMISSIONS = [("console", "view_registrationqueueitem"), ("console", "manage_registration")]
GROUPS = ("Supervisors",)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0007_registration_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_to_groups(PERMISSIONS, GROUPS)]
