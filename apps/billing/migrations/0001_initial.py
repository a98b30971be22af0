"""The WHMCS mirror moves here from ``apps.integrations``, in Django's state only.

The tables stay where they are, with their rows, names (``db_table``), indexes and constraints:
``integrations/0001_initial`` created them, this migration tells Django that ``billing`` now owns
them, and ``integrations/0006_whmcs_mirror_moved_to_billing`` removes them from the integrations
app's state. Nothing is run against the database.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalog', '0001_initial'),
        ('integrations', '0005_outbox_structured_references'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='WhmcsInvoice',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('whmcs_id', models.PositiveIntegerField(unique=True, verbose_name='WHMCS ID')),
                        ('synced_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='last synced at')),
                        ('number', models.CharField(blank=True, max_length=50, verbose_name='invoice number')),
                        ('status', models.CharField(choices=[('Draft', 'Draft'), ('Unpaid', 'Unpaid'), ('Paid', 'Paid'), ('Cancelled', 'Cancelled'), ('Refunded', 'Refunded'), ('Collections', 'Collections'), ('Payment Pending', 'Payment pending')], max_length=20, verbose_name='status')),
                        ('issued_on', models.DateField(verbose_name='issued on')),
                        ('due_on', models.DateField(verbose_name='due on')),
                        ('paid_at', models.DateTimeField(blank=True, null=True, verbose_name='paid at')),
                        ('subtotal', models.DecimalField(decimal_places=2, default=0, max_digits=12, verbose_name='subtotal')),
                        ('tax', models.DecimalField(decimal_places=2, default=0, max_digits=12, verbose_name='tax')),
                        ('total', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='total')),
                        ('currency_code', models.CharField(default='JPY', max_length=3, verbose_name='currency')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL, verbose_name='customer')),
                    ],
                    options={
                        'verbose_name': 'WHMCS invoice',
                        'verbose_name_plural': 'WHMCS invoices',
                        'db_table': 'integrations_whmcsinvoice',
                        'ordering': ['-issued_on', '-whmcs_id'],
                        'indexes': [models.Index(fields=['user', 'status', 'due_on'], name='whmcs_invoice_due_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='WhmcsPaymentMethod',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('whmcs_id', models.PositiveIntegerField(unique=True, verbose_name='WHMCS ID')),
                        ('synced_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='last synced at')),
                        ('type', models.CharField(choices=[('CreditCard', 'Credit card'), ('RemoteCreditCard', 'Credit card (gateway)'), ('BankAccount', 'Bank account'), ('RemoteBankAccount', 'Bank account (gateway)')], max_length=30, verbose_name='type')),
                        ('description', models.CharField(blank=True, max_length=255, verbose_name='description')),
                        ('gateway_name', models.CharField(blank=True, max_length=100, verbose_name='gateway')),
                        ('card_type', models.CharField(blank=True, max_length=50, verbose_name='card type')),
                        ('card_last_four', models.CharField(blank=True, max_length=4, verbose_name='card last four')),
                        ('expires_on', models.DateField(blank=True, null=True, verbose_name='expires on')),
                        ('bank_name', models.CharField(blank=True, max_length=100, verbose_name='bank name')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL, verbose_name='customer')),
                    ],
                    options={
                        'verbose_name': 'WHMCS payment method',
                        'verbose_name_plural': 'WHMCS payment methods',
                        'db_table': 'integrations_whmcspaymentmethod',
                        'ordering': ['whmcs_id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('card_last_four', ''), ('card_last_four__regex', '^[0-9]{4}$'), _connector='OR'), name='whmcs_paymethod_last_four_digits')],
                    },
                ),
                migrations.CreateModel(
                    name='WhmcsService',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('whmcs_id', models.PositiveIntegerField(unique=True, verbose_name='WHMCS ID')),
                        ('synced_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='last synced at')),
                        ('whmcs_product_id', models.PositiveIntegerField(verbose_name='WHMCS product ID')),
                        ('whmcs_order_id', models.PositiveIntegerField(blank=True, null=True, verbose_name='WHMCS order ID')),
                        ('name', models.CharField(max_length=255, verbose_name='name')),
                        ('product_type', models.CharField(blank=True, max_length=20, verbose_name='product type')),
                        ('status', models.CharField(choices=[('Pending', 'Pending'), ('Active', 'Active'), ('Suspended', 'Suspended'), ('Terminated', 'Terminated'), ('Cancelled', 'Cancelled'), ('Fraud', 'Fraud'), ('Completed', 'Completed')], max_length=20, verbose_name='status')),
                        ('billing_cycle', models.CharField(blank=True, max_length=30, verbose_name='billing cycle')),
                        ('recurring_amount', models.DecimalField(decimal_places=2, default=0, max_digits=12, verbose_name='recurring amount')),
                        ('registered_on', models.DateField(blank=True, null=True, verbose_name='registered on')),
                        ('next_due_on', models.DateField(blank=True, null=True, verbose_name='next due on')),
                        ('product', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='catalog.product', verbose_name='product')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL, verbose_name='customer')),
                    ],
                    options={
                        'verbose_name': 'WHMCS service',
                        'verbose_name_plural': 'WHMCS services',
                        'db_table': 'integrations_whmcsservice',
                        'ordering': ['-registered_on', '-whmcs_id'],
                        'indexes': [models.Index(fields=['user', 'status'], name='whmcs_service_user_idx')],
                    },
                ),
            ],
        ),
    ]
