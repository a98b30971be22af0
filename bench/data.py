"""The bench data set, generated with set-based SQL (``INSERT ... SELECT generate_series``).

100,000 customers (user, profile, ID mapping, one invoice each), 1,000,000 notifications of
which 500,000 are expired, and one "hero" customer (user 1) with 1,000 notifications, 200
invoices, 50 orders, 3 services and a card: the customer the dashboard benchmark reads.

Column lists come from the models: a column the generator does not set gets the field's default
(or NULL / "" where the field allows it), so a column added later does not break the
generator unless it is NOT NULL without a default, which is reported by name.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from apps.accounts.models import CustomerProfile, IdMapping, User
from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.checkout.models import Order
from apps.notifications.models import Notification

CUSTOMERS = 100_000
NOTIFICATIONS = 1_000_000
EXPIRED_NOTIFICATIONS = 500_000
HERO_ID = 1
HERO_NOTIFICATIONS = 1_000
HERO_INVOICES = 200
HERO_ORDERS = 50
PASSWORD = "bench-password-0123"
# Generated expiries reach 31 days back (the 5M-row cleanup too): partitions for a margin beyond.
PAST_DAYS = 35


def account_id(user_id: int) -> str:
    """The Salesforce Account id the generator gives customer ``user_id`` (18 characters)."""
    return f"001BNCH{user_id:011d}"


ACCOUNT_ID_SQL = "'001BNCH' || lpad(n::text, 11, '0')"


@dataclass(frozen=True)
class DataSet:
    customers: int
    notifications: int
    expired: int
    seconds: float
    hero_id: int = HERO_ID


def insert_select(
    model: type[models.Model], source: str, exprs: Mapping[str, str], *, table: str | None = None
) -> int:
    """``INSERT INTO <table> (<every column>) SELECT <exprs or defaults> FROM <source>``.

    ``exprs`` maps column names to SQL expressions over ``source`` (which names the series ``n``);
    they are our own constants, never input. Other columns get the field's default as a parameter.
    ``table`` (default: the model's) may name a table of the same columns, e.g. a partition.
    """
    sql, params = insert_select_sql(model, source.replace("%", "%%"), exprs, table=table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def insert_select_sql(
    model: type[models.Model], source: str, exprs: Mapping[str, str], *, table: str | None = None
) -> tuple[str, list[Any]]:
    """The statement of :func:`insert_select` and its parameters, to be embedded (after a
    ``WITH``) or run; ``source`` is taken as SQL with its placeholders."""
    columns: list[str] = []
    values: list[str] = []
    params: list[Any] = []
    for field in model._meta.local_concrete_fields:
        column = field.column
        columns.append(connection.ops.quote_name(column))
        if column in exprs:
            values.append(exprs[column].replace("%", "%%"))
        elif isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
            values.append("now()")
        elif field.has_default():
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        elif field.null:
            values.append("NULL")
        elif field.blank and isinstance(field, models.CharField | models.TextField):
            values.append("''")
        else:
            raise RuntimeError(f"bench/data.py: give {model.__name__}.{field.name} a value")
    table = connection.ops.quote_name(table or model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source}"  # noqa: S608
    return sql, params


def generate() -> DataSet:
    started = time.perf_counter()
    password = make_password(PASSWORD)  # one hash for everybody: hashing 100,000 would take minutes
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        series = f"generate_series(1, {CUSTOMERS}) AS n"
        _insert_users(password, series)
        insert_select(
            CustomerProfile,
            series,
            {
                "id": "n",
                "user_id": "n",
                "customer_number": "'B' || lpad(n::text, 8, '0')",
                "first_name_kana": "'ハナ'",
                "last_name_kana": "'カスタマー'",
                "postal_code": "'150-0002'",
                "prefecture": "'Tokyo'",
                "city": "'Shibuya-ku'",
                "address_line1": "'2-21-1 Shibuya'",
                "portal_status": "'active'",
                "registration_source": "'portal_signup'",
                "internet_eligibility_status": "CASE WHEN n = 1 THEN 'eligible' ELSE 'pending' END",
                "internet_eligibility": "CASE WHEN n = 1 THEN 'Home 1G' ELSE '' END",
                "internet_eligibility_requested_at": "now() - interval '3 days'",
                "id_verification_status": "CASE WHEN n = 1 THEN 'verified' ELSE 'submitted' END",
                "id_verification_submitted_at": "now() - interval '3 days'",
            },
        )
        insert_select(
            IdMapping,
            series,
            {
                "id": "n",
                "user_id": "n",
                "salesforce_account_id": ACCOUNT_ID_SQL,
                "salesforce_contact_id": "'003BNCH' || lpad(n::text, 11, '0')",
                "whmcs_client_id": "1000000 + n",  # clear of the ids the WHMCS emulator hands out
            },
        )
        with bulk_load(WhmcsInvoice._meta.db_table):
            _insert_invoices()
        _notification_partitions()
        with bulk_load(Notification._meta.db_table):
            _insert_notifications()
        _insert_hero_extras()
        for sql in connection.ops.sequence_reset_sql(
            no_style(),
            [User, CustomerProfile, IdMapping, WhmcsInvoice, WhmcsService, WhmcsPaymentMethod, Order],
        ):
            cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return DataSet(
        customers=CUSTOMERS,
        notifications=NOTIFICATIONS,
        expired=EXPIRED_NOTIFICATIONS,
        seconds=time.perf_counter() - started,
    )


@contextmanager
def bulk_load(table: str) -> Iterator[None]:
    """Drop the table's indexes and constraints, load, then build them again (same names).

    Maintaining five indexes (one on a random UUID) and a foreign key check row by row makes
    loading 1,000,000 notifications about three times slower than building them once afterwards.
    Only for tables no other table references.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY contype = 'f'",
            [table],
        )
        constraints: list[tuple[str, str]] = cursor.fetchall()
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [table],
        )
        indexes: list[tuple[str, str]] = cursor.fetchall()
        quoted = connection.ops.quote_name(table)
        for name, _ in reversed(constraints):
            cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for name, definition in constraints:
            cursor.execute(
                f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )
        for _, definition in indexes:
            # A partitioned table's index reads "ON ONLY <table>" (the parent alone, left invalid):
            # built on the whole table, it is built on every partition too.
            cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))


def _insert_users(password: str, series: str) -> int:
    return insert_select(
        User,
        series,
        {
            "id": "n",
            "password": _literal(password),
            "email": "'customer' || n || '@bench.example'",
            "first_name": "'Hana'",
            "last_name": "'Customer' || n",
            "date_joined": "now() - (n % 900) * interval '1 day'",
            "is_superuser": "false",
            "is_staff": "false",
            "is_active": "true",
            "last_login": "NULL",
        },
    )


def _literal(value: str) -> str:
    """A SQL string literal for a value we generated ourselves (a password hash: no quotes)."""
    if "'" in value or "\\" in value or "%" in value:
        raise ValueError("unexpected character in a generated literal")
    return f"'{value}'"


def _insert_invoices() -> None:
    # The hero's 200: 198 paid, one unpaid due in 5 days (the dashboard's "invoice due" task and
    # its once-a-day notification path), one unpaid due in 35 days. Everybody else: one paid.
    insert_select(
        WhmcsInvoice,
        f"generate_series(1, {HERO_INVOICES}) AS n",
        {
            "id": "n",
            "user_id": str(HERO_ID),
            "whmcs_id": "n",
            "number": "'INV-' || lpad(n::text, 6, '0')",
            "status": f"CASE WHEN n > {HERO_INVOICES - 2} THEN 'Unpaid' ELSE 'Paid' END",
            "issued_on": f"current_date - ({HERO_INVOICES} - n) * 30",
            "due_on": (
                f"CASE WHEN n = {HERO_INVOICES - 1} THEN current_date + 5 "
                f"WHEN n = {HERO_INVOICES} THEN current_date + 35 "
                f"ELSE current_date - ({HERO_INVOICES} - n) * 30 + 14 END"
            ),
            "paid_at": f"CASE WHEN n > {HERO_INVOICES - 2} THEN NULL ELSE now() - ({HERO_INVOICES} - n) * interval '30 days' END",
            "subtotal": "4528",
            "tax": "452",
            "total": "4980",
        },
    )
    insert_select(
        WhmcsInvoice,
        f"generate_series(2, {CUSTOMERS}) AS n",
        {
            "id": f"{HERO_INVOICES} + n",
            "user_id": "n",
            "whmcs_id": f"{HERO_INVOICES} + n",
            "number": "'INV-' || lpad(n::text, 7, '0')",
            "status": "'Paid'",
            "issued_on": "current_date - 30",
            "due_on": "current_date - 16",
            "paid_at": "now() - interval '20 days'",
            "subtotal": "2709",
            "tax": "271",
            "total": "2980",
        },
    )


_NOTIFICATION_TYPES = (
    "(ARRAY['SYSTEM_ANNOUNCEMENT','INVOICE_DUE','ORDER_APPROVED','PAYMENT_METHOD_EXPIRING'])"
)


def _insert_notifications() -> None:
    common = {
        "id": "gen_random_uuid()",
        "type": f"{_NOTIFICATION_TYPES}[1 + n % 4]",
        "title": "'Notice ' || n",
        "message": "'A message the customer may read.'",
        "action_url": "'/account'",
        "source": "'SYSTEM'",
        "source_id": "NULL",
        "context": "'{}'::jsonb",
        "read_at": "NULL",
        "dismissed": "n % 50 = 0",
    }
    # The hero's 1,000, none expired, a third unread.
    insert_select(
        Notification,
        f"generate_series(1, {HERO_NOTIFICATIONS}) AS n",
        {
            **common,
            "user_id": str(HERO_ID),
            "read": "n % 3 <> 0",
            "created_at": "now() - n * interval '30 minutes'",
            "expires_at": "now() - n * interval '30 minutes' + interval '30 days'",
        },
    )
    # Everybody else's: the first 500,000 expired over the last 30 days, up to a minute ago (so the
    # current day holds its share, which the cleanup deletes row by row), the rest live.
    others = NOTIFICATIONS - HERO_NOTIFICATIONS
    insert_select(
        Notification,
        f"generate_series(1, {others}) AS n",
        {
            **common,
            "user_id": f"2 + n % {CUSTOMERS - 1}",
            "read": "n % 4 <> 0",
            "created_at": (
                f"CASE WHEN n <= {EXPIRED_NOTIFICATIONS} "
                "THEN now() - interval '30 days' - interval '1 minute' - (n % 43200) * interval '1 minute' "
                "ELSE now() - (n % 43000) * interval '1 minute' END"
            ),
            "expires_at": (
                f"CASE WHEN n <= {EXPIRED_NOTIFICATIONS} "
                "THEN now() - interval '1 minute' - (n % 43200) * interval '1 minute' "
                "ELSE now() + interval '30 days' - (n % 43000) * interval '1 minute' END"
            ),
        },
    )


def _notification_partitions() -> None:
    """The day partitions for the expired rows too (the migration makes them from today on), so
    every generated row lands in its day's partition, as the daily task would have left them."""
    from apps.notifications.partitions import is_partitioned, partitions_ensure

    if is_partitioned():
        partitions_ensure(first_day=timezone.localdate() - timedelta(days=PAST_DAYS))


def _insert_hero_extras() -> None:
    insert_select(
        Order,
        f"generate_series(1, {HERO_ORDERS}) AS n",
        {
            "id": "n",
            "user_id": str(HERO_ID),
            "opportunity_id": "NULL",
            "idempotency_key": "'bench-order-' || n",
            "salesforce_id": "'801BNCH' || lpad(n::text, 11, '0')",
            "order_number": "lpad(n::text, 8, '0')",
            "product_type": "(ARRAY['internet','sim','vpn'])[1 + n % 3]",
            "status": f"CASE WHEN n > {HERO_ORDERS - 2} THEN 'pending_review' ELSE 'completed' END",
            "activation_status": f"CASE WHEN n > {HERO_ORDERS - 2} THEN 'pending_review' ELSE 'activated' END",
            "effective_date": f"current_date - ({HERO_ORDERS} - n) * 20",
            "total_amount": "4980",
            "created_at": f"now() - ({HERO_ORDERS} - n) * interval '20 days'",
            "updated_at": "now()",
        },
    )
    insert_select(
        WhmcsService,
        "generate_series(1, 3) AS n",
        {
            "id": "n",
            "user_id": str(HERO_ID),
            "whmcs_id": "n",
            "product_id": "NULL",
            "whmcs_product_id": "n",
            "name": "(ARRAY['Home 1G','SIM 20GB','VPN Router'])[n]",
            "product_type": "(ARRAY['internet','sim','vpn'])[n]",
            "status": "'Active'",
            "billing_cycle": "'Monthly'",
            "recurring_amount": "4980",
            "registered_on": "current_date - 400",
            "next_due_on": "current_date + 20",
        },
    )
    insert_select(
        WhmcsPaymentMethod,
        "generate_series(1, 1) AS n",
        {
            "id": "n",
            "user_id": str(HERO_ID),
            "whmcs_id": "n",
            "type": "'RemoteCreditCard'",
            "description": "'Visa ending 4242'",
            "card_type": "'Visa'",
            "card_last_four": "'4242'",
            "expires_on": "current_date + 700",
        },
    )
