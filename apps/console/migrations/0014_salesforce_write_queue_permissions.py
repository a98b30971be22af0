"""Give the "Supervisors" group the queue of held or failed Salesforce writes and its bulk retry.
Groups an admin deleted are not recreated here (``console_groups_ensure`` does that)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = [("console", "view_salesforcewritequeueitem"), ("console", "retry_salesforce_write")]
GROUPS = ("Supervisors",)


def add_permissions(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("console")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    permissions = [
        Permission.objects.using(db).get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in PERMISSIONS
    ]
    for group in Group.objects.using(db).filter(name__in=GROUPS):
        group.permissions.add(*permissions)


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    permissions = Permission.objects.using(db).filter(
        content_type__app_label="console", codename__in=[codename for _, codename in PERMISSIONS]
    )
    for group in Group.objects.using(db).filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0013_salesforce_write_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
