"""The local Salesforce and WHMCS, started together: what ``manage.py run_emulators`` serves and
what the test suite starts on free ports.

One emulated org (REST over HTTPS, the Pub/Sub API over gRPC with TLS from the same CA, and the
record-triggered flows that publish the platform events) plus one WHMCS. ``settings_overrides()``
gives the settings that point the portal's real clients at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.integrations.salesforce.emulator.eventbus import EventBus
from apps.integrations.salesforce.emulator.flows import RecordTriggeredFlows, install_flows
from apps.integrations.salesforce.emulator.grpc_server import PubSubEmulator, ServerTls
from apps.integrations.salesforce.emulator.http_server import SalesforceRestEmulator
from apps.integrations.whmcs.emulator.server import WhmcsEmulator


@dataclass
class EmulatorSuite:
    """Salesforce (REST + Pub/Sub) and WHMCS emulators sharing one lifecycle."""

    directory: Path
    host: str = "127.0.0.1"
    salesforce_http_port: int = 0
    salesforce_grpc_port: int = 0
    whmcs_port: int = 0
    salesforce_consumer_key: str = "portal-emulator-consumer-key"
    salesforce_username: str = "integration@portal.emulator"
    whmcs_identifier: str = "portal-emulator-identifier"
    whmcs_secret: str = "portal-emulator-secret"
    persistent: bool = False
    keepalive_interval: float = 270.0

    salesforce: SalesforceRestEmulator = field(init=False)
    bus: EventBus = field(init=False)
    flows: RecordTriggeredFlows = field(init=False)
    pubsub: PubSubEmulator = field(init=False)
    whmcs: WhmcsEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.salesforce = SalesforceRestEmulator(
            self.host,
            self.salesforce_http_port,
            cert_dir=self.directory,
            consumer_key=self.salesforce_consumer_key,
            username=self.salesforce_username,
            state_file=self.directory / "salesforce-state.json" if self.persistent else None,
        )
        self.bus = EventBus()
        self.flows = install_flows(
            self.salesforce.store, self.bus, running_user_id=self.salesforce.store.user_id
        )
        tls = self.salesforce.tls_files
        self.pubsub = PubSubEmulator(
            self.bus,
            self.salesforce.validate_token,
            self.host,
            self.salesforce_grpc_port,
            ServerTls.from_files(tls.server_cert, tls.server_key),
            org_id=self.salesforce.org_id,
            keepalive_interval=self.keepalive_interval,
        )
        self.whmcs = WhmcsEmulator(
            self.whmcs_identifier,
            self.whmcs_secret,
            self.host,
            self.whmcs_port,
            state_file=self.directory / "whmcs-state.json" if self.persistent else None,
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> EmulatorSuite:
        """The suite on the ports and files the portal's default settings point at."""
        from django.conf import settings

        sf, whmcs = settings.SALESFORCE_EMULATOR, settings.WHMCS_EMULATOR
        options: dict[str, Any] = {
            "directory": settings.EMULATOR_DIR,
            "host": sf["HOST"],
            "salesforce_http_port": sf["HTTP_PORT"],
            "salesforce_grpc_port": sf["GRPC_PORT"],
            "whmcs_port": whmcs["PORT"],
            "salesforce_consumer_key": settings.SALESFORCE["CLIENT_ID"],
            "salesforce_username": settings.SALESFORCE["USERNAME"],
            "whmcs_identifier": settings.WHMCS["IDENTIFIER"],
            "whmcs_secret": settings.WHMCS["SECRET"],
            "persistent": True,
        }
        options.update(overrides)
        return cls(**options)

    def start(self) -> EmulatorSuite:
        self.salesforce.start()
        self.pubsub.start()
        self.whmcs.start()
        return self

    def stop(self) -> None:
        self.whmcs.stop()
        self.pubsub.stop()
        self.salesforce.stop()

    def reset(self) -> None:
        """Empty both systems and clear every injected fault (issued sessions stay valid)."""
        self.salesforce.reset()
        self.whmcs.reset()
        self.whmcs.clear_faults()

    def settings_overrides(self) -> dict[str, dict[str, Any]]:
        """``SALESFORCE`` and ``WHMCS`` entries that point the portal at this suite."""
        return {
            "SALESFORCE": {
                "LOGIN_URL": self.salesforce.base_url,
                "CLIENT_ID": self.salesforce_consumer_key,
                "USERNAME": self.salesforce_username,
                "PRIVATE_KEY_PATH": str(self.salesforce.jwt_files.private_key),
                "PRIVATE_KEY_BASE64": "",
                "CA_BUNDLE": str(self.salesforce.ca_bundle),
                "PUBSUB_ENDPOINT": f"{self.host}:{self.pubsub.port}",
            },
            "WHMCS": {
                "API_URL": self.whmcs.url,
                "IDENTIFIER": self.whmcs_identifier,
                "SECRET": self.whmcs_secret,
                "ACCESS_KEY": "",
            },
        }

    def process_environment(self) -> dict[str, str]:
        """The ``SF_*`` and ``WHMCS_*`` variables that point another portal process (a worker, the
        events subscriber) at this suite, as ``portal/settings.py`` reads them."""
        overrides = self.settings_overrides()
        sf, whmcs = overrides["SALESFORCE"], overrides["WHMCS"]
        return {
            "SF_LOGIN_URL": sf["LOGIN_URL"],
            "SF_CLIENT_ID": sf["CLIENT_ID"],
            "SF_USERNAME": sf["USERNAME"],
            "SF_PRIVATE_KEY_PATH": sf["PRIVATE_KEY_PATH"],
            "SF_CA_BUNDLE": sf["CA_BUNDLE"],
            "SF_PUBSUB_ENDPOINT": sf["PUBSUB_ENDPOINT"],
            "WHMCS_API_URL": whmcs["API_URL"],
            "WHMCS_API_IDENTIFIER": whmcs["IDENTIFIER"],
            "WHMCS_API_SECRET": whmcs["SECRET"],
        }

    def __enter__(self) -> EmulatorSuite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
