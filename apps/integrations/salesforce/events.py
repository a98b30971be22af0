"""Durable processing of Salesforce platform events received over the Pub/Sub API.

Three guarantees, each kept in the database (``EventReplayCursor``, one row per topic):

1. **Exactly once in effect.** :func:`process_events` runs the topic's handlers over a fetched
   batch and saves the batch's last replay ID in one transaction. A crash before the commit
   leaves the old replay ID, so the batch is delivered again; after the commit it never is.
   Handlers are also idempotent (DESIGN.md), which covers the real bus redelivering an event.
   A handler that needs a side effect outside the database (a Celery task, an email) defers it
   with ``transaction.on_commit``.
2. **One subscriber per topic.** A lease (owner + expiry) taken and renewed with conditional
   UPDATEs, which behave the same on SQLite and PostgreSQL. Other copies wait as standbys and take
   over when the lease is released or expires; :func:`process_events` re-checks the lease under a
   row lock, so a subscriber that lost its lease cannot commit one more event.
3. **Resume where committed.** Every (re)connect starts after the stored replay ID; keepalive
   replay IDs are stored too, so an idle topic does not fall behind the retention window.

Handlers register in an ``event_handlers`` module of any installed app (found by
:func:`autodiscover_handlers`): with :func:`event_handler` they receive each event's decoded
payload and the event; with :func:`batch_event_handler` they receive the whole batch at once, so
a high-volume topic costs a few statements per batch rather than per event. A batch whose
handlers fail is retried one event at a time, so the events before a bad one still commit and
the bad one alone is redelivered. This module holds no business logic (STYLE.md rule 8).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from apps.integrations.models import EventReplayCursor
from apps.integrations.salesforce.pubsub.subscriber import (
    AuthMetadata,
    DecodedEvent,
    PubSubSubscriber,
    StopSubscription,
)

logger = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, Any], DecodedEvent], None]
BatchEventHandler = Callable[[Sequence[DecodedEvent]], None]

DEFAULT_LEASE_TTL = timedelta(seconds=30)
DEFAULT_STANDBY_POLL_SECONDS = 5.0


# --- Handler registry -------------------------------------------------------------------------


class HandlerRegistry:
    """Event handlers per topic (``/event/Name__e``), called in registration order. Each is an
    :data:`EventHandler` (per event) or, registered with ``batch=True``, a
    :data:`BatchEventHandler` (per fetched batch)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[Callable[..., None], bool]]] = defaultdict(list)
        self._lock = threading.Lock()

    def register(
        self, topic: str, handler: Callable[..., None], *, batch: bool = False
    ) -> Callable[..., None]:
        with self._lock:
            if all(registered != handler for registered, _ in self._handlers[topic]):
                self._handlers[topic].append((handler, batch))
        return handler

    def unregister(self, topic: str, handler: Callable[..., None]) -> None:
        with self._lock:
            self._handlers[topic] = [entry for entry in self._handlers.get(topic, []) if entry[0] != handler]

    def handlers(self, topic: str) -> list[Callable[..., None]]:
        return [handler for handler, _ in self.entries(topic)]

    def entries(self, topic: str) -> list[tuple[Callable[..., None], bool]]:
        """``(handler, takes_batch)`` pairs of ``topic`` in registration order."""
        with self._lock:
            return list(self._handlers.get(topic, []))

    def run(self, topic: str, events: Sequence[DecodedEvent]) -> None:
        """Call every handler of ``topic``: batch handlers once, the others once per event."""
        for handler, takes_batch in self.entries(topic):
            if takes_batch:
                handler(events)
            else:
                for event in events:
                    handler(event.payload, event)

    @contextmanager
    def registered(
        self, topic: str, handler: Callable[..., None], *, batch: bool = False
    ) -> Iterator[Callable[..., None]]:
        """Register ``handler`` for the duration of a block (tests)."""
        self.register(topic, handler, batch=batch)
        try:
            yield handler
        finally:
            self.unregister(topic, handler)


registry = HandlerRegistry()


def event_handler(topic: str) -> Callable[[EventHandler], EventHandler]:
    """Register the decorated function as a handler of each event of ``topic``::

    @event_handler(settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"])
    def order_provision_requested(payload: dict[str, Any], event: DecodedEvent) -> None: ...
    """

    def decorator(handler: EventHandler) -> EventHandler:
        registry.register(topic, handler)
        return handler

    return decorator


def batch_event_handler(topic: str) -> Callable[[BatchEventHandler], BatchEventHandler]:
    """Register the decorated function as a handler of each fetched batch of ``topic`` (the
    events of the fetches waiting, up to 500, in order, all in one transaction)::

    @batch_event_handler(settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"])
    def account_status_updated(events: Sequence[DecodedEvent]) -> None: ...
    """

    def decorator(handler: BatchEventHandler) -> BatchEventHandler:
        registry.register(topic, handler, batch=True)
        return handler

    return decorator


def autodiscover_handlers() -> None:
    """Import ``<app>.event_handlers`` of every installed app, so their handlers register, and
    route the Change Data Capture channels to :mod:`~apps.integrations.salesforce.change_events`,
    which hands each object's changes to the handlers its app registered there."""
    from apps.integrations.salesforce.change_events import dispatch_change_events

    autodiscover_modules("event_handlers")
    for channel in settings.SALESFORCE.get("CHANGE_EVENT_CHANNELS", ()):
        registry.register(channel, dispatch_change_events, batch=True)


# --- Lease ------------------------------------------------------------------------------------


def default_owner() -> str:
    """A lease owner name unique to this process and run: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(topic: str, owner: str, ttl: timedelta = DEFAULT_LEASE_TTL) -> bool:
    """Take the topic's lease if it is free, expired or already ours. Creates the cursor row."""
    EventReplayCursor.objects.get_or_create(topic=topic)
    now = timezone.now()
    taken = (
        EventReplayCursor.objects.filter(topic=topic)
        .filter(
            Q(lease_owner=owner)
            | Q(lease_owner="")
            | Q(lease_expires_at__isnull=True)
            | Q(lease_expires_at__lt=now)
        )
        .update(lease_owner=owner, lease_expires_at=now + ttl)
    )
    return taken == 1


def renew_lease(topic: str, owner: str, ttl: timedelta = DEFAULT_LEASE_TTL) -> bool:
    """Extend our lease. False means another subscriber holds the topic now."""
    now = timezone.now()
    return (
        EventReplayCursor.objects.filter(topic=topic, lease_owner=owner).update(lease_expires_at=now + ttl)
        == 1
    )


def release_lease(topic: str, owner: str) -> bool:
    """Give the topic up at once, so a standby need not wait for the lease to expire."""
    return (
        EventReplayCursor.objects.filter(topic=topic, lease_owner=owner).update(
            lease_owner="", lease_expires_at=None
        )
        == 1
    )


class LeaseLostError(StopSubscription):
    """Another subscriber holds the topic now; this one must stop without committing."""


# --- Processing -------------------------------------------------------------------------------


def stored_replay_id(topic: str) -> bytes | None:
    """Where to resume: the last committed (or keepalive) replay ID of the topic, if any."""
    value = EventReplayCursor.objects.filter(topic=topic).values_list("replay_id", flat=True).first()
    return bytes(value) if value else None


def process_events(
    topic: str, events: Sequence[DecodedEvent], *, owner: str, handlers: HandlerRegistry | None = None
) -> None:
    """Run the topic's handlers over ``events`` and commit the last replay ID with their work.

    Raises :class:`LeaseLostError` (nothing committed) when ``owner`` no longer holds the lease.
    A handler's exception rolls back the whole batch's work and the cursor, so it is redelivered.
    """
    if not events:
        return
    with transaction.atomic():
        cursor = EventReplayCursor.objects.select_for_update().get(topic=topic)
        now = timezone.now()
        if cursor.lease_owner != owner or cursor.lease_expires_at is None or cursor.lease_expires_at <= now:
            raise LeaseLostError(f"{topic}: the lease is no longer held by {owner}")
        (handlers or registry).run(topic, events)
        cursor.replay_id = events[-1].replay_id
        cursor.events_processed = F("events_processed") + len(events)
        cursor.last_event_at = now
        cursor.save(update_fields=["replay_id", "events_processed", "last_event_at", "updated_at"])


def process_event(
    topic: str, event: DecodedEvent, *, owner: str, handlers: HandlerRegistry | None = None
) -> None:
    """:func:`process_events` for a single event."""
    process_events(topic, [event], owner=owner, handlers=handlers)


def store_keepalive(topic: str, replay_id: bytes, *, owner: str) -> None:
    """Save a keepalive's replay ID: every event before it has been handled (the stream is in
    order), and resuming from it keeps an idle topic inside the retention window."""
    now = timezone.now()
    updated = EventReplayCursor.objects.filter(
        topic=topic, lease_owner=owner, lease_expires_at__gt=now
    ).update(replay_id=replay_id)
    if updated != 1:
        raise LeaseLostError(f"{topic}: the lease is no longer held by {owner}")


def replay_lost(topic: str) -> None:
    """The topic's stored replay ID was refused: events after it may never arrive. For a change
    event channel, the objects it carries are reconciled (their gap handlers, as after a
    ``GAP_OVERFLOW``); platform events have their own periodic reconciliation."""
    from apps.integrations.salesforce.change_events import channel_replay_lost

    channel_replay_lost(topic)


# --- Running a topic --------------------------------------------------------------------------


def session_auth(*, force_refresh: bool = False) -> AuthMetadata:
    """Pub/Sub auth headers from the portal's Salesforce session (JWT bearer flow)."""
    from apps.integrations.salesforce.auth import get_session  # Late: the session module is optional here.

    session = get_session(force_refresh=force_refresh)
    return AuthMetadata(
        access_token=session.access_token, instance_url=session.instance_url, tenant_id=session.org_id
    )


def build_subscriber(topic: str, *, plaintext: bool = False, **options: Any) -> PubSubSubscriber:
    """A subscriber for ``topic`` configured from ``settings.SALESFORCE``."""
    config = settings.SALESFORCE
    return PubSubSubscriber(
        config["PUBSUB_ENDPOINT"],
        topic,
        session_auth,
        ca_bundle=config.get("CA_BUNDLE") or None,
        plaintext=plaintext,
        **options,
    )


class TopicConsumer:
    """Runs one topic: wait for its lease (standby), then subscribe while holding it (leader).

    The lease is renewed by a heartbeat thread every third of its TTL. When the heartbeat finds
    the lease gone, or the process is stopping, the subscription is cancelled after the event in
    hand; on a clean stop the lease is released so a standby takes over at once.
    """

    def __init__(
        self,
        topic: str,
        subscriber_factory: Callable[[], PubSubSubscriber],
        *,
        owner: str | None = None,
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
        standby_poll_interval: float = DEFAULT_STANDBY_POLL_SECONDS,
        max_events: int | None = None,
        handlers: HandlerRegistry | None = None,
    ) -> None:
        self.topic = topic
        self.owner = owner or default_owner()
        self.lease_ttl = lease_ttl
        self.standby_poll_interval = standby_poll_interval
        self.max_events = max_events
        self.events_handled = 0
        self.is_leader = threading.Event()
        self._subscriber_factory = subscriber_factory
        self._handlers = handlers or registry
        self._finished = threading.Event()
        self._session_stop = threading.Event()

    def run(self, stop_event: threading.Event) -> None:
        """Block until ``stop_event`` is set (or ``max_events`` were handled)."""
        try:
            while not (stop_event.is_set() or self._finished.is_set()):
                try:
                    acquired = acquire_lease(self.topic, self.owner, self.lease_ttl)
                except DatabaseError:
                    logger.exception("%s: could not check the lease", self.topic)
                    acquired = False
                if acquired:
                    self._lead(stop_event)
                else:
                    stop_event.wait(self.standby_poll_interval)
        finally:
            connection.close()

    def _lead(self, stop_event: threading.Event) -> None:
        logger.info("%s: lease acquired by %s", self.topic, self.owner)
        self.is_leader.set()
        session_stop = self._session_stop = threading.Event()
        lease_lost = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat,
            args=(stop_event, session_stop, lease_lost),
            name=f"lease-heartbeat {self.topic}",
            daemon=True,
        )
        heartbeat.start()
        subscriber = self._subscriber_factory()
        try:
            subscriber.run(
                on_events=self._on_events,
                on_keepalive=lambda replay_id: store_keepalive(self.topic, replay_id, owner=self.owner),
                get_start_replay_id=lambda: stored_replay_id(self.topic),
                stop_event=session_stop,
                on_replay_lost=lambda: replay_lost(self.topic),
            )
        except LeaseLostError:
            lease_lost.set()
            logger.warning("%s: lease lost by %s; standing by", self.topic, self.owner)
        finally:
            session_stop.set()
            heartbeat.join()
            subscriber.close()
            self.is_leader.clear()
            if not lease_lost.is_set():
                release_lease(self.topic, self.owner)
                logger.info("%s: lease released by %s", self.topic, self.owner)

    def _on_events(self, events: Sequence[DecodedEvent]) -> None:
        if self.max_events is not None:
            events = events[: self.max_events - self.events_handled]
        try:
            self._process(events)
        except LeaseLostError:
            raise
        except Exception:
            if len(events) == 1:
                raise
            # Find the bad event: the ones before it commit, it alone is redelivered.
            logger.warning(
                "%s: a batch of %d events failed; handling them one at a time",
                self.topic,
                len(events),
                exc_info=True,
            )
            for event in events:
                self._process([event])
        if self.max_events is not None and self.events_handled >= self.max_events:
            self._finished.set()
            self._session_stop.set()  # Stop before the next batch, not when the heartbeat notices.

    def _process(self, events: Sequence[DecodedEvent]) -> None:
        process_events(self.topic, events, owner=self.owner, handlers=self._handlers)
        self.events_handled += len(events)

    def _heartbeat(
        self, stop_event: threading.Event, session_stop: threading.Event, lease_lost: threading.Event
    ) -> None:
        interval = self.lease_ttl.total_seconds() / 3
        next_renewal = time.monotonic() + interval
        try:
            while not session_stop.wait(0.05):
                if stop_event.is_set() or self._finished.is_set():
                    break
                if time.monotonic() < next_renewal:
                    continue
                try:
                    if not renew_lease(self.topic, self.owner, self.lease_ttl):
                        lease_lost.set()
                        logger.warning("%s: lease taken over; stopping %s", self.topic, self.owner)
                        break
                except DatabaseError:
                    logger.exception("%s: could not renew the lease", self.topic)
                next_renewal = time.monotonic() + interval
        finally:
            session_stop.set()
            connection.close()
