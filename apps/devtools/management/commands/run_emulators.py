"""Serve the local Salesforce and WHMCS on the ports the default settings point at."""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from apps.devtools.emulators import emulator_suite_from_settings


class Command(BaseCommand):
    help = (
        "Run the Salesforce emulator (REST over HTTPS, Pub/Sub API over gRPC, the org's flows) and "
        "the WHMCS emulator until interrupted. Records persist in EMULATOR_DIR."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        suite = emulator_suite_from_settings().start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.stdout.write(
            self.style.SUCCESS(
                f"Salesforce REST  {suite.salesforce.base_url}\n"
                f"Salesforce gRPC  {suite.host}:{suite.pubsub.port}\n"
                f"WHMCS            {suite.whmcs.url}"
            )
        )
        try:
            while not stop.wait(0.5):
                pass
        finally:
            suite.stop()
