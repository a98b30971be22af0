"""``manage.py run_events_subscriber`` for the benchmark, with a stand-in account status handler.

Runs the real command with the arguments given. If no app registers a handler for the account
status channel (``apps/accounts/event_handlers.py`` not written yet), a minimal one is registered
first, calling the same services the real handler will (``account_status_notify`` and
``customer_profile_apply_account_fields``), and the run says so on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FALLBACK_NOTE = (
    "bench: no account status handler registered by the apps; using bench/subscriber.py's stand-in"
)


def fallback_handler(payload: dict[str, Any], event: Any) -> None:
    from apps.accounts.models import CustomerProfile, IdMapping
    from apps.accounts.services import customer_profile_apply_account_fields
    from apps.accounts.status_notifications import account_status_notify
    from apps.integrations.salesforce.field_map import get_field_map

    field_map = get_field_map()
    event_object = event.topic.rsplit("/", 1)[-1]
    values = {
        attribute: payload[api_name]
        for attribute, api_name in field_map.attributes(event_object).items()
        if payload.get(api_name) is not None
    }
    account_id = str(values.pop("account_id", "") or "")
    user_id = (
        IdMapping.objects.filter(salesforce_account_id=account_id).values_list("user_id", flat=True).first()
    )
    if user_id is None:
        return
    for attribute in ("internet_eligibility_status", "id_verification_status"):
        if attribute in values:
            values[attribute] = field_map.from_salesforce("Account", attribute, values[attribute])
    for attribute in ("internet_eligibility_requested_at", "internet_eligibility_checked_at"):
        values.pop(attribute, None)  # epoch milliseconds; the stand-in does not mirror dates
    if CustomerProfile.objects.filter(user_id=user_id).exists():
        customer_profile_apply_account_fields(user_id=user_id, values=values)
    account_status_notify(
        user_id=user_id,
        account_id=account_id,
        eligibility_status=values.get("internet_eligibility_status"),
        offering=str(values.get("internet_eligibility") or ""),
        eligibility_notes=str(values.get("internet_eligibility_notes") or ""),
        verification_status=values.get("id_verification_status"),
        rejection_message=str(values.get("id_verification_rejection_message") or ""),
    )


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from apps.integrations.salesforce.events import autodiscover_handlers, registry

    autodiscover_handlers()
    topic = settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"]
    if not registry.handlers(topic):
        print(FALLBACK_NOTE, file=sys.stderr, flush=True)
        registry.register(topic, fallback_handler)
    call_command("run_events_subscriber", *sys.argv[1:])


if __name__ == "__main__":
    main()
