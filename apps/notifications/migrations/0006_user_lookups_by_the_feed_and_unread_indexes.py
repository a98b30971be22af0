"""The customer's own index goes: ``notification_unread_idx`` and ``notification_feed_idx`` lead
with ``user_id`` and serve every lookup by customer (the foreign key's cascade included), so the
index was one more to write per insert and, on PostgreSQL, one more relation per day partition for
each detach and drop. Only the index is dropped: Django's ``AlterField`` would also drop and re-add
the foreign key, which checks every row again under a lock that holds writes."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "notifications_user_id_468e288d"


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_merge_order_types_and_partitions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="customer",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX IF NOT EXISTS {INDEX} ON notifications (user_id)",
                ),
            ],
        ),
    ]
