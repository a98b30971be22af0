"""Give the "Supervisors" group the catalog's price mismatches (Salesforce price vs WHMCS
price, found by the catalog sync): seeing them only, since both catalogs are corrected in their
own systems. Groups an admin deleted are not recreated here (``console_groups_ensure`` does that).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = [("catalog", "view_pricemismatch")]
GROUPS = ("Supervisors",)


def add_permissions(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("catalog")
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
        content_type__app_label="catalog", codename__in=[codename for _, codename in PERMISSIONS]
    )
    for group in Group.objects.using(db).filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0008_registration_queue_permissions"),
        ("catalog", "0002_price_mismatch"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
