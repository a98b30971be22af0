"""Entries queued before references became structured carried ``{{portal:…}}`` tokens inside
their payload's text. Convert the ones our own code wrote (a whole update URL's record ID, or the
whole value of an ``…Id`` field / a ContentVersion's ``VersionData``) into fills; anything else
that looks like a token is text a customer typed and stays exactly as typed. A token in one of
those places that names something no entry may reference fails its entry with a reason instead
of being delivered."""

import re

from django.db import migrations

TOKEN = re.compile(r"\{\{portal(|_file):(\w+\.\w+):(\d+):(\w+)\}\}")
URL_TAIL = re.compile(r"^(.*/)\{\{portal:(\w+\.\w+):(\d+):(\w+)\}\}$")

# The registered fields at the time of this migration (see each app's AppConfig.ready).
SALESFORCE_ID_FIELDS = {
    ("opportunities.Opportunity", "salesforce_id"),
    ("opportunities.Case", "salesforce_id"),
    ("opportunities.CaseComment", "salesforce_id"),
    ("checkout.Order", "salesforce_id"),
    ("checkout.OrderItem", "salesforce_id"),
    ("verification.ResidenceCardSubmission", "salesforce_content_version_id"),
    ("accounts.CustomerProfile", "internet_eligibility_case_id"),
}
FILE_FIELDS = {("verification.ResidenceCardSubmission", "file")}


def _fill(path, model, pk, field, file_base64=False):
    return {"path": path, "model": model, "pk": int(pk), "field": field, "file_base64": file_base64}


def convert(payload):
    """(new payload, reason it cannot be sent or None)."""
    subrequests = payload.get("subrequests") or []
    write_backs = payload.get("write_backs") or []
    fills = []
    for index, subrequest in enumerate(subrequests):
        url = subrequest.get("url") or ""
        match = URL_TAIL.match(url)
        if match:
            prefix, model, pk, field = match.groups()
            if (model, field) not in SALESFORCE_ID_FIELDS:
                return payload, f"a queued reference to {model}.{field} is not allowed"
            subrequest["url"] = prefix
            fills.append(_fill([index, "url"], model, pk, field))
        elif TOKEN.search(url):
            return payload, "a queued URL holds a reference the outbox no longer resolves"
        body = subrequest.get("body")
        if not isinstance(body, dict):
            continue
        for key, value in list(body.items()):
            match = TOKEN.fullmatch(value) if isinstance(value, str) else None
            if match is None or not (key.endswith("Id") or key == "VersionData"):
                continue  # customer text (or no token): delivered as it is
            kind, model, pk, field = match.groups()
            as_file = kind == "_file"
            allowed = FILE_FIELDS if as_file else SALESFORCE_ID_FIELDS
            uploads_it = any(w.get("model") == model and int(w.get("pk", -1)) == int(pk) for w in write_backs)
            if (model, field) not in allowed or (as_file and not uploads_it):
                return payload, f"a queued reference to {model}.{field} is not allowed"
            body[key] = None
            fills.append(_fill([index, "body", key], model, pk, field, as_file))
    payload["fills"] = fills
    return payload, None


def forwards(apps, schema_editor):
    OutboxEntry = apps.get_model("integrations", "OutboxEntry")
    for entry in OutboxEntry.objects.exclude(status="delivered").iterator():
        if "fills" in (entry.payload or {}):
            continue
        payload, reason = convert(entry.payload or {})
        if reason is None:
            entry.payload = payload
            entry.save(update_fields=["payload"])
        else:
            entry.status = "failed"
            entry.claimed_until = None
            entry.last_error = f"PAYLOAD_INVALID: {reason}; queued before this release, not sent"
            entry.save(update_fields=["status", "claimed_until", "last_error"])


class Migration(migrations.Migration):
    dependencies = [("integrations", "0004_outbox_entry_sending_since")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
