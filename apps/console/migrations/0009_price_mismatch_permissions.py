"""Give the "Supervisors" group the catalog's price mismatches (Salesforce price vs WHMCS
price, found by the catalog sync): seeing them only, since both catalogs are corrected in their
own systems.
"""

from django.db import migrations

from apps.console.migration_operations import grant_to_groups

PERMISSIONS = [("catalog", "view_pricemismatch")]
GROUPS = ("Supervisors",)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0008_registration_queue_permissions"),
        ("catalog", "0002_price_mismatch"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_to_groups(PERMISSIONS, GROUPS)]
