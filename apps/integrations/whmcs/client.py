"""A thin, typed client for the WHMCS External API (``/includes/api.php``).

Why our own: every published Python wrapper is unmaintained, misses actions we need, or is
unsafe (no timeouts, TLS verification off). See ``facts/whmcs.md``; the vendor reference is
https://developers.whmcs.com/api-reference/.

Wire rules this module owns:

* every call is a form-encoded POST carrying the credentials, ``responsetype=json`` and
  ``action``; arrays use PHP bracket keys and ``configoptions``/``customfields`` are
  base64(PHP serialize);
* the JSON body is parsed whatever the HTTP status, then mapped onto the typed errors of
  :mod:`.exceptions`;
* only reads (``Get*``) are retried, with exponential backoff, on transport errors: a repeated
  ``AddClient`` or ``AddOrder`` would create a second client or order;
* credentials and passwords never reach logs or exception messages.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

import requests
from django.conf import settings

from apps.integrations.retry import Backoff

from .exceptions import (
    WhmcsApiError,
    WhmcsAuthError,
    WhmcsError,
    WhmcsNotFound,
    WhmcsTransportError,
)
from .types import (
    AddOrderResult,
    OrderLine,
    WhmcsClientDetails,
    WhmcsClientSummary,
    WhmcsConfigOption,
    WhmcsInvoiceDetail,
    WhmcsInvoiceItem,
    WhmcsInvoiceRecord,
    WhmcsOrderLineItem,
    WhmcsOrderRecord,
    WhmcsPayMethodRecord,
    WhmcsProductPricing,
    WhmcsProductRecord,
    WhmcsServiceRecord,
    WhmcsSsoToken,
    WhmcsTransaction,
)

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]

#: Parameters WHMCS expects as base64(PHP serialize(array)).
SERIALIZED_PARAMS: Final = frozenset({"customfields", "configoptions", "domainfields"})
#: Parameters whose values must never be logged or echoed.
SENSITIVE_PARAMS: Final = frozenset(
    {"identifier", "secret", "accesskey", "username", "password", "password2", "servicepassword", "rootpw"}
)
#: Parameters safe to put in a log line next to the action name.
LOGGED_ID_PARAMS: Final = ("clientid", "client_id", "userid", "orderid", "serviceid", "invoiceid", "id")
#: Substrings of auth, IP and permission failures seen in real responses (facts §1).
AUTH_MESSAGES: Final = (
    "authentication failed",
    "invalid or missing credentials",
    "invalid ip",
    "invalid permissions",
    "invalid access key",
    "api access",
)
PRICE_CYCLES: Final = ("monthly", "quarterly", "semiannually", "annually", "biennially", "triennially")
SETUP_FEE_KEYS: Final = {
    "msetupfee": "monthly",
    "qsetupfee": "quarterly",
    "ssetupfee": "semiannually",
    "asetupfee": "annually",
    "bsetupfee": "biennially",
    "tsetupfee": "triennially",
}
_NUMERIC_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")
_ZERO_DATE = re.compile(r"^0000-00-00")
_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")


# --- Request encoding ---------------------------------------------------------------------------


def php_serialize(value: Any) -> str:
    """Serialize dicts, lists, ints, strings, bools and None the way PHP's ``serialize`` does.

    PHP turns numeric-string array keys into integers and ``s:`` counts UTF-8 bytes, not
    characters, so ``{"1": "東京"}`` becomes ``a:1:{i:1;s:6:"東京";}``.
    """
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, Decimal | str):
        text = str(value)
        return f's:{len(text.encode("utf-8"))}:"{text}";'
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        raise TypeError(f"Cannot PHP-serialize {type(value).__name__}")
    body = "".join(_php_key(key) + php_serialize(item) for key, item in items)
    return f"a:{len(value)}:{{{body}}}"


def _php_key(key: Any) -> str:
    if isinstance(key, bool):
        return f"i:{int(key)};"
    if isinstance(key, int):
        return f"i:{key};"
    text = str(key)
    if _NUMERIC_KEY.match(text):
        return f"i:{int(text)};"
    return php_serialize(text)


def encode_serialized(value: Mapping[Any, Any]) -> str:
    """base64(PHP serialize(value)): the encoding of ``configoptions`` and ``customfields``."""
    return base64.b64encode(php_serialize(value).encode("utf-8")).decode("ascii")


def flatten_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested values into PHP form keys: ``{"pid": [1, 3]}`` → ``pid[0]=1&pid[1]=3``.

    ``None`` values are dropped (WHMCS treats a sent empty value as "clear this field"),
    booleans become ``"1"``/``"0"`` as PHP's ``http_build_query`` sends them, and dates are sent
    as ``Y-m-d``.
    """
    pairs: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                add(f"{key}[{sub_key}]", sub_value)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                add(f"{key}[{index}]", item)
        elif isinstance(value, bool):
            pairs.append((key, "1" if value else "0"))
        elif isinstance(value, datetime):
            pairs.append((key, value.strftime("%Y-%m-%d %H:%M:%S")))
        elif isinstance(value, date):
            pairs.append((key, value.isoformat()))
        else:
            pairs.append((key, str(value)))

    for name, value in params.items():
        add(name, value)
    return pairs


def _encode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Lower-case WHMCS parameter names, serializing the dict-valued serialized parameters."""
    encoded: dict[str, Any] = {}
    for name, value in fields.items():
        key = name.lower()
        if key in SERIALIZED_PARAMS and isinstance(value, Mapping):
            value = encode_serialized(value)
        encoded[key] = value
    return encoded


# --- Response normalisation ---------------------------------------------------------------------


def normalize_list(value: Any, item_key: str | None = None) -> list[Any]:
    """Return the list inside a WHMCS collection, whatever shape "empty" took.

    WHMCS wraps lists as ``{"invoice": [...]}`` and answers "nothing" with ``""``, ``null``, a
    missing key, ``{}`` or ``{"invoice": []}``; all become ``[]``. A single object where a list
    was expected becomes a one-item list. Without ``item_key``, a one-key mapping holding a list
    is taken as the wrapper.
    """
    if isinstance(value, Mapping) and value:
        if item_key is not None:
            return _items(value.get(item_key))
        if len(value) == 1:
            (inner,) = value.values()
            if inner is None or inner == "" or isinstance(inner, list):
                return _items(inner)
    return _items(value)


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for item in value if item not in (None, "")]
    if isinstance(value, Mapping) and value:
        return [value]
    return []


def to_int(value: Any, default: int = 0) -> int:
    """Ids and counts arrive as numbers or numeric strings."""
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            return int(Decimal(str(value).strip()))
        except (InvalidOperation, ValueError):
            return default


def to_optional_int(value: Any) -> int | None:
    """An id where ``0``, ``""`` and ``null`` all mean "none"."""
    number = to_int(value)
    return number or None


def to_decimal(value: Any) -> Decimal:
    """Money comes as ``"5500.00"``, sometimes pre-formatted (``"¥5500.00 JPY"`` in order line
    items); the number is extracted, and anything unparseable (or empty) is zero."""
    if value is None or value == "" or isinstance(value, bool):
        return Decimal("0")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    match = _AMOUNT.search(str(value).replace(",", ""))
    if not match:
        return Decimal("0")
    try:
        return Decimal(match.group(0))
    except InvalidOperation:
        return Decimal("0")


def to_bool(value: Any) -> bool:
    """Booleans come as JSON booleans, ``1``/``0``, ``"1"``/``"0"``, ``"true"``/``"false"``,
    ``"on"``/``"off"``, ``"yes"``/``"no"`` or ``""``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes", "y"}
    return False


def to_date(value: Any) -> date | None:
    """Parse ``Y-m-d`` (or the date part of a timestamp); zero dates are ``None``."""
    if not isinstance(value, str) or not value.strip() or _ZERO_DATE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def to_datetime(value: Any, tz: tzinfo = UTC) -> datetime | None:
    """Parse ``Y-m-d H:i:s`` in the WHMCS server's zone ``tz``; zero dates are ``None``."""
    if not isinstance(value, str) or not value.strip() or _ZERO_DATE.match(value.strip()):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def to_csv_ids(value: Any) -> list[int]:
    """``"1,2"``, ``"1"``, ``""``, ``3`` or ``[1, "2"]`` → a list of ints."""
    if value is None or value == "":
        return []
    parts: Iterable[Any] = value if isinstance(value, list | tuple) else str(value).split(",")
    return [number for number in (to_int(part) for part in parts) if number]


def parse_card_expiry(value: Any) -> date | None:
    """``MM/YY`` (or ``MM/YYYY``) → the last day of that month, when the card stops working."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", value)
    if not match:
        return None
    month, year = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    if year < 100:
        year += 2000
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


# --- The client ---------------------------------------------------------------------------------


class WhmcsClient:
    """One WHMCS installation. Cheap to create: use one per task or thread, since a
    ``requests.Session`` is not guaranteed thread-safe."""

    def __init__(
        self,
        api_url: str,
        identifier: str,
        secret: str,
        access_key: str = "",
        timeout: float = 30.0,
        session: requests.Session | None = None,
        *,
        max_retries: int = 2,
        backoff_seconds: float = 0.25,
        server_timezone: tzinfo = UTC,
    ) -> None:
        self.api_url = api_url
        self.timeout = timeout
        self.max_retries = max_retries
        # Reads only: 0.25 s, 0.5 s, 1 s ... (no jitter: one caller waits on its own request).
        self.read_backoff = Backoff(initial=backoff_seconds, maximum=30, jitter=0)
        self.server_timezone = server_timezone
        self._session = session or requests.Session()
        self._credentials = {"identifier": identifier, "secret": secret}
        if access_key:
            self._credentials["accesskey"] = access_key
        self._secrets = tuple(value for value in self._credentials.values() if value)

    def __repr__(self) -> str:
        return f"<WhmcsClient {self.api_url}>"

    # --- transport --------------------------------------------------------------------------

    def call(self, action: str, params: Mapping[str, Any] | None = None) -> JsonDict:
        """Run one API action and return its successful JSON body, or raise a ``WhmcsError``.

        Read actions (``Get*``) are retried on transport errors; writes never are.
        """
        params = dict(params or {})
        attempts = 1 + (self.max_retries if action.lower().startswith("get") else 0)
        log_ids = {key: params[key] for key in LOGGED_ID_PARAMS if key in params}
        for attempt in range(1, attempts + 1):
            try:
                return self._call_once(action, params)
            except WhmcsTransportError as error:
                if attempt >= attempts:
                    logger.warning("WHMCS %s failed after %d attempt(s) %s", action, attempt, log_ids)
                    raise
                delay = self.read_backoff.delay(attempt - 1)
                logger.info(
                    "WHMCS %s transport error (%s), retry %d in %.2fs %s",
                    action,
                    error.status_code or "no response",
                    attempt,
                    delay,
                    log_ids,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(self, action: str, params: Mapping[str, Any]) -> JsonDict:
        body = flatten_params({**self._credentials, "responsetype": "json", "action": action, **params})
        logger.debug("WHMCS call %s %s", action, {k: params[k] for k in LOGGED_ID_PARAMS if k in params})
        try:
            # A redirect would turn the POST into a bodiless GET; surface it instead.
            response = self._session.post(
                self.api_url, data=body, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout as error:
            raise WhmcsTransportError(f"timed out after {self.timeout}s", action) from error
        except requests.RequestException as error:
            raise WhmcsTransportError(f"connection failed ({type(error).__name__})", action) from error

        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status >= 500 or status == 429:
            raise WhmcsTransportError(f"HTTP {status}", action, status_code=status)
        if not isinstance(payload, dict):
            if status == 403:
                raise WhmcsAuthError("HTTP 403 without a WHMCS body", action, status_code=status)
            raise WhmcsApiError(f"unexpected non-JSON response (HTTP {status})", action, status_code=status)

        outcome = str(payload.get("result") or payload.get("status") or "").lower()
        if outcome == "success" and status < 400:
            return payload
        message = _str(payload.get("message") or payload.get("warning") or "unknown error")
        call_secrets = [str(value) for key, value in params.items() if key in SENSITIVE_PARAMS and value]
        raise self._error_for(self._redact(message, call_secrets), action, status)

    def _error_for(self, message: str, action: str, status: int) -> WhmcsError:
        lowered = message.lower()
        if status in (401, 403) or any(marker in lowered for marker in AUTH_MESSAGES):
            return WhmcsAuthError(message, action, status_code=status)
        if "not found" in lowered:
            return WhmcsNotFound(message, action, status_code=status)
        return WhmcsApiError(message, action, status_code=status)

    def _redact(self, text: str, extra_secrets: Iterable[str] = ()) -> str:
        """Mask credentials and this call's passwords should WHMCS echo them in a message."""
        for secret in (*self._secrets, *extra_secrets):
            text = text.replace(secret, "***")
        return text

    def _paginate(
        self, action: str, params: Mapping[str, Any], container: str, item_key: str, page_size: int
    ) -> Iterator[JsonDict]:
        """Yield every row of a list action, following ``limitstart`` until ``totalresults``."""
        start = 0
        while True:
            payload = self.call(action, {**params, "limitstart": start, "limitnum": page_size})
            rows = normalize_list(payload.get(container), item_key)
            yield from rows
            start += len(rows)
            total = to_int(payload.get("totalresults"), default=start)
            if not rows or start >= total:
                return

    # --- clients ----------------------------------------------------------------------------

    def add_client(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str,
        address1: str,
        city: str,
        state: str,
        postcode: str,
        country: str,
        phone_number: str,
        password: str | None = None,
        company_name: str = "",
        address2: str = "",
        notes: str = "",
        language: str | None = None,
        currency: int | None = None,
        owner_user_id: int | None = None,
        custom_fields: Mapping[int, str] | None = None,
        no_email: bool = True,
        skip_validation: bool = False,
    ) -> int:
        """Create a billing client and return its id. ``password`` is required unless an
        ``owner_user_id`` (WHMCS 8 User) owns the client. Never retried."""
        params: dict[str, Any] = {
            "firstname": first_name,
            "lastname": last_name,
            "email": email,
            "address1": address1,
            "address2": address2 or None,
            "city": city,
            "state": state,
            "postcode": postcode,
            "country": country,
            "phonenumber": phone_number,
            "companyname": company_name or None,
            "password2": password,
            "owner_user_id": owner_user_id,
            "notes": notes or None,
            "language": language,
            "currency": currency,
            "noemail": no_email,
            "skipvalidation": skip_validation or None,
            "customfields": encode_serialized(custom_fields) if custom_fields else None,
        }
        payload = self.call("AddClient", params)
        client_id = to_int(payload.get("clientid"))
        logger.info("WHMCS client %s created", client_id)
        return client_id

    def get_client_details(
        self, client_id: int | None = None, email: str | None = None
    ) -> WhmcsClientDetails:
        if client_id is None and not email:
            raise ValueError("client_id or email is required")
        payload = self.call("GetClientsDetails", {"clientid": client_id, "email": email, "stats": False})
        data = payload.get("client") or payload
        return WhmcsClientDetails(
            id=to_int(data.get("client_id") or data.get("id") or data.get("userid")),
            uuid=_str(data.get("uuid")),
            first_name=_str(data.get("firstname")),
            last_name=_str(data.get("lastname")),
            company_name=_str(data.get("companyname")),
            email=_str(data.get("email")),
            address1=_str(data.get("address1")),
            address2=_str(data.get("address2")),
            city=_str(data.get("city")),
            state=_str(data.get("state")),
            postcode=_str(data.get("postcode")),
            country=_str(data.get("countrycode") or data.get("country")),
            phone_number=_str(data.get("phonenumber")),
            status=_str(data.get("status")),
            currency_code=_str(data.get("currency_code")),
            credit=to_decimal(data.get("credit")),
            language=_str(data.get("language")),
            notes=_str(data.get("notes")),
            email_verified=to_bool(data.get("email_verified")),
            tax_exempt=to_bool(data.get("taxexempt")),
            owner_user_id=to_optional_int(data.get("owner_user_id")),
        )

    def client_by_email(self, email: str) -> WhmcsClientDetails | None:
        """The client whose login email this is, or None: one ``GetClientsDetails`` call."""
        try:
            return self.get_client_details(email=email)
        except WhmcsNotFound:
            return None

    def update_client(self, client_id: int, **fields: Any) -> int:
        """Change client fields; keyword names are WHMCS parameter names (``status="Inactive"``,
        ``notes=…``, ``email_preferences={"invoice": False}``)."""
        payload = self.call("UpdateClient", {**_encode_fields(fields), "clientid": client_id})
        return to_int(payload.get("clientid"), default=client_id)

    def close_client(self, client_id: int) -> None:
        """Close the client; WHMCS also cancels its invoices and services."""
        self.call("CloseClient", {"clientid": client_id})

    def delete_client(
        self, client_id: int, delete_users: bool = True, delete_transactions: bool = True
    ) -> None:
        """Delete the client and everything it owns (irreversible). ``delete_users`` also removes
        WHMCS 8 Users that belong to no other client, so no login is left behind."""
        self.call(
            "DeleteClient",
            {"clientid": client_id, "deleteusers": delete_users, "deletetransactions": delete_transactions},
        )

    def iter_clients(
        self, search: str | None = None, status: str | None = None, page_size: int = 100
    ) -> Iterator[WhmcsClientSummary]:
        """Every client (``search`` is a WHMCS prefix match on email and names), page by page."""
        params = {"search": search, "status": status}
        for row in self._paginate("GetClients", params, "clients", "client", page_size):
            yield WhmcsClientSummary(
                id=to_int(row.get("id")),
                first_name=_str(row.get("firstname")),
                last_name=_str(row.get("lastname")),
                company_name=_str(row.get("companyname")),
                email=_str(row.get("email")),
                status=_str(row.get("status")),
                group_id=to_int(row.get("groupid")),
                created_on=to_date(row.get("datecreated")),
            )

    # --- orders -----------------------------------------------------------------------------

    def add_order(
        self,
        client_id: int,
        items: Sequence[OrderLine],
        payment_method: str,
        notes: str | None = None,
        *,
        promo_code: str | None = None,
        no_email: bool = False,
        no_invoice: bool = False,
        no_invoice_email: bool = False,
    ) -> AddOrderResult:
        """Place a Pending order (WHMCS ignores auto-setup here: call :meth:`accept_order`).

        Never retried: a timeout may still have created the order, so callers must reconcile
        (``get_orders(client_id=…)``) rather than resend.
        """
        if not items:
            raise ValueError("an order needs at least one item")
        params: dict[str, Any] = {
            "clientid": client_id,
            "paymentmethod": payment_method,
            "pid": [item.pid for item in items],
            "qty": [item.qty for item in items],
            "billingcycle": [item.billing_cycle for item in items],
            "configoptions": [encode_serialized(item.config_options) for item in items],
            "customfields": [encode_serialized(item.custom_fields) for item in items],
            # Indexed like the other arrays: ``priceoverride[1]`` alone overrides the second item.
            "priceoverride": {
                index: f"{item.price_override:.2f}"
                for index, item in enumerate(items)
                if item.price_override is not None
            }
            or None,
            "notes": notes,
            "promocode": promo_code,
            "noemail": no_email or None,
            "noinvoice": no_invoice or None,
            "noinvoiceemail": no_invoice_email or None,
        }
        payload = self.call("AddOrder", params)
        result = AddOrderResult(
            order_id=to_int(payload.get("orderid")),
            service_ids=tuple(to_csv_ids(payload.get("serviceids") or payload.get("productids"))),
            addon_ids=tuple(to_csv_ids(payload.get("addonids"))),
            invoice_id=to_optional_int(payload.get("invoiceid")),
        )
        logger.info("WHMCS order %s placed for client %s", result.order_id, client_id)
        return result

    def accept_order(self, order_id: int, autosetup: bool = True, send_email: bool = False) -> None:
        self.call("AcceptOrder", {"orderid": order_id, "autosetup": autosetup, "sendemail": send_email})

    def cancel_order(self, order_id: int, cancel_subscription: bool = False, no_email: bool = True) -> None:
        """Cancel a Pending order (WHMCS refuses any other status)."""
        self.call("CancelOrder", {"orderid": order_id, "cancelsub": cancel_subscription, "noemail": no_email})

    def get_orders(
        self, client_id: int | None = None, order_id: int | None = None, page_size: int = 100
    ) -> list[WhmcsOrderRecord]:
        params = {"userid": client_id, "id": order_id}
        return [self._order(row) for row in self._paginate("GetOrders", params, "orders", "order", page_size)]

    def _order(self, row: JsonDict) -> WhmcsOrderRecord:
        return WhmcsOrderRecord(
            id=to_int(row.get("id")),
            order_number=_str(row.get("ordernum")),
            client_id=to_int(row.get("userid")),
            placed_at=to_datetime(row.get("date"), self.server_timezone),
            status=_str(row.get("status")),
            amount=to_decimal(row.get("amount")),
            payment_method=_str(row.get("paymentmethod")),
            payment_status=_str(row.get("paymentstatus")),
            invoice_id=to_optional_int(row.get("invoiceid")),
            notes=_str(row.get("notes")),
            line_items=tuple(
                WhmcsOrderLineItem(
                    type=_str(item.get("type")),
                    rel_id=to_int(item.get("relid")),
                    product_type=_str(item.get("producttype")),
                    product=_str(item.get("product")),
                    billing_cycle=_str(item.get("billingcycle")),
                    amount=to_decimal(item.get("amount")),
                    status=_str(item.get("status")),
                )
                for item in normalize_list(row.get("lineitems"), "lineitem")
            ),
        )

    # --- services ---------------------------------------------------------------------------

    def get_clients_products(
        self, client_id: int, service_id: int | None = None, page_size: int = 100
    ) -> list[WhmcsServiceRecord]:
        """Every service of the client. ``limitnum`` is always sent: without it WHMCS may ignore
        paging altogether."""
        params = {"clientid": client_id, "serviceid": service_id}
        rows = self._paginate("GetClientsProducts", params, "products", "product", page_size)
        return [self._service(row) for row in rows]

    def _service(self, row: JsonDict) -> WhmcsServiceRecord:
        return WhmcsServiceRecord(
            id=to_int(row.get("id")),
            client_id=to_int(row.get("clientid")),
            order_id=to_optional_int(row.get("orderid")),
            pid=to_int(row.get("pid")),
            name=_str(row.get("name") or row.get("translated_name")),
            group_name=_str(row.get("groupname")),
            domain=_str(row.get("domain")),
            status=_str(row.get("status")),
            billing_cycle=_str(row.get("billingcycle")),
            first_payment_amount=to_decimal(row.get("firstpaymentamount")),
            recurring_amount=to_decimal(row.get("recurringamount")),
            payment_method=_str(row.get("paymentmethod")),
            registered_on=to_date(row.get("regdate")),
            next_due_on=to_date(row.get("nextduedate")),
            config_options=tuple(
                WhmcsConfigOption(
                    id=to_int(option.get("id")),
                    option=_str(option.get("option")),
                    type=_str(option.get("type")),
                    value=_str(option.get("value")),
                )
                for option in normalize_list(row.get("configoptions"), "configoption")
            ),
        )

    def update_client_product(self, service_id: int, **fields: Any) -> None:
        """Change service fields; keyword names are WHMCS parameter names (``status``,
        ``nextduedate``, ``configoptions={id: option}`` …). Changing ``status`` does not run the
        provisioning module; use :meth:`module_terminate` for that."""
        self.call("UpdateClientProduct", {**_encode_fields(fields), "serviceid": service_id})

    def module_terminate(self, service_id: int) -> None:
        """Run the provisioning module's terminate for one service."""
        self.call("ModuleTerminate", {"serviceid": service_id})

    # --- invoices and payment ---------------------------------------------------------------

    def get_invoices(
        self, client_id: int, status: str | None = None, page_size: int = 100
    ) -> list[WhmcsInvoiceRecord]:
        params = {"userid": client_id, "status": status}
        return [
            WhmcsInvoiceRecord(
                id=to_int(row.get("id")),
                client_id=to_int(row.get("userid")),
                number=_str(row.get("invoicenum")),
                status=_str(row.get("status")),
                issued_on=to_date(row.get("date")),
                due_on=to_date(row.get("duedate")),
                paid_at=to_datetime(row.get("datepaid"), self.server_timezone),
                subtotal=to_decimal(row.get("subtotal")),
                credit=to_decimal(row.get("credit")),
                tax=to_decimal(row.get("tax")),
                tax2=to_decimal(row.get("tax2")),
                total=to_decimal(row.get("total")),
                currency_code=_str(row.get("currencycode")),
                payment_method=_str(row.get("paymentmethod")),
            )
            for row in self._paginate("GetInvoices", params, "invoices", "invoice", page_size)
        ]

    def get_invoice(self, invoice_id: int) -> WhmcsInvoiceDetail:
        data = self.call("GetInvoice", {"invoiceid": invoice_id})
        return WhmcsInvoiceDetail(
            id=to_int(data.get("invoiceid")),
            client_id=to_int(data.get("userid")),
            number=_str(data.get("invoicenum")),
            status=_str(data.get("status")),
            issued_on=to_date(data.get("date")),
            due_on=to_date(data.get("duedate")),
            paid_at=to_datetime(data.get("datepaid"), self.server_timezone),
            subtotal=to_decimal(data.get("subtotal")),
            credit=to_decimal(data.get("credit")),
            tax=to_decimal(data.get("tax")),
            tax2=to_decimal(data.get("tax2")),
            total=to_decimal(data.get("total")),
            balance=to_decimal(data.get("balance")),
            payment_method=_str(data.get("paymentmethod")),
            notes=_str(data.get("notes")),
            items=tuple(
                WhmcsInvoiceItem(
                    id=to_int(item.get("id")),
                    type=_str(item.get("type")),
                    rel_id=to_int(item.get("relid")),
                    description=_str(item.get("description")),
                    amount=to_decimal(item.get("amount")),
                    taxed=to_bool(item.get("taxed")),
                )
                for item in normalize_list(data.get("items"), "item")
            ),
            transactions=tuple(
                WhmcsTransaction(
                    id=to_int(row.get("id")),
                    transaction_id=_str(row.get("transid")),
                    gateway=_str(row.get("gateway")),
                    amount_in=to_decimal(row.get("amountin")),
                    amount_out=to_decimal(row.get("amountout")),
                    date=to_datetime(row.get("date"), self.server_timezone),
                )
                for row in normalize_list(data.get("transactions"), "transaction")
            ),
        )

    def get_pay_methods(self, client_id: int) -> list[WhmcsPayMethodRecord]:
        """Stored cards and bank accounts. Only display fields are kept; the remote token stays
        in WHMCS."""
        payload = self.call("GetPayMethods", {"clientid": client_id})
        return [
            WhmcsPayMethodRecord(
                id=to_int(row.get("id")),
                type=_str(row.get("type")),
                description=_str(row.get("description")),
                gateway_name=_str(row.get("gateway_name")),
                card_type=_str(row.get("card_type")),
                card_last_four=_str(row.get("card_last_four")),
                expires_on=parse_card_expiry(row.get("expiry_date")),
                bank_name=_str(row.get("bank_name")),
            )
            for row in normalize_list(payload.get("paymethods"), "paymethod")
        ]

    def create_sso_token(
        self, client_id: int, *, destination: str | None = None, redirect_path: str | None = None
    ) -> WhmcsSsoToken:
        """A single-use sign-on link into the client's WHMCS client area (valid for 60 s).

        ``destination`` is a short name such as ``clientarea:billing_info``; with
        ``redirect_path`` the destination is ``sso:custom_redirect`` to that relative path
        (e.g. ``index.php?rp=/account/paymentmethods/add``). Not retried: a lost answer only
        costs the customer another click. https://developers.whmcs.com/api-reference/createssotoken/
        """
        if redirect_path:
            destination = "sso:custom_redirect"
        payload = self.call(
            "CreateSsoToken",
            {"client_id": client_id, "destination": destination, "sso_redirect_path": redirect_path or None},
        )
        token, url = _str(payload.get("access_token")), _str(payload.get("redirect_url"))
        if not url:
            raise WhmcsApiError("CreateSsoToken answered no redirect_url", "CreateSsoToken")
        return WhmcsSsoToken(access_token=token, redirect_url=url)

    # --- catalog ----------------------------------------------------------------------------

    def get_products(self, pids: Iterable[int] | None = None) -> list[WhmcsProductRecord]:
        pid_list = list(pids) if pids is not None else []
        params = {"pid": ",".join(str(pid) for pid in pid_list) if pid_list else None}
        payload = self.call("GetProducts", params)
        return [self._product(row) for row in normalize_list(payload.get("products"), "product")]

    def _product(self, row: JsonDict) -> WhmcsProductRecord:
        pricing: list[WhmcsProductPricing] = []
        raw_pricing = row.get("pricing")
        for currency, prices in raw_pricing.items() if isinstance(raw_pricing, Mapping) else ():
            if not isinstance(prices, Mapping):
                continue
            cycles = {
                cycle: to_decimal(prices.get(cycle))
                for cycle in PRICE_CYCLES
                if cycle in prices and to_decimal(prices.get(cycle)) >= 0
            }
            fees = {
                cycle: to_decimal(prices.get(key))
                for key, cycle in SETUP_FEE_KEYS.items()
                if cycle in cycles and key in prices
            }
            pricing.append(
                WhmcsProductPricing(
                    currency=str(currency),
                    prefix=_str(prices.get("prefix")),
                    suffix=_str(prices.get("suffix")),
                    cycles=cycles,
                    setup_fees=fees,
                )
            )
        return WhmcsProductRecord(
            pid=to_int(row.get("pid")),
            gid=to_int(row.get("gid")),
            type=_str(row.get("type")),
            name=_str(row.get("name")),
            description=_str(row.get("description")),
            module=_str(row.get("module")),
            pay_type=_str(row.get("paytype")),
            pricing=tuple(pricing),
        )


def get_whmcs_client(
    session: requests.Session | None = None, *, timeout_seconds: float | None = None
) -> WhmcsClient:
    """The client configured by ``settings.WHMCS`` (real WHMCS or the local emulator).

    WHMCS stores timestamps in its server's local time without an offset; ``SERVER_TIMEZONE``
    (default ``TIME_ZONE``) says which zone that is. ``MAX_RETRIES`` and
    ``RETRY_BACKOFF_SECONDS`` tune the retries of reads.
    """
    config = settings.WHMCS
    return WhmcsClient(
        api_url=config["API_URL"],
        identifier=config["IDENTIFIER"],
        secret=config["SECRET"],
        access_key=config.get("ACCESS_KEY", ""),
        timeout=timeout_seconds or float(config.get("TIMEOUT_SECONDS", 30.0)),
        session=session,
        max_retries=int(config.get("MAX_RETRIES", 2)),
        backoff_seconds=float(config.get("RETRY_BACKOFF_SECONDS", 0.25)),
        server_timezone=ZoneInfo(config.get("SERVER_TIMEZONE") or settings.TIME_ZONE),
    )
