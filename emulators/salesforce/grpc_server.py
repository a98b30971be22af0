"""A local Pub/Sub API server (``eventbus.v1.PubSub`` over real gRPC) backed by an :class:`EventBus`.

It reproduces the behaviour a client depends on, so the portal's subscriber is tested against
the protocol rather than against mocks:

- auth metadata (``accesstoken``, ``instanceurl``, ``tenantid``) on every call, checked with an
  injected validator; failures are ``UNAUTHENTICATED`` with the ``error-code`` trailer;
- ``Subscribe`` honours ``replay_preset``/``replay_id`` only in the first ``FetchRequest``,
  requires the topic there, accumulates ``num_requested`` up to 100 outstanding events and reports
  ``pending_num_requested``; while events are owed but none arrive it sends an empty keepalive
  response carrying the latest replay ID (every 270 s on the real service);
- fault injection for tests: :meth:`PubSubEmulator.drop_streams`, :meth:`~PubSubEmulator.drop_after`
  and :meth:`~PubSubEmulator.fail_next`.

See https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc
and ``guide/flow-control``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import grpc

from salesforce_pubsub import pubsub_api_pb2, pubsub_api_pb2_grpc

from .eventbus import (
    EventBus,
    InvalidEventError,
    InvalidReplayIdError,
    ReplayPreset,
    StoredEvent,
    UnknownSchemaError,
    UnknownTopicError,
)

logger = logging.getLogger(__name__)

AUTH_ERROR_CODE = "sfdc.platform.eventbus.grpc.service.auth.error"
UNAVAILABLE_ERROR_CODE = "sfdc.platform.eventbus.grpc.service.unavailable"
REPLAY_ID_CORRUPTED_ERROR_CODE = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
MAX_OUTSTANDING_EVENTS = 100
DEFAULT_KEEPALIVE_SECONDS = 270.0

TokenValidator = Callable[[str], bool]


@dataclass(frozen=True)
class ServerTls:
    """A PEM certificate chain and private key; the emulator serves TLS when given one."""

    certificate_chain: bytes
    private_key: bytes

    @classmethod
    def from_files(cls, certificate_path: str | Path, key_path: str | Path) -> ServerTls:
        return cls(Path(certificate_path).read_bytes(), Path(key_path).read_bytes())


@dataclass(eq=False)
class _Stream:
    """The server-side state of one ``Subscribe`` call."""

    rpc_id: str
    topic: str
    pending: int = 0
    delivered: int = 0
    abort_with: tuple[grpc.StatusCode, str, str] | None = None
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, num_requested: int) -> None:
        with self.lock:
            self.pending = min(self.pending + max(num_requested, 0), MAX_OUTSTANDING_EVENTS)

    def fail(self, code: grpc.StatusCode, message: str, error_code: str) -> None:
        with self.lock:
            if self.abort_with is None:
                self.abort_with = (code, message, error_code)


class _Aborted(Exception):
    """Raised through ``context.abort``; never escapes the servicer."""


class _PubSubServicer:
    """The RPC implementations. gRPC looks the methods up by name, hence the CamelCase."""

    def __init__(self, emulator: PubSubEmulator) -> None:
        self._emulator = emulator
        self._bus = emulator.bus
        self._pb2: Any = pubsub_api_pb2

    # --- Common -------------------------------------------------------------------------------

    def _begin(self, rpc: str, context: grpc.ServicerContext) -> str:
        """Start a call: apply an injected failure, then check the auth metadata."""
        rpc_id = str(uuid.uuid4())
        injected = self._emulator._take_injected_failure(rpc)
        if injected is not None:
            _abort(context, rpc_id, injected, f"Injected failure of {rpc}", UNAVAILABLE_ERROR_CODE)
        metadata = {key: value for key, value in context.invocation_metadata() if isinstance(value, str)}
        token = metadata.get("accesstoken", "")
        tenant = metadata.get("tenantid", "")
        if not (token and metadata.get("instanceurl") and tenant) or not self._emulator._token_is_valid(
            token
        ):
            _abort(context, rpc_id, grpc.StatusCode.UNAUTHENTICATED, "Invalid session", AUTH_ERROR_CODE)
        if self._emulator.org_id and tenant != self._emulator.org_id:
            _abort(context, rpc_id, grpc.StatusCode.UNAUTHENTICATED, "Unknown tenant ID", AUTH_ERROR_CODE)
        return rpc_id

    # --- Unary --------------------------------------------------------------------------------

    def GetTopic(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc_id = self._begin("GetTopic", context)
        try:
            info = self._bus.topic(request.topic_name)
        except UnknownTopicError:
            _abort(context, rpc_id, grpc.StatusCode.NOT_FOUND, f"Unknown topic {request.topic_name!r}")
        return self._pb2.TopicInfo(
            topic_name=info.name,
            tenant_guid=self._emulator.org_id or "",
            can_publish=True,
            can_subscribe=True,
            schema_id=info.schema_id,
            rpc_id=rpc_id,
        )

    def GetSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc_id = self._begin("GetSchema", context)
        try:
            schema_json = self._bus.schema(request.schema_id)
        except UnknownSchemaError:
            _abort(context, rpc_id, grpc.StatusCode.NOT_FOUND, f"Unknown schema ID {request.schema_id!r}")
        return self._pb2.SchemaInfo(schema_json=schema_json, schema_id=request.schema_id, rpc_id=rpc_id)

    def Publish(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc_id = self._begin("Publish", context)
        return self._publish(request, context, rpc_id)

    def PublishStream(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        rpc_id = self._begin("PublishStream", context)
        topic = ""
        for request in request_iterator:
            if not topic:
                topic = request.topic_name
            elif request.topic_name and request.topic_name != topic:
                _abort(
                    context, rpc_id, grpc.StatusCode.INVALID_ARGUMENT, "The topic cannot change in a stream"
                )
            request.topic_name = topic
            yield self._publish(request, context, rpc_id)

    def _publish(self, request: Any, context: grpc.ServicerContext, rpc_id: str) -> Any:
        pb2 = self._pb2
        try:
            info = self._bus.topic(request.topic_name)
        except UnknownTopicError:
            _abort(context, rpc_id, grpc.StatusCode.NOT_FOUND, f"Unknown topic {request.topic_name!r}")
        results = []
        for event in request.events:
            event_id = event.id or str(uuid.uuid4())
            try:
                replay_id = self._bus.publish_encoded(
                    info.name, schema_id=event.schema_id, payload=event.payload, event_id=event_id
                )
            except InvalidEventError as exc:
                error = pb2.Error(code=pb2.ErrorCode.Value("PUBLISH"), msg=str(exc))
                results.append(pb2.PublishResult(error=error, correlation_key=event_id))
            else:
                results.append(pb2.PublishResult(replay_id=replay_id, correlation_key=event_id))
        return pb2.PublishResponse(results=results, schema_id=info.schema_id, rpc_id=rpc_id)

    def ManagedSubscribe(
        self, request_iterator: Iterator[Any], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        rpc_id = self._begin("ManagedSubscribe", context)
        _abort(context, rpc_id, grpc.StatusCode.UNIMPLEMENTED, "ManagedSubscribe is not emulated")
        yield  # pragma: no cover - makes this a generator, like the real streaming method.

    # --- Subscribe ----------------------------------------------------------------------------

    def Subscribe(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        rpc_id = self._begin("Subscribe", context)
        first = next(request_iterator, None)
        if first is None:
            return
        topic = first.topic_name
        if not topic:
            _abort(
                context,
                rpc_id,
                grpc.StatusCode.INVALID_ARGUMENT,
                "topic_name is required in the first request",
            )
        if first.replay_preset not in iter(ReplayPreset):
            _abort(
                context,
                rpc_id,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Unknown replay preset {first.replay_preset}",
            )
        try:
            position = self._bus.start_position(topic, ReplayPreset(first.replay_preset), first.replay_id)
        except UnknownTopicError:
            _abort(context, rpc_id, grpc.StatusCode.NOT_FOUND, f"Unknown topic {topic!r}")
        except InvalidReplayIdError:
            _abort(
                context,
                rpc_id,
                grpc.StatusCode.INVALID_ARGUMENT,
                "The Replay ID validation failed",
                REPLAY_ID_CORRUPTED_ERROR_CODE,
            )

        stream = _Stream(rpc_id=rpc_id, topic=topic)
        stream.request(first.num_requested)
        self._emulator._register(stream)
        context.add_callback(lambda: self._close(stream))
        reader = threading.Thread(
            target=self._read_requests, args=(stream, request_iterator), name=f"pubsub-fetch-{rpc_id[:8]}"
        )
        reader.daemon = True
        reader.start()
        try:
            yield from self._deliver(stream, position, context)
        finally:
            self._close(stream)
            self._emulator._unregister(stream)

    def _read_requests(self, stream: _Stream, request_iterator: Iterator[Any]) -> None:
        """Take later ``FetchRequest``s while events are being delivered (replay fields are ignored)."""
        try:
            for request in request_iterator:
                if request.topic_name and request.topic_name != stream.topic:
                    stream.fail(grpc.StatusCode.INVALID_ARGUMENT, "The topic cannot change in a stream", "")
                    break
                stream.request(request.num_requested)
                self._bus.wake()
        except Exception:  # The call ended (cancelled or closed); the delivery loop notices.
            logger.debug("Subscribe %s: request stream ended", stream.rpc_id, exc_info=True)
        finally:
            self._bus.wake()

    def _deliver(self, stream: _Stream, position: int, context: grpc.ServicerContext) -> Iterator[Any]:
        pb2 = self._pb2
        keepalive = self._emulator.keepalive_interval
        last_sent = time.monotonic()
        while True:
            if stream.abort_with is not None:
                code, message, error_code = stream.abort_with
                _abort(context, stream.rpc_id, code, message, error_code)
            if stream.closed or not context.is_active():
                return
            with stream.lock:
                limit = self._emulator._delivery_limit(stream.pending)
            events, latest_replay_id, version = self._bus.poll(stream.topic, position, limit)
            if events:
                position = events[-1].sequence
                with stream.lock:
                    stream.pending -= len(events)
                    stream.delivered += len(events)
                    pending = stream.pending
                yield pb2.FetchResponse(
                    events=[self._consumer_event(event) for event in events],
                    latest_replay_id=events[-1].replay_id,
                    rpc_id=stream.rpc_id,
                    pending_num_requested=pending,
                )
                last_sent = time.monotonic()
                self._emulator._record_deliveries(events)
                self._emulator._after_delivery(stream, len(events))
                continue
            idle = time.monotonic() - last_sent
            if stream.pending > 0 and idle >= keepalive:
                yield pb2.FetchResponse(
                    latest_replay_id=latest_replay_id,
                    rpc_id=stream.rpc_id,
                    pending_num_requested=stream.pending,
                )
                last_sent = time.monotonic()
                continue
            wait = keepalive - idle if stream.pending > 0 else keepalive
            self._bus.wait(version, max(min(wait, 1.0), 0.001))

    def _consumer_event(self, event: StoredEvent) -> Any:
        pb2 = self._pb2
        producer_event = pb2.ProducerEvent(
            id=event.event_id, schema_id=event.schema_id, payload=event.payload
        )
        return pb2.ConsumerEvent(event=producer_event, replay_id=event.replay_id)

    def _close(self, stream: _Stream) -> None:
        stream.closed = True
        self._bus.wake()


def _abort(
    context: grpc.ServicerContext,
    rpc_id: str,
    code: grpc.StatusCode,
    message: str,
    error_code: str = "",
) -> NoReturn:
    """End the call with a status, the ``error-code`` trailer and the rpc ID in the message, as the
    real service does."""
    if error_code:
        context.set_trailing_metadata((("error-code", error_code), ("rpc-id", rpc_id)))
    context.abort(code, f"{message} rpcId: {rpc_id}")
    raise _Aborted  # context.abort always raises; this satisfies the type checker.


class PubSubEmulator:
    """A running (or startable) gRPC Pub/Sub server.

    ``token_validator`` decides which access tokens are valid (normally the REST emulator's
    ``validate_token``); ``org_id``, when given, must match the ``tenantid`` header.
    """

    def __init__(
        self,
        bus: EventBus,
        token_validator: TokenValidator,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ServerTls | None = None,
        *,
        org_id: str | None = None,
        keepalive_interval: float = DEFAULT_KEEPALIVE_SECONDS,
        max_workers: int = 64,
    ) -> None:
        self.bus = bus
        self.host = host
        self.org_id = org_id
        self.keepalive_interval = keepalive_interval
        self._token_validator = token_validator
        self._requested_port = port
        self._tls = tls
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self._port = 0
        self._lock = threading.Lock()
        self._streams: set[_Stream] = set()
        self._drop_budget: int | None = None
        self._injected: dict[str, deque[grpc.StatusCode]] = defaultdict(deque)
        self._deliveries: Counter[bytes] = Counter()

    # --- Lifecycle ----------------------------------------------------------------------------

    def start(self) -> PubSubEmulator:
        server = grpc.server(
            ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="pubsub-emulator")
        )
        pubsub_api_pb2_grpc.add_PubSubServicer_to_server(_PubSubServicer(self), server)
        address = (
            f"[{self.host}]:{self._requested_port}"
            if ":" in self.host
            else f"{self.host}:{self._requested_port}"
        )
        if self._tls is None:
            self._port = server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials([(self._tls.private_key, self._tls.certificate_chain)])
            self._port = server.add_secure_port(address, credentials)
        server.start()
        self._server = server
        logger.info(
            "Pub/Sub emulator listening on %s:%s (%s)",
            self.host,
            self._port,
            "TLS" if self._tls else "plaintext",
        )
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        if self._server is None:
            return
        with self._lock:
            for stream in self._streams:
                stream.closed = True
        self.bus.wake()
        self._server.stop(grace).wait()
        self._server = None

    def __enter__(self) -> PubSubEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        return f"{self.host}:{self._port}"

    # --- Fault injection ----------------------------------------------------------------------

    def drop_streams(self) -> int:
        """Abort every active ``Subscribe`` with ``UNAVAILABLE``, as when a server node goes away.
        Returns how many streams were dropped."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.fail(grpc.StatusCode.UNAVAILABLE, "Service unavailable", UNAVAILABLE_ERROR_CODE)
        self.bus.wake()
        return len(streams)

    def drop_after(self, n_events: int) -> None:
        """Abort the stream that delivers the ``n_events``-th event from now (counted over all
        streams) with ``UNAVAILABLE``, right after that event; a response is cut short so the drop
        can land in the middle of a batch."""
        with self._lock:
            self._drop_budget = n_events

    def fail_next(self, rpc: str, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        """Make the next call of ``rpc`` (e.g. ``"Subscribe"``, ``"GetTopic"``) fail with ``code``."""
        with self._lock:
            self._injected[rpc].append(code)

    def deliveries(self) -> Counter[bytes]:
        """How often each replay ID was sent to a subscriber, over all streams: more than once
        means it was served again (a resubscription from an earlier stored replay ID)."""
        with self._lock:
            return Counter(self._deliveries)

    def active_streams(self) -> int:
        with self._lock:
            return len(self._streams)

    # --- Used by the servicer -----------------------------------------------------------------

    def _token_is_valid(self, token: str) -> bool:
        try:
            return bool(self._token_validator(token))
        except Exception:
            logger.exception("The token validator failed")
            return False

    def _take_injected_failure(self, rpc: str) -> grpc.StatusCode | None:
        with self._lock:
            queue = self._injected.get(rpc)
            return queue.popleft() if queue else None

    def _register(self, stream: _Stream) -> None:
        with self._lock:
            self._streams.add(stream)

    def _unregister(self, stream: _Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    def _record_deliveries(self, events: list[StoredEvent]) -> None:
        with self._lock:
            self._deliveries.update(event.replay_id for event in events)

    def _delivery_limit(self, pending: int) -> int:
        with self._lock:
            return pending if self._drop_budget is None else min(pending, self._drop_budget)

    def _after_delivery(self, stream: _Stream, count: int) -> None:
        with self._lock:
            if self._drop_budget is None:
                return
            self._drop_budget -= count
            if self._drop_budget > 0:
                return
            self._drop_budget = None
        stream.fail(grpc.StatusCode.UNAVAILABLE, "Service unavailable", UNAVAILABLE_ERROR_CODE)
