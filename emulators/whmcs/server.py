"""The HTTP face of the WHMCS emulator: ``POST /includes/api.php`` plus a JSON control API.

Real HTTP (stdlib ``ThreadingHTTPServer``) rather than a patched client, so the portal's client,
timeouts and retries are exercised exactly as against a real WHMCS.

Control endpoints (JSON in, JSON out), for drivers and tests in other processes:

* ``GET /__emulator__/state``: every record; ``GET /__emulator__/calls``: calls per action;
  ``GET /__emulator__/faults``: faults still armed;
* ``POST /__emulator__/<op>`` with the keyword arguments of the same-named Python method:
  ``reset``, ``inject_fault``, ``clear_faults``, ``reset_calls``, ``add_pay_method``,
  ``mark_invoice_paid``, ``set_invoice_status``, ``set_service_status``, ``delete_service``,
  ``delete_pay_method``, ``set_product_price``.

The client area, as far as a customer reaches it from the portal (HTML, for browsers and tests):

* ``GET /oauth/singlesignon.php?access_token=…`` redeems a ``CreateSsoToken`` token (single use,
  60 s), signs the browser in (a ``WHMCSsession`` cookie) and redirects to the token's path;
* ``GET /index.php?rp=/account/paymentmethods/add`` shows the add-card form, and ``POST`` to it
  (``ccnumber``, ``ccexpirydate`` as ``MM/YY``, optional ``cardtype``) stores the card, which
  ``GetPayMethods`` then returns; ``GET /index.php?rp=/account/paymentmethods`` lists the cards.
  Without a session these answer 302 to ``login.php``.
"""

from __future__ import annotations

import dataclasses
import hmac
import html
import json
import logging
import os
import re
import secrets
import signal
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from .state import DEFAULT_TIMEZONE, ApiFailure, EmulatorState
from .wire import parse_php_form

logger = logging.getLogger(__name__)

API_PATH = "/includes/api.php"
#: Default credentials of a bare emulator (the portal's development settings use the same ones).
DEFAULT_IDENTIFIER = "portal-emulator-identifier"
DEFAULT_SECRET = "portal-emulator-secret"
CONTROL_PREFIX = "/__emulator__/"
SSO_PATH = "/oauth/singlesignon.php"
CLIENT_AREA_PATH = "/index.php"
SESSION_COOKIE = "WHMCSsession"
ROUTE_PAY_METHODS = "/account/paymentmethods"
ROUTE_ADD_PAY_METHOD = "/account/paymentmethods/add"
_EXPIRY = re.compile(r"^\s*(0[1-9]|1[0-2])\s*/\s*(\d{2})\s*$")
FaultKind = Literal["error", "http_status", "latency", "drop_connection", "lose_answer"]
FAULT_KINDS: frozenset[str] = frozenset({"error", "http_status", "latency", "drop_connection", "lose_answer"})


@dataclass
class Fault:
    """A planned failure for the next ``times`` calls of ``action`` (``None`` = any action).

    ``error`` answers ``result: error`` with ``message``; ``http_status`` answers ``status`` with
    an error body; ``latency`` delays the answer by ``seconds`` and then serves normally;
    ``drop_connection`` closes the socket without answering; ``lose_answer`` carries the call
    out, then closes the socket without answering (the caller cannot tell whether it happened). ``times=None`` keeps the fault armed
    until :meth:`WhmcsEmulator.clear_faults`.
    """

    kind: FaultKind
    action: str | None = None
    message: str = "Emulated failure"
    status: int = 500
    seconds: float = 0.0
    times: int | None = 1

    def matches(self, action: str) -> bool:
        return self.action is None or self.action.lower() in ("*", action.lower())


class WhmcsEmulator:
    """An emulated WHMCS on a real socket.

    ``port=0`` picks a free port; :attr:`url` is the ``api.php`` address to give the client.
    Usable as a context manager.
    """

    def __init__(
        self,
        identifier: str = DEFAULT_IDENTIFIER,
        secret: str = DEFAULT_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_file: str | os.PathLike[str] | None = None,
        products: Sequence[Mapping[str, Any]] | None = None,
        timezone: tzinfo = DEFAULT_TIMEZONE,
    ) -> None:
        self.identifier = identifier
        self.secret = secret
        self.host = host
        self.port = port
        self.state = EmulatorState(products=products, timezone=timezone, state_file=state_file)
        self._faults: list[Fault] = []
        self._sessions: dict[str, int] = {}
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> WhmcsEmulator:
        """Bind and serve in a daemon thread; returns once the socket is listening."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self.state.public_url = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="whmcs-emulator",
            daemon=True,
        )
        self._thread.start()
        logger.info("WHMCS emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> WhmcsEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}{API_PATH}"

    def reset(self) -> None:
        """Empty the records (catalog kept) and forget faults, call counts and sessions."""
        self.state.reset()
        with self._lock:
            self._sessions.clear()
        self.clear_faults()
        self.reset_calls()

    # --- faults and call counts -----------------------------------------------------------------

    def inject_fault(
        self,
        action: str | None = None,
        kind: FaultKind = "error",
        message: str = "Emulated failure",
        status: int = 500,
        seconds: float = 0.0,
        times: int | None = 1,
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}")
        fault = Fault(kind=kind, action=action, message=message, status=status, seconds=seconds, times=times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return [dataclasses.replace(fault) for fault in self._faults]

    def take_fault(self, action: str) -> Fault | None:
        """The first armed fault for ``action``, consuming one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(action):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return dataclasses.replace(fault)
        return None

    def record_call(self, action: str) -> None:
        with self._lock:
            self._calls[action.lower()] += 1

    @property
    def calls(self) -> dict[str, int]:
        """Calls received per action (lower-cased), including failed and faulted ones."""
        with self._lock:
            return dict(self._calls)

    def call_count(self, action: str) -> int:
        with self._lock:
            return self._calls[action.lower()]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def wait(self, seconds: float) -> None:
        """Sleep for a latency fault, but wake at once when the emulator stops."""
        self._stopping.wait(seconds)

    # --- admin helpers (delegated to the state) -------------------------------------------------

    def add_pay_method(self, client_id: int, **fields: Any) -> int:
        return self.state.add_pay_method(client_id, **fields)

    def mark_invoice_paid(self, invoice_id: int, **fields: Any) -> None:
        self.state.mark_invoice_paid(invoice_id, **fields)

    def set_invoice_status(self, invoice_id: int, status: str) -> None:
        self.state.set_invoice_status(invoice_id, status)

    def set_service_status(self, service_id: int, status: str) -> None:
        self.state.set_service_status(service_id, status)

    def delete_service(self, service_id: int) -> None:
        self.state.delete_service(service_id)

    def delete_pay_method(self, pay_method_id: int) -> None:
        self.state.delete_pay_method(pay_method_id)

    def set_product_price(
        self, pid: int, cycle: str = "monthly", price: str = "0.00", setup_fee: str | None = None
    ) -> None:
        self.state.set_product_price(pid, cycle, price, setup_fee)

    # --- client-area sessions -------------------------------------------------------------------

    def open_session(self, client_id: int) -> str:
        session_id = secrets.token_hex(16)
        with self._lock:
            self._sessions[session_id] = client_id
        return session_id

    def session_client(self, session_id: str | None) -> int | None:
        with self._lock:
            return self._sessions.get(session_id or "")

    # --- request handling -----------------------------------------------------------------------

    def authenticate(self, params: Mapping[str, Any]) -> str | None:
        """The auth error message for these credentials, or ``None`` when they are valid.

        ``username``/``password`` are accepted as aliases, as WHMCS does for API credentials.
        """
        identifier = str(params.get("identifier") or params.get("username") or "")
        secret = str(params.get("secret") or params.get("password") or "")
        if not identifier or not hmac.compare_digest(identifier.encode(), self.identifier.encode()):
            return "Invalid or missing credentials"
        if not hmac.compare_digest(secret.encode(), self.secret.encode()):
            return "Authentication Failed"
        return None


CONTROL_OPS = (
    "reset",
    "inject_fault",
    "clear_faults",
    "reset_calls",
    "add_pay_method",
    "mark_invoice_paid",
    "set_invoice_status",
    "set_service_status",
    "delete_service",
    "delete_pay_method",
    "set_product_price",
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: WhmcsEmulator
    ) -> None:
        self.emulator = emulator
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout tests) leaves a broken pipe; that is not an error here."""
        logger.debug("whmcs-emulator connection from %s ended abruptly", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms each.
    disable_nagle_algorithm = True
    server_version = "Apache"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("whmcs-emulator %s %s", self.address_string(), format % args)

    # --- routing --------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        if path == API_PATH:
            self._api(body)
        elif path == CLIENT_AREA_PATH:
            self._client_area(body)
        elif path.startswith(CONTROL_PREFIX):
            self._control(path.removeprefix(CONTROL_PREFIX).strip("/"), body)
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        emulator = self.server.emulator
        views = {
            "state": emulator.state.snapshot,
            "calls": lambda: emulator.calls,
            "faults": lambda: [dataclasses.asdict(fault) for fault in emulator.faults],
        }
        name = path.removeprefix(CONTROL_PREFIX).strip("/")
        if path.startswith(CONTROL_PREFIX) and name in views:
            self._send_json(HTTPStatus.OK, views[name]())
        elif path == SSO_PATH:
            self._single_sign_on()
        elif path == CLIENT_AREA_PATH:
            self._client_area(None)
        elif path == API_PATH:
            self._send_json(HTTPStatus.METHOD_NOT_ALLOWED, {"result": "error", "message": "POST required"})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    # --- the API --------------------------------------------------------------------------------

    def _api(self, body: bytes) -> None:
        emulator = self.server.emulator
        params = parse_php_form(body.decode("utf-8", errors="replace"))
        action = str(params.get("action", ""))
        emulator.record_call(action)

        fault = emulator.take_fault(action)
        if fault is not None:
            if fault.kind == "latency":
                emulator.wait(fault.seconds)
            elif fault.kind == "drop_connection":
                self.close_connection = True
                return
            elif fault.kind == "lose_answer":
                pass  # answered by closing the socket after the call is carried out
            elif fault.kind == "http_status":
                self._send_json(fault.status, {"result": "error", "message": fault.message})
                return
            else:
                self._send_json(HTTPStatus.OK, {"result": "error", "message": fault.message})
                return

        auth_error = emulator.authenticate(params)
        if auth_error is not None:
            self._send_json(HTTPStatus.FORBIDDEN, {"result": "error", "message": auth_error})
            return
        try:
            result = emulator.state.dispatch(action, params)
        except ApiFailure as failure:
            status, answer = failure.status, {"result": "error", "message": failure.message}
        except Exception:
            logger.exception("WHMCS emulator failed on %s", action)
            status, answer = (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"result": "error", "message": "Emulator error"},
            )
        else:
            status, answer = HTTPStatus.OK, result
        if fault is not None and fault.kind == "lose_answer":
            self.close_connection = True
            return
        self._send_json(status, answer)

    # --- the client area ------------------------------------------------------------------------

    def _single_sign_on(self) -> None:
        emulator = self.server.emulator
        query = parse_qs(urlsplit(self.path).query)
        token = (query.get("access_token") or [""])[0]
        try:
            client_id, path = emulator.state.redeem_sso_token(token)
        except ApiFailure as failure:
            self._send_html(
                HTTPStatus.FORBIDDEN, "Single sign-on failed", f"<p>{html.escape(failure.message)}</p>"
            )
            return
        session_id = emulator.open_session(client_id)
        self._redirect(f"/{path}", cookie=f"{SESSION_COOKIE}={session_id}; Path=/; HttpOnly")

    def _client_area(self, body: bytes | None) -> None:
        emulator = self.server.emulator
        route = (parse_qs(urlsplit(self.path).query).get("rp") or [""])[0]
        client_id = emulator.session_client(self._cookie(SESSION_COOKIE))
        if client_id is None:
            self._redirect("/login.php")
            return
        if route == ROUTE_ADD_PAY_METHOD and body is not None:
            self._add_pay_method(client_id, body)
        elif route == ROUTE_ADD_PAY_METHOD:
            self._send_html(
                HTTPStatus.OK,
                "Add Payment Method",
                f'<form method="post" action="{CLIENT_AREA_PATH}?rp={ROUTE_ADD_PAY_METHOD}">'
                '<input name="ccnumber" autocomplete="cc-number"> <input name="ccexpirydate" placeholder="MM/YY">'
                ' <input name="cardtype" value="Visa"> <button type="submit">Save</button></form>',
            )
        elif route == ROUTE_PAY_METHODS and body is None:
            rows = "".join(
                f"<li>{html.escape(row['card_type'])} ending {html.escape(row['card_last_four'])}"
                f" ({html.escape(row['expiry_date'])})</li>"
                for row in emulator.state.paymethods
                if row["userid"] == client_id
            )
            self._send_html(HTTPStatus.OK, "Payment Methods", f"<ul>{rows}</ul>")
        else:
            self._send_html(HTTPStatus.NOT_FOUND, "Not Found", "<p>Page not found.</p>")

    def _add_pay_method(self, client_id: int, body: bytes) -> None:
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", errors="replace")).items()}
        digits = re.sub(r"[\s-]", "", form.get("ccnumber", ""))
        expiry = _EXPIRY.match(form.get("ccexpirydate", ""))
        if not digits.isdigit() or not 12 <= len(digits) <= 19 or expiry is None:
            self._send_html(
                HTTPStatus.OK,
                "Add Payment Method",
                '<p class="alert-danger">Please check your card details.</p>',
            )
            return
        self.server.emulator.add_pay_method(
            client_id,
            card_last_four=digits[-4:],
            expiry=f"{expiry.group(1)}/{expiry.group(2)}",
            card_type=form.get("cardtype") or "Visa",
        )
        self._redirect(f"{CLIENT_AREA_PATH}?rp={ROUTE_PAY_METHODS}")

    def _cookie(self, name: str) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None

    def _redirect(self, location: str, *, cookie: str | None = None) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", location)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_html(self, status: int, title: str, body: str) -> None:
        page = f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
        data = f"{page}<h1>{html.escape(title)}</h1>{body}</body></html>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # --- the control API ------------------------------------------------------------------------

    def _control(self, op: str, body: bytes) -> None:
        if op not in CONTROL_OPS:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"unknown operation {op!r}", "ops": CONTROL_OPS})
            return
        try:
            arguments = json.loads(body or b"{}")
            if not isinstance(arguments, dict):
                raise ValueError("the body must be a JSON object")
            result = getattr(self.server.emulator, op)(**arguments)
        except ApiFailure as failure:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": failure.message})
            return
        except (TypeError, ValueError) as error:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        if isinstance(result, Fault):
            result = dataclasses.asdict(result)
        self._send_json(HTTPStatus.OK, {"ok": True, "result": result})

    # --- plumbing -------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(
    host: str,
    port: int,
    state_file: str | os.PathLike[str] | None,
    identifier: str,
    secret: str,
    *,
    products: Sequence[Mapping[str, Any]] | None = None,
    timezone: tzinfo = DEFAULT_TIMEZONE,
    stop_event: threading.Event | None = None,
) -> None:
    """Run an emulator until interrupted (Ctrl-C or SIGTERM); state survives in ``state_file``.

    Run from a thread (e.g. beside other emulators), pass ``stop_event``: signals only reach the
    main thread.
    """
    emulator = WhmcsEmulator(
        identifier, secret, host, port, state_file=state_file, products=products, timezone=timezone
    )
    finished = stop_event or threading.Event()

    def _stop(signum: int, frame: object) -> None:
        finished.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
    emulator.start()
    try:
        while not finished.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        logger.info("WHMCS emulator on %s stopped", emulator.url)
