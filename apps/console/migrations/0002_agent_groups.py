"""The "Agents" and "Supervisors" groups of the agent console.

Agents see the four queues and the decision log, decide (eligibility, ID verification, order
approval, cancellations) and may view residence card documents. Supervisors have all of that and
may reopen a decision. Staff status (``is_staff``) is still given per user: a group alone does
not open the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_PERMISSIONS = [
    ("console", "view_eligibilityqueueitem"),
    ("console", "view_idverificationqueueitem"),
    ("console", "view_orderapprovalqueueitem"),
    ("console", "view_cancellationqueueitem"),
    ("console", "view_agentdecision"),
    ("console", "decide_eligibility"),
    ("console", "decide_id_verification"),
    ("console", "approve_order"),
    ("console", "manage_cancellation"),
    ("verification", "view_residence_card_document"),
]
SUPERVISOR_PERMISSIONS = [*AGENT_PERMISSIONS, ("console", "reopen_decision")]
GROUPS = {"Agents": AGENT_PERMISSIONS, "Supervisors": SUPERVISOR_PERMISSIONS}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create the ones
    # these groups need now.
    for label in ("console", "verification"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)
        permissions = [
            Permission.objects.using(schema_editor.connection.alias).get(
                content_type__app_label=app_label, codename=codename
            )
            for app_label, codename in codenames
        ]
        group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_initial"),
        ("verification", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
