"""The Salesforce REST emulator process: HTTPS on loopback in front of ``RestApi`` and ``DriverApi``.

``SalesforceRestEmulator`` is the Python handle tests and ``EmulatorSuite`` (``suite.py``) use::

    emulator = SalesforceRestEmulator(port=0, cert_dir=tmp_path)
    emulator.start()                     # returns once listening; port 0 picks a free port
    emulator.base_url                    # "https://127.0.0.1:<port>": LOGIN_URL and instance URL
    emulator.store.create_record("Account", Name="Tanaka")   # act as an agent, not an API call
    emulator.fail_next(status=503, error_code="SERVER_UNAVAILABLE", path_prefix="query")
    emulator.stop()

TLS uses a generated local CA (see ``tls``), so clients verify the certificate through
``CA_BUNDLE`` instead of disabling verification.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .driver import PREFIX as DRIVER_PREFIX
from .driver import DriverApi
from .faults import FailureRule, FaultInjector, LatencyRule, LoseAnswerRule
from .rest import Response, RestApi
from .store import DEFAULT_API_DAILY_MAX, DEFAULT_TOKEN_LIFETIME, SalesforceStore
from .tls import ensure_jwt_keypair, ensure_tls_files

logger = logging.getLogger(__name__)

DEFAULT_CONSUMER_KEY = "portal-emulator-consumer-key"
DEFAULT_USERNAME = "integration@portal.emulator"
MAX_BODY_BYTES = 50 * 1024 * 1024


class _TlsHttpServer(ThreadingHTTPServer):
    """Accepts plain TCP and does the TLS handshake in the request's own thread.

    Wrapping the listening socket would run handshakes in the accept loop, where one stalled
    client would block every other connection.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext,
        emulator: SalesforceRestEmulator,
    ) -> None:
        self.ssl_context = ssl_context
        self.emulator = emulator
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Headers and body go out as separate TLS records; without NODELAY, Nagle plus the
        # client's delayed ACK adds ~40 ms to every response.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls_socket = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            logger.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            super().finish_request(tls_socket, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls_socket.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("Salesforce emulator connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SalesforceEmulator/1.0"
    timeout = 60
    server: _TlsHttpServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(
                Response(413, [{"errorCode": "REQUEST_TOO_LARGE", "message": "request body too large"}])
            )
            return
        body = self.rfile.read(length) if length else b""
        emulator = self.server.emulator
        try:
            if self.path.startswith(DRIVER_PREFIX + "/") or self.path == DRIVER_PREFIX:
                response = emulator.driver.handle(self.command, self.path, body)
            else:
                response = emulator.api.handle(self.command, self.path, self.headers.items(), body)
        except Exception:
            logger.exception("Salesforce emulator failed on %s %s", self.command, self.path.split("?")[0])
            response = Response(
                500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred."}]
            )
        self._send(response)

    def _send(self, response: Response) -> None:
        if response.drop_connection:
            self.close_connection = True
            return
        payload = response.encoded_body()
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        # Never log query strings or headers: they may carry SOQL with customer data.
        logger.debug("%s %s -> %s", self.command, self.path.split("?")[0], args[1] if len(args) > 1 else "")


class SalesforceRestEmulator:
    """A running emulated org: HTTPS server, store, fault injector and driver API."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        cert_dir: str | Path,
        consumer_key: str = DEFAULT_CONSUMER_KEY,
        username: str = DEFAULT_USERNAME,
        jwt_public_key_path: str | Path | None = None,
        state_file: str | Path | None = None,
        token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
        api_daily_max: int = DEFAULT_API_DAILY_MAX,
        extra_audiences: tuple[str, ...] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.cert_dir = Path(cert_dir)
        self.tls_files = ensure_tls_files(self.cert_dir)
        self.jwt_files = ensure_jwt_keypair(self.cert_dir)
        public_key_path = Path(jwt_public_key_path) if jwt_public_key_path else self.jwt_files.public_key
        self.store = SalesforceStore(
            state_file=state_file, token_lifetime=token_lifetime, api_daily_max=api_daily_max
        )
        self.faults = FaultInjector()
        self.api = RestApi(
            self.store,
            self.faults,
            consumer_key=consumer_key,
            username=username,
            public_key_pem=public_key_path.read_bytes(),
            base_url=lambda: self.base_url,
            extra_audiences=extra_audiences,
        )
        self.driver = DriverApi(self.store, self.faults, reset=self.reset, clear_faults=self.clear_faults)
        self._server: _TlsHttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The login URL and instance URL, e.g. ``https://127.0.0.1:8701``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def ca_bundle(self) -> Path:
        return self.tls_files.ca_cert

    @property
    def org_id(self) -> str:
        return self.store.org_id

    def validate_token(self, token: str) -> bool:
        return self.store.validate_token(token)

    def start(self) -> SalesforceRestEmulator:
        """Bind and serve in a background thread; returns once the socket is listening."""
        if self._server is not None:
            return self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls_files.server_cert, self.tls_files.server_key)
        server_class: type[_TlsHttpServer] = _TlsHttpServer
        if ":" in self.host:
            server_class = type("_TlsHttpServer6", (_TlsHttpServer,), {"address_family": socket.AF_INET6})
        self._server = server_class((self.host, self.port), _Handler, context, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="salesforce-rest-emulator",
            daemon=True,
        )
        self._thread.start()
        logger.info("Salesforce REST emulator listening on %s (org %s)", self.base_url, self.store.org_id)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SalesforceRestEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- driving --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty org, zero counters, no faults; issued sessions stay valid."""
        self.faults.clear()
        self.store.reset()

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str | None = None,
        method: str | None = None,
        path_prefix: str = "",
    ) -> FailureRule:
        """Fail the next ``count`` requests matching ``method`` / ``path_prefix`` (see ``faults``)."""
        return self.faults.fail_next(
            count,
            status=status,
            error_code=error_code,
            message=message,
            method=method,
            path_prefix=path_prefix,
        )

    def add_latency(
        self, seconds: float, *, method: str | None = None, path_prefix: str = "", count: int | None = None
    ) -> LatencyRule:
        return self.faults.add_latency(seconds, method=method, path_prefix=path_prefix, count=count)

    def lose_answer_next(
        self, count: int = 1, *, method: str | None = None, path_prefix: str = ""
    ) -> LoseAnswerRule:
        """Carry out the next ``count`` matching requests, then drop the connection unanswered."""
        return self.faults.lose_answer_next(count, method=method, path_prefix=path_prefix)

    def exhaust_api_limit(self) -> None:
        self.store.exhaust_api_limit()

    def expire_sessions(self) -> None:
        self.store.expire_sessions()

    def clear_faults(self) -> None:
        """Remove injected failures and latency and lift an exhausted API limit."""
        self.faults.clear()
        self.store.restore_api_limit()

    def counters(self) -> dict[str, int]:
        return self.store.counters()
