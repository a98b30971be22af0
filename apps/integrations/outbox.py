"""The outbox: changes the portal owes Salesforce, committed with the change that caused them and
delivered by a Celery task.

* ``outbox_enqueue_salesforce`` is called inside the caller's transaction, so the portal's row
  and the promise to tell Salesforce commit (or roll back) together. It never touches the network.
* ``outbox_deliver_due`` claims due entries (row locks with ``SKIP LOCKED`` on PostgreSQL, so
  several workers never deliver one entry twice), sends each as ONE Salesforce call (a Composite
  request, or many single-record updates together as one sObject Collections request), and
  records the outcome. Entries sharing a ``record_key`` are delivered strictly in order.
* Transient failures (timeouts, 5xx, ``REQUEST_LIMIT_EXCEEDED``) back off exponentially; a
  request Salesforce refuses as malformed fails for good and stays visible in admin.
* A request that creates records is never sent twice blindly: when its answer is lost (a read
  timeout, a dropped connection, the worker killed mid-call) Salesforce may have created them,
  so the entry is held as failed with ``OUTCOME_UNKNOWN`` for an agent to check and retry.
  Updates carry no such risk (applying one twice changes nothing) and are simply retried.

An entry may need a value an earlier entry only learns on delivery (the ID Salesforce gives a
record it creates), or a stored file too large to queue. The code that enqueues it puts a
``PortalRef`` where the value goes (a field of a subrequest's body, or an update's record ID);
the entry stores the payload with that place empty and, beside it, a structured list of the
places to fill (``fills``). Nothing inside the payload's text is ever scanned or substituted:
whatever a customer typed is sent exactly as typed. Only fields the owning apps register
(``outbox_register_salesforce_id_field``, ``outbox_register_file_field``) can be referenced or
written back. While a referenced value is still empty the entry waits; an entry whose request
cannot be built (unknown model or field, a row that is gone) fails on its own with
``PAYLOAD_INVALID`` and never holds up the rest of the run.
"""

from __future__ import annotations

import base64
import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from apps.integrations.models import OUTCOME_UNKNOWN, PAYLOAD_INVALID, OutboxEntry, TargetSystem
from apps.integrations.retry import Backoff
from apps.integrations.salesforce.exceptions import (
    SalesforceError,
    SalesforceOutcomeUnknown,
    SalesforceRequestLimitExceeded,
)
from apps.integrations.salesforce.gateway import CompositeSubrequest, SalesforceGateway, get_gateway

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BACKOFF = Backoff(initial=5, maximum=30 * 60)
CLAIM_SECONDS = 5 * 60
MAX_COLLECTION_RECORDS = 200


@dataclass(frozen=True)
class WriteBack:
    """After delivery, store the ID Salesforce gave ``reference_id`` on a portal row."""

    reference_id: str
    model: str  # "app_label.Model"
    pk: Any
    field: str = "salesforce_id"

    def as_json(self) -> dict[str, Any]:
        return {"reference_id": self.reference_id, "model": self.model, "pk": self.pk, "field": self.field}


@dataclass(frozen=True)
class PortalRef:
    """A value of a portal row, read when the entry is delivered.

    ``field`` is a Salesforce ID an earlier entry writes back (the entry waits while it is
    empty), or with ``file_base64`` a stored file sent as base64 so the outbox row never holds
    the document itself. Build one with ``portal_ref`` or ``portal_file_base64``.
    """

    model: str  # "app_label.Model"
    pk: int
    field: str = "salesforce_id"
    file_base64: bool = False


def portal_ref(model: str, pk: int, field_name: str = "salesforce_id") -> PortalRef:
    """The Salesforce ID an earlier entry will write back on ``model`` row ``pk``: use it as a
    body field's value or as ``CompositeSubrequest.update``'s record ID."""
    return PortalRef(model, pk, field_name)


def portal_file_base64(model: str, pk: int, field_name: str) -> PortalRef:
    """The base64 content of a stored file (e.g. a ContentVersion's ``VersionData``). Only the
    entry that writes the upload's result back to that same row may send it."""
    return PortalRef(model, pk, field_name, file_base64=True)


def salesforce_id_or_ref(instance: Any) -> str | PortalRef:
    """A mirrored row's Salesforce ID, or, while the entry creating it has not been delivered, a
    reference the outbox fills in once it is (the row's ``salesforce_id``)."""
    return instance.salesforce_id or portal_ref(instance._meta.label, instance.pk)


_SALESFORCE_ID_FIELDS: set[tuple[str, str]] = set()
_FILE_FIELDS: set[tuple[str, str]] = set()


def outbox_register_salesforce_id_field(model: str, field_name: str = "salesforce_id") -> None:
    """Allow entries to write a Salesforce ID back to ``model.field_name`` and to refer to it.
    The app that owns the model calls this from its ``AppConfig.ready``."""
    _SALESFORCE_ID_FIELDS.add((model, field_name))


def outbox_register_file_field(model: str, field_name: str) -> None:
    """Allow the entry that uploads a row's file to send that file's content."""
    _FILE_FIELDS.add((model, field_name))


class PayloadInvalid(ValueError):
    """A reference no entry may make (raised at enqueue), or an entry's request that cannot be
    built (at delivery: the entry fails on its own, the run goes on)."""


def _check_reference(model: str, field_name: str, *, file: bool = False) -> None:
    allowed = _FILE_FIELDS if file else _SALESFORCE_ID_FIELDS
    if (model, field_name) not in allowed:
        kind = "file" if file else "Salesforce ID field"
        raise PayloadInvalid(f"{model}.{field_name} is not a registered {kind}")


def _queued_form(
    subrequests: Sequence[CompositeSubrequest],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The subrequests as stored, with every ``PortalRef`` taken out into a fill: its path in the
    payload (``[index, "body", field]``, or ``[index, "url"]`` for an update's record ID, the URL's
    last segment) and what to read there."""
    queued: list[dict[str, Any]] = []
    fills: list[dict[str, Any]] = []

    def take(path: list[Any], ref: Any) -> None:
        if not isinstance(ref, PortalRef):
            raise TypeError(f"a deferred value must be a PortalRef, not {type(ref).__name__}")
        _check_reference(ref.model, ref.field, file=ref.file_base64)
        fills.append({"path": path, **asdict(ref)})

    for index, subrequest in enumerate(subrequests):
        body = dict(subrequest.body) if subrequest.body is not None else None
        if subrequest.deferred_record_id is not None:
            take([index, "url"], subrequest.deferred_record_id)
        for key, value in (body or {}).items():
            if isinstance(value, PortalRef):
                take([index, "body", key], value)
                body[key] = None  # type: ignore[index]
        queued.append(
            {
                "method": subrequest.method,
                "url": subrequest.url,
                "reference_id": subrequest.reference_id,
                "body": body,
            }
        )
    return queued, fills


ACCOUNT_RECORD_KEY_PREFIX = "Account:"
"""``account_record_key`` is this and the Account id (a query matching keys in SQL builds them
from it)."""


def account_record_key(account_id: str, stream: str = "") -> str:
    """The ``record_key`` of a change to one customer's Salesforce Account and the records under
    it: entries sharing it are delivered strictly in order. ``stream`` gives a change its own
    order (e.g. the coalesced sign-in stamp, which must not hold back other changes)."""
    key = f"{ACCOUNT_RECORD_KEY_PREFIX}{account_id}"
    return f"{key}:{stream}" if stream else key


def accounts_owed_changes(account_ids: Iterable[str]) -> set[str]:
    """The Accounts among ``account_ids`` with changes the portal has not delivered to Salesforce
    yet (pending or being delivered, in the Account's own order). A reconciliation job leaves
    them for its next run: what Salesforce returns is older than what the portal owes it."""
    keys = OutboxEntry.objects.filter(
        record_key__in=[account_record_key(account_id) for account_id in account_ids],
        status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS],
    ).values_list("record_key", flat=True)
    return {key.removeprefix(ACCOUNT_RECORD_KEY_PREFIX) for key in keys}


def outbox_enqueue_salesforce(
    *,
    operation: str,
    record_key: str,
    subrequests: Sequence[CompositeSubrequest],
    write_backs: Iterable[WriteBack] = (),
) -> OutboxEntry:
    """Record a Salesforce change to deliver after commit. Call inside the service's transaction."""
    write_backs = list(write_backs)
    for write_back in write_backs:
        _check_reference(write_back.model, write_back.field)
    queued, fills = _queued_form(subrequests)
    entry = OutboxEntry.objects.create(
        target_system=TargetSystem.SALESFORCE,
        operation=operation,
        record_key=record_key,
        payload={"subrequests": queued, "fills": fills, "write_backs": [w.as_json() for w in write_backs]},
    )
    transaction.on_commit(_schedule_delivery)
    return entry


def outbox_enqueue_coalesced_update(
    *,
    operation: str,
    record_key: str,
    sobject: str,
    record_id: str,
    fields: Mapping[str, Any],
    delay: timedelta,
) -> OutboxEntry:
    """An update where only the latest value matters (e.g. the last sign-in time).

    While an entry for ``operation`` and ``record_key`` is still waiting, a newer value replaces
    its fields instead of adding a call; the first one waits ``delay`` so a burst collapses into
    one Salesforce update. Give it a ``record_key`` of its own so the wait never holds back other
    changes to the same record. Call inside the service's transaction, after locking the row the
    value belongs to, so concurrent callers cannot both create an entry.
    """
    queued, fills = _queued_form([CompositeSubrequest.update(sobject, record_id, "record", fields)])
    # "coalesced" tells the console to show it as such, not as a change waiting to be sent.
    payload = {"subrequests": queued, "fills": fills, "write_backs": [], "coalesced": True}
    waiting = (
        OutboxEntry.objects.select_for_update()
        .filter(operation=operation, record_key=record_key, status=OutboxEntry.Status.PENDING)
        .order_by("id")
        .first()
    )
    if waiting is not None:
        waiting.payload = payload
        waiting.save(update_fields=["payload"])
        return waiting
    return OutboxEntry.objects.create(
        target_system=TargetSystem.SALESFORCE,
        operation=operation,
        record_key=record_key,
        payload=payload,
        next_attempt_at=timezone.now() + delay,
    )


def _schedule_delivery() -> None:
    from apps.integrations.tasks import deliver_outbox_task

    try:
        deliver_outbox_task.delay()
    except Exception:
        logger.warning("Could not enqueue outbox delivery; the periodic run will pick it up", exc_info=True)


@dataclass
class DeliveryReport:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    api_calls: int = 0
    halted: bool = False


def outbox_claim_due(*, limit: int = 50, now: Any = None) -> list[OutboxEntry]:
    """Claim up to ``limit`` due entries, at most the oldest undelivered one per ``record_key``."""
    now = now or timezone.now()
    earlier_open = OutboxEntry.objects.filter(
        record_key=OuterRef("record_key"),
        id__lt=OuterRef("id"),
        status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS],
    )
    due = Q(status=OutboxEntry.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxEntry.Status.IN_PROGRESS, claimed_until__lt=now
    )
    with transaction.atomic():
        entries = list(
            OutboxEntry.objects.select_for_update(skip_locked=True)
            .filter(due, target_system=TargetSystem.SALESFORCE)
            .exclude(Exists(earlier_open))
            .order_by("id")[:limit]
        )
        for entry in [entry for entry in entries if entry.sending_since is not None]:
            # Its worker died between sending records to create and recording the answer.
            entries.remove(entry)
            _hold_outcome_unknown(
                entry, "the worker sending it stopped before Salesforce's answer was recorded"
            )
        ids = [entry.pk for entry in entries]
        OutboxEntry.objects.filter(pk__in=ids).update(
            status=OutboxEntry.Status.IN_PROGRESS, claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
        )
    return entries


def outbox_deliver_due(*, limit: int = 50, gateway: SalesforceGateway | None = None) -> DeliveryReport:
    """Deliver what is due now. Network calls happen outside any transaction."""
    report = DeliveryReport()
    entries = outbox_claim_due(limit=limit)
    if not entries:
        return report
    try:
        gateway = gateway or get_gateway()
    except SalesforceError as exc:
        # Login failed (Salesforce down or misconfigured): nothing was sent, so keep every entry
        # and try again later; the admin shows them as pending with the error.
        for entry in entries:
            _retry_later(entry, exc)
            report.retrying.append(entry.pk)
        report.halted = True
        return report
    calls_before = gateway.calls_made

    ready: list[tuple[OutboxEntry, list[dict[str, Any]]]] = []
    for entry in entries:
        try:
            built = _build_subrequests(entry)
        except Exception as exc:
            # One bad entry fails alone: the rest of the run (other customers' changes) goes on.
            reason = str(exc) if isinstance(exc, PayloadInvalid) else f"unexpected {type(exc).__name__}"
            if not isinstance(exc, PayloadInvalid):
                logger.exception("Outbox entry %s (%s) could not be built", entry.pk, entry.operation)
            _fail(entry, f"{PAYLOAD_INVALID}: {reason}")
            report.failed.append(entry.pk)
            continue
        if built is None:
            _release(entry, note="waiting for an earlier change to reach Salesforce")
            report.waiting.append(entry.pk)
        else:
            ready.append((entry, built))

    # Single-record updates go together as one sObject Collections call; the rest one Composite each.
    single_updates = [(e, s) for e, s in ready if len(s) == 1 and s[0]["method"] == "PATCH"]
    batched = {entry.pk for entry, _ in single_updates}
    others = [(e, s) for e, s in ready if e.pk not in batched]

    try:
        for chunk_start in range(0, len(single_updates), MAX_COLLECTION_RECORDS):
            _deliver_updates_together(
                gateway, single_updates[chunk_start : chunk_start + MAX_COLLECTION_RECORDS], report
            )
        for entry, subrequests in others:
            _deliver_composite(gateway, entry, subrequests, report)
    except SalesforceRequestLimitExceeded as exc:
        # The org is out of API calls: stop and back everything off instead of burning retries.
        report.halted = True
        for entry, _ in ready:
            if entry.pk not in report.delivered + report.retrying + report.failed:
                _retry_later(entry, exc)
                report.retrying.append(entry.pk)
    report.api_calls = gateway.calls_made - calls_before
    return report


def _deliver_composite(
    gateway: SalesforceGateway, entry: OutboxEntry, subrequests: list[dict[str, Any]], report: DeliveryReport
) -> None:
    if _creates_records(subrequests):
        OutboxEntry.objects.filter(pk=entry.pk).update(sending_since=timezone.now())
    try:
        result = gateway.composite(
            [
                CompositeSubrequest(s["method"], s["url"], s["reference_id"], s.get("body"))
                for s in subrequests
            ],
            all_or_none=True,
        )
    except SalesforceRequestLimitExceeded:
        raise
    except SalesforceError as exc:
        _record_failure(entry, exc, report)
        return
    _record_success(entry, result.ids, report)


def _deliver_updates_together(
    gateway: SalesforceGateway, batch: list[tuple[OutboxEntry, list[dict[str, Any]]]], report: DeliveryReport
) -> None:
    if not batch:
        return
    if len(batch) == 1:
        entry, subrequests = batch[0]
        _deliver_composite(gateway, entry, subrequests, report)
        return
    records = []
    for _, subrequests in batch:
        sobject, record_id = _sobject_and_id(subrequests[0]["url"])
        records.append(
            {"attributes": {"type": sobject}, "id": record_id, **(subrequests[0].get("body") or {})}
        )
    try:
        results = gateway.collection_update(records, all_or_none=False)
    except SalesforceRequestLimitExceeded:
        raise
    except SalesforceError as exc:
        for entry, _ in batch:
            _record_failure(entry, exc, report)
        return
    succeeded = []
    for (entry, _), save_result in zip(batch, results, strict=True):
        if save_result.success:
            succeeded.append(entry)
        else:
            detail = save_result.errors[0] if save_result.errors else None
            code = detail.error_code if detail else "UNKNOWN_ERROR"
            message = detail.message if detail else "update failed"
            _record_failure(entry, SalesforceError(message, error_code=code, status=200), report)
    _record_updates_delivered(succeeded, report)


def _sobject_and_id(url: str) -> tuple[str, str]:
    parts = url.rstrip("/").split("/")
    return parts[-2], parts[-1]


def _build_subrequests(entry: OutboxEntry) -> list[dict[str, Any]] | None:
    """The entry's subrequests with every fill written in; None while a referenced Salesforce ID
    is still empty. Raises ``PayloadInvalid`` for an entry that can never be sent."""
    payload = entry.payload
    subrequests = copy.deepcopy(payload.get("subrequests"))
    if not isinstance(subrequests, list) or not subrequests:
        raise PayloadInvalid("the entry has no subrequests")
    for write_back in payload.get("write_backs", []):
        _check_reference(write_back.get("model", ""), write_back.get("field", ""))
    for fill in payload.get("fills", []):
        value = _read_reference(fill, payload.get("write_backs", []))
        if value is None:
            return None
        _put(subrequests, fill.get("path"), value)
    return subrequests


def _read_reference(fill: Mapping[str, Any], write_backs: Sequence[Mapping[str, Any]]) -> str | None:
    model_label, pk, field_name = fill.get("model", ""), fill.get("pk"), fill.get("field", "")
    as_file = bool(fill.get("file_base64"))
    _check_reference(model_label, field_name, file=as_file)
    if as_file and not any(w.get("model") == model_label and w.get("pk") == pk for w in write_backs):
        raise PayloadInvalid(f"{model_label} {pk}: a file is sent only by the entry that uploads it")
    try:
        manager = apps.get_model(model_label)._default_manager
    except (LookupError, ValueError):
        raise PayloadInvalid(f"unknown model {model_label}") from None
    if as_file:
        instance = manager.filter(pk=pk).first()
        stored = getattr(instance, field_name, None) if instance else None
        if not stored:
            raise PayloadInvalid(f"{model_label} {pk} has no stored {field_name}")
        try:
            with stored.open("rb") as handle:
                return base64.b64encode(handle.read()).decode("ascii")
        except OSError as exc:
            raise PayloadInvalid(f"{model_label} {pk}: the stored {field_name} cannot be read") from exc
    rows = list(manager.filter(pk=pk).values_list(field_name, flat=True)[:1])
    if not rows:
        raise PayloadInvalid(f"{model_label} {pk} does not exist")
    return str(rows[0]) if rows[0] else None


def _put(subrequests: list[Any], path: Any, value: str) -> None:
    """Write ``value`` at ``path``: ``[index, "body", field]``, or ``[index, "url"]`` for the
    record ID ending an update's URL."""
    match path:
        case [int(index), "url"] if 0 <= index < len(subrequests) and subrequests[index]["url"].endswith("/"):
            subrequests[index]["url"] += value
        case [int(index), "body", str(key)] if 0 <= index < len(subrequests) and isinstance(
            subrequests[index].get("body"), dict
        ):
            subrequests[index]["body"][key] = value
        case _:
            raise PayloadInvalid(f"a fill has an invalid path {path!r}")


def _record_success(entry: OutboxEntry, ids: Mapping[str, str], report: DeliveryReport) -> None:
    with transaction.atomic():
        for write_back in entry.payload.get("write_backs", []):
            new_id = ids.get(write_back["reference_id"])
            if new_id:
                model = apps.get_model(write_back["model"])
                model._default_manager.filter(pk=write_back["pk"]).update(**{write_back["field"]: new_id})
        OutboxEntry.objects.filter(pk=entry.pk).update(
            status=OutboxEntry.Status.DELIVERED,
            delivered_at=timezone.now(),
            attempts=entry.attempts + 1,
            result={"ids": dict(ids)},
            last_error="",
            claimed_until=None,
            sending_since=None,
        )
    report.delivered.append(entry.pk)
    logger.info("Outbox entry %s (%s) delivered", entry.pk, entry.operation)


def _creates_records(subrequests: Iterable[Mapping[str, Any]]) -> bool:
    return any(subrequest["method"] == "POST" for subrequest in subrequests)


def _hold_outcome_unknown(entry: OutboxEntry, reason: str) -> None:
    """Fail an entry whose records Salesforce may have created, for an agent to check first."""
    OutboxEntry.objects.filter(pk=entry.pk).update(
        status=OutboxEntry.Status.FAILED,
        attempts=entry.attempts + 1,
        last_error=(
            f"{OUTCOME_UNKNOWN}: {reason}. Salesforce may have created the records: check there "
            "before retrying, or they will be created twice."
        )[:2000],
        claimed_until=None,
        sending_since=None,
    )
    logger.error("Outbox entry %s (%s) held, outcome unknown: %s", entry.pk, entry.operation, reason)


def _record_updates_delivered(entries: Sequence[OutboxEntry], report: DeliveryReport) -> None:
    """Mark updates delivered together in one statement (they write nothing back; the record's
    id is in the payload)."""
    OutboxEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(
        status=OutboxEntry.Status.DELIVERED,
        delivered_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
        claimed_until=None,
        sending_since=None,
    )
    report.delivered.extend(entry.pk for entry in entries)
    logger.info("Outbox entries %s delivered together", [entry.pk for entry in entries])


def _record_failure(entry: OutboxEntry, error: SalesforceError, report: DeliveryReport) -> None:
    if isinstance(error, SalesforceOutcomeUnknown) and _creates_records(entry.payload["subrequests"]):
        _hold_outcome_unknown(entry, str(error))
        report.failed.append(entry.pk)
        return
    if error.retryable and entry.attempts + 1 < MAX_ATTEMPTS:
        _retry_later(entry, error)
        report.retrying.append(entry.pk)
        return
    _fail(entry, str(error))
    report.failed.append(entry.pk)


def _fail(entry: OutboxEntry, reason: str) -> None:
    OutboxEntry.objects.filter(pk=entry.pk).update(
        status=OutboxEntry.Status.FAILED,
        attempts=entry.attempts + 1,
        last_error=reason[:2000],
        claimed_until=None,
        sending_since=None,
    )
    logger.error("Outbox entry %s (%s) failed permanently: %s", entry.pk, entry.operation, reason)


def _retry_later(entry: OutboxEntry, error: SalesforceError) -> None:
    attempts = entry.attempts + 1
    delay = BACKOFF.delay(entry.attempts)
    OutboxEntry.objects.filter(pk=entry.pk).update(
        status=OutboxEntry.Status.PENDING,
        attempts=attempts,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=str(error)[:2000],
        claimed_until=None,
        sending_since=None,
    )
    logger.warning(
        "Outbox entry %s (%s) will be retried in %.0fs: %s", entry.pk, entry.operation, delay, error
    )


def _release(entry: OutboxEntry, *, note: str) -> None:
    OutboxEntry.objects.filter(pk=entry.pk).update(
        status=OutboxEntry.Status.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=BACKOFF.initial),
        last_error=note,
        claimed_until=None,
    )


def outbox_mark_applied(*, entry_id: int, ids: Mapping[str, str]) -> OutboxEntry:
    """Settle an entry held with ``OUTCOME_UNKNOWN`` whose records were found in Salesforce:
    write their ids back (``ids`` by reference id, one for each write-back) as delivery would have,
    and mark it delivered without sending it again."""
    with transaction.atomic():
        entry = OutboxEntry.objects.select_for_update().get(pk=entry_id)
        if not entry.outcome_unknown:
            raise ValueError(f"Outbox entry {entry_id} is not held with an unknown outcome.")
        missing = [
            w["reference_id"] for w in entry.payload.get("write_backs", []) if not ids.get(w["reference_id"])
        ]
        if missing:
            raise ValueError(f"Outbox entry {entry_id} needs the Salesforce ids of {missing}.")
        _record_success(entry, ids, DeliveryReport())
        entry.refresh_from_db()
    return entry


def outbox_retry(*, entry_id: int) -> OutboxEntry:
    """Put a failed entry back in the queue (the admin's retry action)."""
    with transaction.atomic():
        entry = OutboxEntry.objects.select_for_update().get(pk=entry_id)
        if entry.status != OutboxEntry.Status.FAILED:
            return entry
        entry.status = OutboxEntry.Status.PENDING
        entry.next_attempt_at = timezone.now()
        entry.attempts = 0
        entry.save(update_fields=["status", "next_attempt_at", "attempts"])
        transaction.on_commit(_schedule_delivery)
    return entry
