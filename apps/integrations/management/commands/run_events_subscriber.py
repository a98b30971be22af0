"""``manage.py run_events_subscriber``: receive Salesforce platform events and change events and hand
them to handlers.

One process serves several topics, one thread per topic: each thread holds its topic's lease,
resumes from the stored replay ID and commits every event with its handlers' work
(``apps.integrations.salesforce.events``). Run a second copy anywhere as a standby: it waits for
the leases and takes over when this one stops or dies. SIGTERM/SIGINT finish the event in hand,
release the leases and exit 0.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from functools import partial
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.integrations.salesforce.events import (
    TopicConsumer,
    autodiscover_handlers,
    build_subscriber,
    default_owner,
)
from apps.integrations.salesforce.pubsub.subscriber import MAX_BATCH_SIZE


class Command(BaseCommand):
    help = "Subscribe to the Salesforce platform event channels and process their events durably."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--topic",
            action="append",
            dest="topics",
            help="A channel such as /event/OrderProvisionRequested__e or /data/OpportunityChangeEvent "
            "(repeatable). Default: SALESFORCE ACCOUNT_EVENT_CHANNEL, ORDER_PROVISION_EVENT_CHANNEL "
            "and every CHANGE_EVENT_CHANNELS channel.",
        )
        parser.add_argument(
            "--max-events", type=int, default=None, help="Stop a topic after this many events (tests)."
        )
        parser.add_argument("--batch-size", type=int, default=MAX_BATCH_SIZE, help="Events per FetchRequest.")
        parser.add_argument("--lease-ttl", type=float, default=30.0, help="Lease lifetime in seconds.")
        parser.add_argument(
            "--standby-poll", type=float, default=5.0, help="Seconds between a standby's lease checks."
        )
        parser.add_argument("--owner", default="", help="Lease owner name (default: host:pid:random).")
        parser.add_argument(
            "--plaintext", action="store_true", help="Connect without TLS (local emulator only)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        topics: list[str] = options["topics"] or [
            settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"],
            settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"],
            *settings.SALESFORCE.get("CHANGE_EVENT_CHANNELS", ()),
        ]
        autodiscover_handlers()
        owner = options["owner"] or default_owner()
        stop_event = threading.Event()
        consumers = [
            TopicConsumer(
                topic,
                partial(
                    build_subscriber, topic, plaintext=options["plaintext"], batch_size=options["batch_size"]
                ),
                owner=owner,
                lease_ttl=timedelta(seconds=options["lease_ttl"]),
                standby_poll_interval=options["standby_poll"],
                max_events=options["max_events"],
            )
            for topic in dict.fromkeys(topics)
        ]
        failures: list[str] = []

        def run(consumer: TopicConsumer) -> None:
            try:
                consumer.run(stop_event)
            except Exception as exc:
                failures.append(f"{consumer.topic}: {exc}")
                stop_event.set()
                raise

        threads = [
            threading.Thread(target=run, args=(consumer,), name=f"events {consumer.topic}", daemon=True)
            for consumer in consumers
        ]
        previous_handlers = self._install_signal_handlers(stop_event)
        self.stdout.write(f"Subscribing to {', '.join(c.topic for c in consumers)} as {owner}")
        try:
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                for thread in threads:
                    thread.join(timeout=0.1)
        finally:
            stop_event.set()
            for thread in threads:
                thread.join()
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        if failures:
            raise CommandError("; ".join(failures))
        self.stdout.write(
            "Stopped: " + ", ".join(f"{c.topic} handled {c.events_handled} events" for c in consumers)
        )

    def _install_signal_handlers(self, stop_event: threading.Event) -> dict[int, Any]:
        """SIGTERM/SIGINT set ``stop_event``; only possible in the main thread (not under a test thread)."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def stop(signum: int, frame: FrameType | None) -> None:
            self.stderr.write(f"Received {signal.Signals(signum).name}; finishing the current event")
            stop_event.set()

        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, stop)
        return previous
