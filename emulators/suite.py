"""The local Salesforce and WHMCS, started together: what the portal's ``manage.py run_emulators``
serves and what the test suite starts on free ports.

One emulated org (REST over HTTPS, the Pub/Sub API over gRPC with TLS from the same CA, and the
record-triggered flows that publish the platform events) plus one WHMCS. Everything is given to
the constructor; ``apps/devtools/emulators.py`` builds a suite from the portal's settings and
turns one into the settings that point the portal's real clients at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .salesforce.cdc import DEFAULT_OVERFLOW_THRESHOLD, ChangeDataCapture, install_change_data_capture
from .salesforce.eventbus import DEFAULT_RETENTION, EventBus
from .salesforce.flows import (
    ACCOUNT_EVENT_CHANNEL,
    ORDER_PROVISION_EVENT_CHANNEL,
    RecordTriggeredFlows,
    install_flows,
)
from .salesforce.grpc_server import PubSubEmulator, ServerTls
from .salesforce.http_server import DEFAULT_CONSUMER_KEY, DEFAULT_USERNAME, SalesforceRestEmulator
from .whmcs.server import DEFAULT_IDENTIFIER, DEFAULT_SECRET, WhmcsEmulator


@dataclass
class EmulatorSuite:
    """Salesforce (REST + Pub/Sub) and WHMCS emulators sharing one lifecycle."""

    directory: Path
    host: str = "127.0.0.1"
    salesforce_http_port: int = 0
    salesforce_grpc_port: int = 0
    whmcs_port: int = 0
    salesforce_consumer_key: str = DEFAULT_CONSUMER_KEY
    salesforce_username: str = DEFAULT_USERNAME
    whmcs_identifier: str = DEFAULT_IDENTIFIER
    whmcs_secret: str = DEFAULT_SECRET
    persistent: bool = False
    """Keep both systems' records in ``directory`` across restarts."""
    keepalive_interval: float = 270.0
    account_event_channel: str = ACCOUNT_EVENT_CHANNEL
    order_provision_event_channel: str = ORDER_PROVISION_EVENT_CHANNEL
    change_event_overflow_threshold: int = DEFAULT_OVERFLOW_THRESHOLD

    salesforce: SalesforceRestEmulator = field(init=False)
    bus: EventBus = field(init=False)
    flows: RecordTriggeredFlows = field(init=False)
    cdc: ChangeDataCapture = field(init=False)
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
            self.salesforce.store,
            self.bus,
            account_topic=self.account_event_channel,
            order_topic=self.order_provision_event_channel,
            running_user_id=self.salesforce.store.user_id,
        )
        self.cdc = install_change_data_capture(
            self.salesforce.store, self.bus, overflow_threshold=self.change_event_overflow_threshold
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
        self.bus.set_retention(DEFAULT_RETENTION)
        self.cdc.overflow_threshold = self.change_event_overflow_threshold
        self.whmcs.reset()
        self.whmcs.clear_faults()

    def __enter__(self) -> EmulatorSuite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
