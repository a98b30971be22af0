"""The WHMCS mirror models now belong to ``apps.billing`` (``billing/0001_initial``): remove them
from this app's state only. Their tables (``integrations_whmcs…``) and rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0005_outbox_structured_references'),
        ('billing', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='WhmcsInvoice'),
                migrations.DeleteModel(name='WhmcsPaymentMethod'),
                migrations.DeleteModel(name='WhmcsService'),
            ],
        ),
    ]
