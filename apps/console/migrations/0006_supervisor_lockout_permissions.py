"""Let supervisors see sign-in lockouts (django-axes) and lift them.

They view access attempts, the access log and the failure log, and may delete an access attempt,
which is how a lockout is lifted; the logs stay, as the record of who signed in. Groups an admin
deleted are not recreated here (``console_groups_ensure`` does that).
"""

from django.db import migrations

from apps.console.migration_operations import grant_to_groups

PERMISSIONS = [
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
    ("axes", "view_accesslog"),
    ("axes", "view_accessfailurelog"),
]
GROUPS = ("Supervisors",)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0005_decision_action_resolve_sync"),
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_to_groups(PERMISSIONS, GROUPS)]
