"""A resilient Pub/Sub API subscriber for one topic.

It owns the protocol, not the durability: the caller says where to start
(``get_start_replay_id``), receives each fetched batch of decoded events (``on_events``) and each
keepalive replay ID
(``on_keepalive``) and commits them however it likes (``salesforce.events`` commits them with the
handler's database work). Because the start position is asked for on every (re)connect, a
reconnect resumes exactly after the last *committed* event: nothing is lost, and an event whose
handling did not commit is delivered again.

Protocol notes (https://developer.salesforce.com/docs/platform/pub-sub-api/ ``guide/flow-control``,
``references/methods/subscribe-rpc``, ``guide/handling-errors``):

- the replay position is honoured only in the first ``FetchRequest`` of a stream;
- flow control is pull-based: ask for ``batch_size`` events, and again whenever
  ``pending_num_requested`` reaches 0 (at most 100 are outstanding); here the responses are read
  ahead (up to ``prefetch`` waiting, after which nothing more is asked for), and those already
  waiting are handed over together;
- while events are owed the server sends an empty keepalive response with ``latest_replay_id``
  at least every 270 s; a stream silent for longer than ``keepalive_timeout`` is presumed dead;
- payloads are schemaless Avro; schemas are fetched with ``GetSchema`` and cached by ID.

Tokens are never logged: :class:`AuthMetadata` hides its token from ``repr``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import grpc

from apps.integrations.retry import Backoff
from salesforce_pubsub import avro, pubsub_api_pb2, pubsub_api_pb2_grpc

logger = logging.getLogger(__name__)

AUTH_ERROR_CODE = "sfdc.platform.eventbus.grpc.service.auth.error"
REPLAY_ID_CORRUPTED_ERROR_CODE = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
MAX_BATCH_SIZE = 100
DEFAULT_PREFETCH = 5
"""Responses read ahead while a batch is handled; those waiting are handled together, so a busy
topic commits up to this many fetches (500 events) at once, and the client holds no more."""
# Errors that retrying cannot fix: a wrong topic, missing permissions, a broken request.
TERMINAL_STATUS_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)
CHANNEL_OPTIONS = (
    # A full batch of 100 events of up to 1 MB each must fit in one response.
    ("grpc.max_receive_message_length", 128 * 1024 * 1024),
)


@dataclass(frozen=True)
class AuthMetadata:
    """The three headers every Pub/Sub call carries."""

    access_token: str = field(repr=False)
    instance_url: str
    tenant_id: str

    def grpc_metadata(self) -> tuple[tuple[str, str], ...]:
        # gRPC requires lowercase keys; the service reads these names.
        return (
            ("accesstoken", self.access_token),
            ("instanceurl", self.instance_url),
            ("tenantid", self.tenant_id),
        )


class AuthProvider(Protocol):
    """Returns current credentials; ``force_refresh`` asks for a new token (after UNAUTHENTICATED)."""

    def __call__(self, *, force_refresh: bool = False) -> AuthMetadata: ...


@dataclass(frozen=True)
class DecodedEvent:
    """One received event with its Avro payload decoded."""

    topic: str
    replay_id: bytes
    event_id: str
    schema_id: str
    payload: dict[str, Any]
    schema_json: str = ""
    """The writer schema of ``payload`` (change events' field bitmaps refer to its fields)."""


class StopSubscription(Exception):
    """Raised by a callback to end :meth:`PubSubSubscriber.run` at once (e.g. the lease was lost)."""


class SubscriptionError(Exception):
    """A failure that reconnecting cannot fix (unknown topic, missing permission, bad request)."""


RECONNECT_BACKOFF = Backoff(initial=0.5, maximum=30.0)
"""Between reconnects: 0.5 s doubling to 30 s, with jitter so subscribers do not reconnect in step."""


def create_channel(
    endpoint: str, *, ca_bundle: str | Path | None = None, plaintext: bool = False
) -> grpc.Channel:
    """A channel to the Pub/Sub endpoint: TLS verified with ``ca_bundle`` when that file exists
    (the emulator's CA), else with the system roots (real Salesforce); plaintext only when asked."""
    if plaintext:
        return grpc.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
    root_certificates = None
    if ca_bundle and Path(ca_bundle).is_file():
        root_certificates = Path(ca_bundle).read_bytes()
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
    return grpc.secure_channel(endpoint, credentials, options=CHANNEL_OPTIONS)


class PubSubSubscriber:
    """Subscribes to one topic and keeps the subscription alive until told to stop."""

    def __init__(
        self,
        endpoint: str,
        topic: str,
        auth: AuthProvider,
        *,
        batch_size: int = MAX_BATCH_SIZE,
        channel_factory: Callable[[str], grpc.Channel] | None = None,
        ca_bundle: str | Path | None = None,
        plaintext: bool = False,
        keepalive_timeout: float = 330.0,
        rpc_timeout: float = 30.0,
        backoff: Backoff | None = None,
        on_corrupted_replay_id: Literal["earliest", "latest", "raise"] = "earliest",
        prefetch: int = DEFAULT_PREFETCH,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
        self.endpoint = endpoint
        self.topic = topic
        self.batch_size = batch_size
        self.keepalive_timeout = keepalive_timeout
        self.rpc_timeout = rpc_timeout
        self.backoff = backoff or RECONNECT_BACKOFF
        self.on_corrupted_replay_id = on_corrupted_replay_id
        self.prefetch = max(prefetch, 1)
        self._auth = auth
        self._channel_factory = channel_factory or (
            lambda target: create_channel(target, ca_bundle=ca_bundle, plaintext=plaintext)
        )
        self._channel: grpc.Channel | None = None
        self._schemas: dict[str, str] = {}
        self._pb2: Any = pubsub_api_pb2

    # --- Public API ---------------------------------------------------------------------------

    def run(
        self,
        *,
        on_events: Callable[[list[DecodedEvent]], None],
        get_start_replay_id: Callable[[], bytes | None],
        stop_event: threading.Event,
        on_keepalive: Callable[[bytes], None] | None = None,
        on_replay_lost: Callable[[], None] | None = None,
    ) -> None:
        """Receive events until ``stop_event`` is set, reconnecting after any transient failure.

        ``on_replay_lost`` is called when the stored replay ID is refused (older than the event
        retention, say) and the subscription restarts from ``on_corrupted_replay_id``: events in
        between may be lost, and the caller can reconcile.

        ``on_events`` is called with the events of each response, or of the responses already
        waiting together (up to ``batch_size`` x ``prefetch``), in order; if it raises, the stream is dropped and, after a backoff, resumed from
        ``get_start_replay_id()`` so the events not committed come again.
        :class:`StopSubscription` from a callback ends the loop and propagates;
        :class:`SubscriptionError` is raised for failures that reconnecting cannot fix.
        """
        attempt = 0
        force_refresh = False
        override_preset: str | None = None
        while not stop_event.is_set():
            progress = _Progress()
            try:
                self._subscribe_once(
                    on_events=on_events,
                    on_keepalive=on_keepalive,
                    get_start_replay_id=get_start_replay_id,
                    stop_event=stop_event,
                    force_refresh=force_refresh,
                    override_preset=override_preset,
                    progress=progress,
                )
                reason = "the server closed the stream"
            except (StopSubscription, SubscriptionError):
                raise
            except _StreamTimeout:
                reason = f"no response within {self.keepalive_timeout:.0f} s"
            except grpc.RpcError as exc:
                if stop_event.is_set():
                    break
                code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
                error_code = _error_code(exc)
                if code == grpc.StatusCode.UNAUTHENTICATED:
                    force_refresh = True
                    reason = "authentication failed; refreshing the session"
                elif (
                    code == grpc.StatusCode.INVALID_ARGUMENT and error_code == REPLAY_ID_CORRUPTED_ERROR_CODE
                ):
                    if self.on_corrupted_replay_id == "raise":
                        raise SubscriptionError(f"{self.topic}: the stored replay ID is not valid") from exc
                    override_preset = self.on_corrupted_replay_id.upper()
                    logger.error(
                        "%s: the stored replay ID was rejected; resubscribing from %s",
                        self.topic,
                        override_preset,
                    )
                    if on_replay_lost is not None:
                        try:
                            on_replay_lost()
                        except Exception:
                            logger.exception(
                                "%s: could not start the reconciliation of lost events", self.topic
                            )
                    continue
                elif code in TERMINAL_STATUS_CODES:
                    raise SubscriptionError(f"{self.topic}: {code.name} {_details(exc)}") from exc
                else:
                    reason = f"{code.name} {_details(exc)}".strip()
            except Exception:
                if stop_event.is_set():
                    break
                logger.exception("%s: processing failed; the event will be redelivered", self.topic)
                reason = "event processing failed"
            if progress.started:
                force_refresh = False
                override_preset = None
            if progress.committed:
                attempt = 0
            if stop_event.is_set():
                break
            delay = self.backoff.delay(attempt)
            attempt += 1
            logger.warning("%s: %s; reconnecting in %.2f s", self.topic, reason, delay)
            stop_event.wait(delay)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    # --- One stream ---------------------------------------------------------------------------

    def _subscribe_once(
        self,
        *,
        on_events: Callable[[list[DecodedEvent]], None],
        on_keepalive: Callable[[bytes], None] | None,
        get_start_replay_id: Callable[[], bytes | None],
        stop_event: threading.Event,
        force_refresh: bool,
        override_preset: str | None,
        progress: _Progress,
    ) -> None:
        pb2 = self._pb2
        metadata = self._auth(force_refresh=force_refresh).grpc_metadata()
        stub = pubsub_api_pb2_grpc.PubSubStub(self._get_channel())
        topic_info = stub.GetTopic(
            pb2.TopicRequest(topic_name=self.topic), metadata=metadata, timeout=self.rpc_timeout
        )
        if not topic_info.can_subscribe:
            raise SubscriptionError(f"{self.topic}: the integration user cannot subscribe")
        self._schema_json(stub, metadata, topic_info.schema_id)

        replay_id = get_start_replay_id()
        if override_preset is not None:
            first = pb2.FetchRequest(
                topic_name=self.topic,
                replay_preset=pb2.ReplayPreset.Value(override_preset),
                num_requested=self.batch_size,
            )
        elif replay_id:
            first = pb2.FetchRequest(
                topic_name=self.topic,
                replay_preset=pb2.ReplayPreset.Value("CUSTOM"),
                replay_id=replay_id,
                num_requested=self.batch_size,
            )
        else:
            first = pb2.FetchRequest(
                topic_name=self.topic,
                replay_preset=pb2.ReplayPreset.Value("LATEST"),
                num_requested=self.batch_size,
            )
        logger.info(
            "%s: subscribing from %s",
            self.topic,
            override_preset or (f"after {replay_id.hex()}" if replay_id else "LATEST"),
        )

        requests = _RequestQueue(first)
        call = stub.Subscribe(requests, metadata=metadata)
        watchdog = _Watchdog(call, stop_event, self.keepalive_timeout, name=f"pubsub-watchdog {self.topic}")
        watchdog.start()
        # Responses are read ahead by a thread, which asks for the next batch as soon as one has
        # arrived: while a batch is handled, the next ones come (at most ``prefetch`` waiting).
        reader = _ReadAhead(
            _responses(call, watchdog),
            watchdog,
            lambda: requests.put(pb2.FetchRequest(num_requested=self.batch_size)),
            self.prefetch,
            name=f"pubsub-reader {self.topic}",
        )
        try:
            for responses in reader.batches():
                progress.started = True
                events = [event for response in responses for event in response.events]
                if events:
                    # The responses already here are handled together: one commit for them all.
                    on_events([self._decode(stub, metadata, consumer_event) for consumer_event in events])
                    progress.committed = True
                    if stop_event.is_set():
                        return
                elif responses[-1].latest_replay_id and on_keepalive is not None:
                    on_keepalive(bytes(responses[-1].latest_replay_id))
                    progress.committed = True
        finally:
            reader.close()
            watchdog.stop()
            requests.close()
            call.cancel()

    def _decode(self, stub: Any, metadata: tuple[tuple[str, str], ...], consumer_event: Any) -> DecodedEvent:
        event = consumer_event.event
        schema_json = self._schema_json(stub, metadata, event.schema_id)
        return DecodedEvent(
            topic=self.topic,
            replay_id=bytes(consumer_event.replay_id),
            event_id=event.id,
            schema_id=event.schema_id,
            payload=avro.decode(schema_json, event.payload),
            schema_json=schema_json,
        )

    def _schema_json(self, stub: Any, metadata: tuple[tuple[str, str], ...], schema_id: str) -> str:
        """The schema for an ID, fetched once: schemas never change under an ID."""
        if schema_id not in self._schemas:
            info = stub.GetSchema(
                self._pb2.SchemaRequest(schema_id=schema_id), metadata=metadata, timeout=self.rpc_timeout
            )
            self._schemas[schema_id] = info.schema_json
        return self._schemas[schema_id]

    def _get_channel(self) -> grpc.Channel:
        if self._channel is None:
            self._channel = self._channel_factory(self.endpoint)
        return self._channel


@dataclass
class _Progress:
    started: bool = False  # The stream answered: auth and replay position were accepted.
    committed: bool = False  # An event or keepalive was handled: the connection is healthy.


class _StreamTimeout(Exception):
    """The stream was silent for longer than the keepalive timeout and was cancelled."""


def _responses(call: Any, watchdog: _Watchdog) -> Iterator[Any]:
    """The stream's responses; a cancellation by the keepalive watchdog becomes :class:`_StreamTimeout`."""
    try:
        yield from call
    except grpc.RpcError:
        if watchdog.timed_out:
            raise _StreamTimeout from None
        raise


class _ReadAhead:
    """Reads a stream's responses on a thread into a queue of at most ``size``, and calls
    ``request_more`` after queueing a response that leaves nothing requested (flow control: with
    the queue full, the thread holds one more response and asks for nothing). :meth:`batches` yields, in order, the
    event responses already waiting (a keepalive alone), and re-raises the stream's error."""

    _END = object()

    def __init__(
        self,
        responses: Iterator[Any],
        watchdog: _Watchdog,
        request_more: Callable[[], None],
        size: int,
        *,
        name: str,
    ) -> None:
        self._responses = responses
        self._watchdog = watchdog
        self._request_more = request_more
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        item: Any = self._END
        try:
            for response in self._responses:
                self._watchdog.touch()
                if not self._put(response):
                    return
                if response.pending_num_requested == 0:
                    self._request_more()
        except BaseException as exc:  # Handed to the consuming thread, which raises it.
            item = exc
        self._put(item)

    def _put(self, item: Any) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def batches(self) -> Iterator[list[Any]]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            if not item.events:
                yield [item]
                continue
            batch = [item]
            while True:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is self._END or isinstance(following, BaseException) or not following.events:
                    yield batch
                    batch = []
                    if following is self._END:
                        return
                    if isinstance(following, BaseException):
                        raise following
                    yield [following]
                    break
                batch.append(following)
            if batch:
                yield batch

    def close(self) -> None:
        self._closed.set()


class _RequestQueue:
    """The client side of the Subscribe request stream: FetchRequests are sent as they are put."""

    _END = object()

    def __init__(self, first: Any) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._queue.put(first)

    def put(self, request: Any) -> None:
        self._queue.put(request)

    def close(self) -> None:
        """End the iterator, so gRPC's request-sending thread does not block forever."""
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        return item


class _Watchdog(threading.Thread):
    """Cancels the stream when ``stop_event`` is set or nothing arrives for ``timeout`` seconds."""

    def __init__(self, call: Any, stop_event: threading.Event, timeout: float, *, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._call = call
        self._stop_event = stop_event
        self._timeout = timeout
        self._done = threading.Event()
        self._last = time.monotonic()
        self.timed_out = False

    def touch(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._done.set()

    def run(self) -> None:
        while not self._done.wait(0.05):
            if self._stop_event.is_set():
                self._call.cancel()
                return
            if time.monotonic() - self._last > self._timeout:
                self.timed_out = True
                self._call.cancel()
                return


def _error_code(exc: grpc.RpcError) -> str:
    if not isinstance(exc, grpc.Call):
        return ""
    for key, value in exc.trailing_metadata() or ():
        if key == "error-code":
            return str(value)
    return ""


def _details(exc: grpc.RpcError) -> str:
    return (exc.details() or "") if isinstance(exc, grpc.Call) else str(exc)
