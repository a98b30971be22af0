"""The Salesforce REST gateway: the only way portal code talks to Salesforce over REST.

It wraps ``simple_salesforce.Salesforce`` in "direct" mode (session id + instance URL from
``auth.get_session``) and adds what the rest of the portal relies on:

* typed errors (``exceptions``) marked retryable or terminal, never leaking the token;
* one transparent re-login and retry when the session expired;
* a timeout on every request, TLS verification against ``CA_BUNDLE`` (the emulator's CA);
* API-usage accounting: ``api_usage`` from ``Sforce-Limit-Info`` and call counters, so tests
  and benchmarks can assert that one customer action costs one Salesforce API call;
* typed reads for the domain apps (``order_with_items``, ``find_account_by_customer_number``,
  ``find_contact``, and the reconciliation reads ``accounts_modified_since``,
  ``products_modified_since``, ``standard_prices``, ``cases_modified_since``,
  ``case_comments_modified_since``) that return the frozen records of ``records``, so SOQL, the
  wire format, the field names and the mapping of Salesforce's errors stay here.

REST reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import requests
import simple_salesforce
import urllib3
from simple_salesforce import exceptions as sf_exceptions
from simple_salesforce import format_soql

from .auth import SalesforceConfig, SalesforceSession, get_session
from .exceptions import (
    CompositeSubError,
    SalesforceCollectionError,
    SalesforceCompositeError,
    SalesforceError,
    SalesforceErrorDetail,
    SalesforceMalformedRequest,
    SalesforceNotFound,
    SalesforceOutcomeUnknown,
    SalesforceUnavailable,
    SalesforceUnknownPicklistValue,
    error_for_response,
)
from .field_map import FieldMap, get_field_map, parse_salesforce_datetime
from .records import (
    SalesforceAccount,
    SalesforceCase,
    SalesforceCaseComment,
    SalesforceContact,
    SalesforceOrder,
    SalesforceOrderItem,
    SalesforceProduct,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

CLIENT_NAME = "sonixnet-portal"
"""Sent as ``Sforce-Call-Options: client=...`` so change events can tell the portal's own writes."""

MAX_COMPOSITE_SUBREQUESTS = 25
MAX_COLLECTION_RECORDS = 200

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_LIMIT_INFO_RE = re.compile(r"api-usage=(\d+)/(\d+)")


class ApiUsage(NamedTuple):
    """The org's API requests in the last 24 hours, from ``Sforce-Limit-Info``."""

    used: int
    max: int


class CallCounter:
    """A thread-safe counter of REST requests sent to Salesforce (login excluded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def increment(self) -> None:
        with self._lock:
            self._value += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._value

    def reset(self) -> None:
        with self._lock:
            self._value = 0


api_call_counter = CallCounter()
"""Every gateway in the process counts here too (tests and benchmarks read and reset it)."""


@dataclass(frozen=True)
class CompositeSubrequest:
    """One step of a Composite request.

    ``url`` may be a full ``/services/data/vXX.X/...`` path or relative to it (``sobjects/Account``).
    Later steps reference earlier results with ``@{referenceId.id}`` in ``url`` or ``body``.

    An update of a record whose ID the caller does not know yet (an earlier queued change will
    learn it) carries that reference as ``deferred_record_id``, never inside the URL text; the
    outbox fills it in as the URL's last segment before sending.
    """

    method: str
    url: str
    reference_id: str
    body: Mapping[str, Any] | None = None
    http_headers: Mapping[str, str] | None = None
    deferred_record_id: Any = None

    @classmethod
    def create(cls, sobject: str, reference_id: str, fields: Mapping[str, Any]) -> CompositeSubrequest:
        return cls("POST", f"sobjects/{_checked_name(sobject)}", reference_id, dict(fields))

    @classmethod
    def update(
        cls, sobject: str, record_id: Any, reference_id: str, fields: Mapping[str, Any]
    ) -> CompositeSubrequest:
        """``record_id`` is the record's ID, or a reference the outbox resolves before sending."""
        url = f"sobjects/{_checked_name(sobject)}/"
        if isinstance(record_id, str):
            return cls("PATCH", url + record_id, reference_id, dict(fields))
        return cls("PATCH", url, reference_id, dict(fields), deferred_record_id=record_id)

    @classmethod
    def read(
        cls, sobject: str, record_id: str, reference_id: str, fields: Sequence[str]
    ) -> CompositeSubrequest:
        names = ",".join(_checked_name(name) for name in fields)
        return cls(
            "GET", f"sobjects/{_checked_name(sobject)}/{_checked_id(record_id)}?fields={names}", reference_id
        )

    @classmethod
    def query(cls, soql: str, reference_id: str) -> CompositeSubrequest:
        return cls("GET", f"query?q={quote(soql, safe='')}", reference_id)

    def as_json(self, api_version: str) -> dict[str, Any]:
        if self.deferred_record_id is not None:
            raise ValueError("this subrequest's record ID is not known yet; send it through the outbox")
        url = self.url if self.url.startswith("/") else f"/services/data/v{api_version}/{self.url}"
        item: dict[str, Any] = {"method": self.method.upper(), "url": url, "referenceId": self.reference_id}
        if self.body is not None:
            item["body"] = dict(self.body)
        if self.http_headers:
            item["httpHeaders"] = dict(self.http_headers)
        return item


@dataclass(frozen=True)
class CompositeSubresponse:
    """The outcome of one Composite step."""

    reference_id: str
    status_code: int
    body: Any
    http_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def id(self) -> str | None:
        """The record id a create step returned."""
        return self.body.get("id") if isinstance(self.body, dict) else None

    @property
    def errors(self) -> tuple[SalesforceErrorDetail, ...]:
        return () if self.ok else SalesforceErrorDetail.list_from_json(self.body)


@dataclass(frozen=True)
class CompositeResult:
    """All Composite step outcomes, keyed by ``referenceId`` in request order."""

    responses: dict[str, CompositeSubresponse]

    def __getitem__(self, reference_id: str) -> CompositeSubresponse:
        return self.responses[reference_id]

    @property
    def ok(self) -> bool:
        return all(response.ok for response in self.responses.values())

    @property
    def ids(self) -> dict[str, str]:
        """``referenceId`` → created record id, for the steps that created one."""
        return {ref: response.id for ref, response in self.responses.items() if response.id}

    @property
    def failures(self) -> list[CompositeSubError]:
        return [
            CompositeSubError(reference_id=ref, status=response.status_code, errors=response.errors)
            for ref, response in self.responses.items()
            if not response.ok
        ]


@dataclass(frozen=True)
class SaveResult:
    """One record's outcome in an sObject Collections request."""

    id: str | None
    success: bool
    errors: tuple[SalesforceErrorDetail, ...] = ()

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> SaveResult:
        return cls(
            id=item.get("id"),
            success=bool(item.get("success")),
            errors=tuple(SalesforceErrorDetail.from_json(error) for error in item.get("errors") or ()),
        )


def _soql_literal(value: object) -> str:
    """Render a Python value as a SOQL literal, escaping strings: the typed operations quote every
    value through this (or ``format_soql``), nothing a customer typed is ever read as SOQL.

    https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("SOQL datetimes must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        escaped = (
            value.replace("\\", "\\\\")
            .replace("'", "\\'")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        return f"'{escaped}'"
    if isinstance(value, list | tuple | set | frozenset):
        return "(" + ", ".join(_soql_literal(item) for item in value) + ")"
    raise TypeError(f"cannot render {type(value).__name__} as a SOQL literal")


def _checked_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid sObject or field name: {name!r}")
    return name


def is_salesforce_id(value: str) -> bool:
    """Whether ``value`` has the form of a Salesforce record id (15 or 18 letters and digits)."""
    return _ID_RE.fullmatch(value) is not None


def _checked_id(record_id: str) -> str:
    if not is_salesforce_id(record_id):
        raise ValueError(f"invalid Salesforce record id: {record_id!r}")
    return record_id


class _GatewayHttpSession(requests.Session):
    """A ``requests.Session`` that enforces a timeout and reports each response to the gateway.

    simple-salesforce sends every request through ``session.request``, so this is the one place
    to count calls and read ``Sforce-Limit-Info`` for queries, sObjects and Composite alike.
    """

    def __init__(self, *, timeout: float, on_response: Callable[[requests.Response], None]) -> None:
        super().__init__()
        self.default_timeout = timeout
        self._on_response = on_response

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        # Explicit per request: requests lets REQUESTS_CA_BUNDLE override ``Session.verify``.
        kwargs.setdefault("verify", self.verify)
        response = super().request(method, url, *args, **kwargs)
        self._on_response(response)
        return response


def _unavailable(exc: requests.RequestException, context: str) -> SalesforceUnavailable:
    """No answer from Salesforce. If the request never left (no connection could be made) it was
    not applied; otherwise (a read timeout, a connection dropped mid-way) it may have been."""
    if _never_connected(exc):
        return SalesforceUnavailable(
            f"{context}: could not connect ({type(exc).__name__})", error_code="CONNECTION_ERROR"
        )
    if isinstance(exc, requests.Timeout):
        return SalesforceOutcomeUnknown(f"{context}: no answer in time", error_code="TIMEOUT")
    return SalesforceOutcomeUnknown(
        f"{context}: the connection dropped ({type(exc).__name__})", error_code="CONNECTION_ERROR"
    )


def _never_connected(exc: BaseException) -> bool:
    """Whether the failure happened while connecting (refused, unreachable, connect timeout,
    TLS handshake), i.e. before any of the request was sent."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(
            current, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
        ):
            return True
        reason = getattr(current, "reason", None)
        pending.extend(
            [current.__cause__, current.__context__, reason if isinstance(reason, BaseException) else None]
        )
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


@dataclass(frozen=True)
class SourcedAccount:
    """An Account with the registration source the orphan scan looks for."""

    account_id: str
    customer_number: str
    created_at: datetime | None


@dataclass(frozen=True)
class AccountContact:
    contact_id: str
    email: str


@dataclass(frozen=True)
class AccountDependents:
    """What hangs on an Account: deleting it would delete or orphan these."""

    opportunities: int
    orders: int
    cases: int

    @property
    def any(self) -> bool:
        return bool(self.opportunities or self.orders or self.cases)


class SalesforceGateway:
    """Salesforce REST operations with typed errors, re-login and API-usage accounting.

    Not meant to be shared between threads; create one per task (``get_gateway()`` is cheap: it
    reuses the cached session and does no network I/O).
    """

    def __init__(
        self,
        session: SalesforceSession | None = None,
        *,
        config: SalesforceConfig | None = None,
        session_provider: Callable[..., SalesforceSession] = get_session,
    ) -> None:
        self.config = config or SalesforceConfig.from_settings()
        self._session_provider = session_provider
        self._session = session or session_provider()
        self.calls_made = 0
        self.relogins = 0
        self.api_usage: ApiUsage | None = None
        self._http = _GatewayHttpSession(
            timeout=self.config.timeout_seconds, on_response=self._record_response
        )
        self._http.verify = self.config.verify
        self._http.headers["Sforce-Call-Options"] = f"client={CLIENT_NAME}"
        self._client = self._build_client()

    def __repr__(self) -> str:
        return f"<SalesforceGateway {self._session.instance_url} org={self._session.org_id}>"

    # --- plumbing -------------------------------------------------------------------------------

    def _build_client(self) -> simple_salesforce.Salesforce:
        return simple_salesforce.Salesforce(
            instance_url=self._session.instance_url,
            session_id=self._session.access_token,
            session=self._http,
            version=self.config.api_version,
            object_pairs_hook=dict,
        )

    def _record_response(self, response: requests.Response) -> None:
        self.calls_made += 1
        api_call_counter.increment()
        match = _LIMIT_INFO_RE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.api_usage = ApiUsage(used=int(match.group(1)), max=int(match.group(2)))

    def _relogin(self) -> None:
        logger.info("Salesforce session expired; logging in again")
        self._session = self._session_provider(force_refresh=True)
        self.relogins += 1
        self._client = self._build_client()

    def _call(self, operation: Callable[[simple_salesforce.Salesforce], T], *, context: str) -> T:
        """Run ``operation`` against the client, re-logging in once on an expired session."""
        relogged = False
        while True:
            try:
                return operation(self._client)
            except sf_exceptions.SalesforceExpiredSession as exc:
                if relogged:
                    raise self._translate(exc, context) from exc
                relogged = True
                self._relogin()
            except sf_exceptions.SalesforceError as exc:
                raise self._translate(exc, context) from exc
            except requests.RequestException as exc:
                raise _unavailable(exc, context) from exc

    @staticmethod
    def _translate(exc: sf_exceptions.SalesforceError, context: str) -> SalesforceError:
        errors = SalesforceErrorDetail.list_from_json(exc.content)
        error = error_for_response(exc.status, errors, context=context)
        logger.warning("Salesforce %s failed: %s", context, error)
        return error

    # --- queries --------------------------------------------------------------------------------

    def query_iter(
        self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False
    ) -> Iterator[dict]:
        """Yield records page by page, following ``nextRecordsUrl``; each page is one API call.

        ``batch_size`` sets ``Sforce-Query-Options: batchSize=N`` (Salesforce allows 200-2000).
        """
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        page = self._call(
            lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers),
            context="GET queryAll" if include_deleted else "GET query",
        )
        while True:
            for record in page.get("records", []):
                yield _strip_attributes(record)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call(
                functools.partial(_query_more, url=next_url, headers=headers), context="GET query (next page)"
            )

    def query(self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False) -> list[dict]:
        """All records of a SOQL query (every page), without ``attributes``."""
        return list(self.query_iter(soql, batch_size=batch_size, include_deleted=include_deleted))

    # --- single records -------------------------------------------------------------------------

    def get(self, sobject: str, record_id: str, fields: Sequence[str] | None = None) -> dict:
        """One record by id; ``fields`` limits the columns returned."""
        _checked_name(sobject)
        _checked_id(record_id)
        params = {"fields": ",".join(_checked_name(name) for name in fields)} if fields else None
        record = self._call(
            lambda sf: getattr(sf, sobject).get(record_id, params=params),
            context=f"GET sobjects/{sobject}",
        )
        return _strip_attributes(record)

    def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create one record and return its id."""
        _checked_name(sobject)
        result = self._call(
            lambda sf: getattr(sf, sobject).create(dict(fields)), context=f"POST sobjects/{sobject}"
        )
        return str(result["id"])

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        _checked_name(sobject)
        _checked_id(record_id)
        self._call(
            lambda sf: getattr(sf, sobject).update(record_id, dict(fields)),
            context=f"PATCH sobjects/{sobject}",
        )

    def delete(self, sobject: str, record_id: str) -> None:
        _checked_name(sobject)
        _checked_id(record_id)
        self._call(lambda sf: getattr(sf, sobject).delete(record_id), context=f"DELETE sobjects/{sobject}")

    # --- composite ------------------------------------------------------------------------------

    def composite(
        self,
        subrequests: Sequence[CompositeSubrequest | Mapping[str, Any]],
        all_or_none: bool = True,
    ) -> CompositeResult:
        """Run up to 25 dependent steps in ONE API call.

        With ``all_or_none`` a failure rolls every step back and raises ``SalesforceCompositeError``
        (carrying each step's errors); otherwise the result reports per-step failures.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm
        """
        if not subrequests:
            raise ValueError("a composite request needs at least one subrequest")
        if len(subrequests) > MAX_COMPOSITE_SUBREQUESTS:
            raise ValueError(f"a composite request takes at most {MAX_COMPOSITE_SUBREQUESTS} subrequests")
        items = [
            item.as_json(self.config.api_version) if isinstance(item, CompositeSubrequest) else dict(item)
            for item in subrequests
        ]
        body = {"allOrNone": all_or_none, "compositeRequest": items}
        payload = self._call(
            lambda sf: sf.restful("composite", method="POST", json=body), context="POST composite"
        )
        responses: dict[str, CompositeSubresponse] = {}
        for item in (payload or {}).get("compositeResponse", []):
            responses[str(item.get("referenceId"))] = CompositeSubresponse(
                reference_id=str(item.get("referenceId")),
                status_code=int(item.get("httpStatusCode", 0)),
                body=item.get("body"),
                http_headers=item.get("httpHeaders") or {},
            )
        result = CompositeResult(responses=responses)
        if all_or_none and not result.ok:
            error = SalesforceCompositeError(result.failures)
            logger.warning("Salesforce POST composite rolled back: %s", error)
            raise error
        return result

    # --- sObject Collections --------------------------------------------------------------------

    def collection_create(
        self, records: Sequence[Mapping[str, Any]], all_or_none: bool = False
    ) -> list[SaveResult]:
        """Create up to 200 records (each with ``attributes: {"type": ...}``) in one API call."""
        body = {"allOrNone": all_or_none, "records": self._collection_records(records, need_id=False)}
        payload = self._call(
            lambda sf: sf.restful("composite/sobjects", method="POST", json=body),
            context="POST composite/sobjects",
        )
        return self._save_results(payload, all_or_none)

    def collection_update(
        self, records: Sequence[Mapping[str, Any]], all_or_none: bool = False
    ) -> list[SaveResult]:
        """Update up to 200 records (each with ``attributes.type`` and ``id``) in one API call."""
        body = {"allOrNone": all_or_none, "records": self._collection_records(records, need_id=True)}
        payload = self._call(
            lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body),
            context="PATCH composite/sobjects",
        )
        return self._save_results(payload, all_or_none)

    def collection_delete(self, record_ids: Sequence[str], all_or_none: bool = False) -> list[SaveResult]:
        """Delete up to 200 records by id in one API call."""
        if not record_ids or len(record_ids) > MAX_COLLECTION_RECORDS:
            raise ValueError(f"a collection request takes 1 to {MAX_COLLECTION_RECORDS} records")
        params = {
            "ids": ",".join(_checked_id(rid) for rid in record_ids),
            "allOrNone": str(all_or_none).lower(),
        }
        payload = self._call(
            lambda sf: sf.restful("composite/sobjects", method="DELETE", params=params),
            context="DELETE composite/sobjects",
        )
        return self._save_results(payload, all_or_none)

    @staticmethod
    def _collection_records(records: Sequence[Mapping[str, Any]], *, need_id: bool) -> list[dict[str, Any]]:
        if not records or len(records) > MAX_COLLECTION_RECORDS:
            raise ValueError(f"a collection request takes 1 to {MAX_COLLECTION_RECORDS} records")
        prepared = []
        for record in records:
            attributes = record.get("attributes")
            if not isinstance(attributes, Mapping) or not attributes.get("type"):
                raise ValueError("every collection record needs attributes.type")
            _checked_name(str(attributes["type"]))
            if need_id:
                _checked_id(str(record.get("id") or record.get("Id") or ""))
            prepared.append(dict(record))
        return prepared

    @staticmethod
    def _save_results(payload: Any, all_or_none: bool) -> list[SaveResult]:
        results = [SaveResult.from_json(item) for item in payload or []]
        if all_or_none and not all(result.success for result in results):
            error = SalesforceCollectionError(results, [e for result in results for e in result.errors])
            logger.warning("Salesforce composite/sobjects rolled back: %s", error)
            raise error
        return results

    # --- typed operations -----------------------------------------------------------------------
    # Each reads the fields its record declares (``ATTRIBUTES``), named through the field map, and
    # quotes every value with ``format_soql``: nothing a customer typed is ever read as SOQL.

    def order_with_items(self, order_id: str) -> SalesforceOrder:
        """The Order and its OrderItems in ONE API call (a Composite: the record and the query).

        Raises ``SalesforceNotFound`` when Salesforce has no such Order (without a call when
        ``order_id`` is not a record id) and ``SalesforceUnknownPicklistValue`` for a picklist
        value the field map does not know.
        """
        if not is_salesforce_id(order_id):
            raise SalesforceNotFound(f"{order_id!r} is not a Salesforce record id.")
        field_map = get_field_map()
        items_soql = format_soql(
            "SELECT {fields:literal} FROM OrderItem WHERE {order_field:literal} = {order_id} ORDER BY Id",
            fields=_select(field_map, "OrderItem", SalesforceOrderItem.ATTRIBUTES),
            order_field=field_map.field("OrderItem", "order_id"),
            order_id=order_id,
        )
        order_fields = ["Id", *field_map.fields("Order", *SalesforceOrder.ATTRIBUTES)]
        result = self.composite(
            [
                CompositeSubrequest.read("Order", order_id, "order", order_fields),
                CompositeSubrequest.query(items_soql, "items"),
            ],
            all_or_none=False,
        )
        order, items = result["order"], result["items"]
        if order.status_code == 404:
            raise SalesforceNotFound(f"Salesforce has no Order {order_id}.", status=404, errors=order.errors)
        for reference, response in (("order", order), ("items", items)):
            if not response.ok:
                raise error_for_response(
                    response.status_code, response.errors, context=f"composite GET {reference}"
                )
        return SalesforceOrder.from_values(
            order.body["Id"],
            _portal_values(field_map, "Order", order.body),
            [
                SalesforceOrderItem.from_values(row["Id"], _portal_values(field_map, "OrderItem", row))
                for row in items.body.get("records", [])
            ],
        )

    def find_account_by_customer_number(self, customer_number: str) -> SalesforceAccount | None:
        """The one Account with this customer number, or None when there is none or more than one
        (a number that names several Accounts identifies no customer). One API call."""
        field_map = get_field_map()
        soql = format_soql(
            "SELECT {fields:literal} FROM Account WHERE {number_field:literal} = {number} LIMIT 2",
            fields=_select(field_map, "Account", SalesforceAccount.ATTRIBUTES),
            number_field=field_map.field("Account", "customer_number"),
            number=customer_number,
        )
        rows = self.query(soql)
        if len(rows) != 1:
            return None
        return SalesforceAccount.from_values(rows[0]["Id"], _portal_values(field_map, "Account", rows[0]))

    def find_contact(self, *, account_id: str, email: str) -> SalesforceContact | None:
        """A Contact of the Account with this email address, or None. One API call."""
        field_map = get_field_map()
        soql = format_soql(
            "SELECT {fields:literal} FROM Contact"
            " WHERE {account_field:literal} = {account_id} AND {email_field:literal} = {email} LIMIT 1",
            fields=_select(field_map, "Contact", SalesforceContact.ATTRIBUTES),
            account_field=field_map.field("Contact", "account_id"),
            account_id=account_id,
            email_field=field_map.field("Contact", "email"),
            email=email,
        )
        rows = self.query(soql)
        if not rows:
            return None
        return SalesforceContact.from_values(rows[0]["Id"], _portal_values(field_map, "Contact", rows[0]))

    # --- reconciliation reads -------------------------------------------------------------------
    # What changed in Salesforce since a cursor (inclusive, on ``SystemModstamp``; None reads
    # everything), oldest first: the inbound sync jobs of the domain apps mirror these.

    def accounts_modified_since(self, since: datetime | None) -> list[SalesforceAccount]:
        """Accounts changed since ``since``. A picklist value the field map does not know raises
        ``SalesforceUnknownPicklistValue``."""
        field_map = get_field_map()
        modstamp = field_map.field("Account", "modified_at")
        rows = self.query(
            f"SELECT {_select(field_map, 'Account', SalesforceAccount.ATTRIBUTES)} FROM Account"
            f"{_since(modstamp, since)} ORDER BY {modstamp}"
        )
        return [
            SalesforceAccount.from_values(row["Id"], _portal_values(field_map, "Account", row))
            for row in rows
        ]

    def accounts_by_ids(self, account_ids: Sequence[str]) -> list[SalesforceAccount]:
        """The named Accounts (ids not of Salesforce's form are skipped), as
        :meth:`accounts_modified_since` reads them."""
        field_map = get_field_map()
        return [
            SalesforceAccount.from_values(row["Id"], _portal_values(field_map, "Account", row))
            for row in self.records_by_ids(
                "Account", field_map.fields("Account", *SalesforceAccount.ATTRIBUTES), account_ids
            )
        ]

    def records_by_ids(self, sobject: str, fields: Sequence[str], record_ids: Sequence[str]) -> list[dict]:
        """The named records of ``sobject`` with ``fields`` (API names, from the field map) and
        their Id, 200 per query; ids not of Salesforce's form are skipped. The change event
        mirrors map the Salesforce names themselves, as they do the fields an event carries."""
        ids = [record_id for record_id in dict.fromkeys(record_ids) if is_salesforce_id(record_id)]
        selected = ", ".join(_checked_name(name) for name in dict.fromkeys(["Id", *fields]))
        records: list[dict] = []
        for start in range(0, len(ids), MAX_COLLECTION_RECORDS):
            literals = _soql_literal(ids[start : start + MAX_COLLECTION_RECORDS])
            records += self.query(f"SELECT {selected} FROM {_checked_name(sobject)} WHERE Id IN {literals}")
        return records

    def records_modified_since(
        self,
        sobject: str,
        fields: Sequence[str],
        since: datetime | None,
        *,
        modstamp_field: str = "SystemModstamp",
    ) -> list[dict]:
        """Records of ``sobject`` changed since ``since`` (all when None), oldest first, with
        ``fields`` (API names) and their Id: what :meth:`records_by_ids` reads, by time."""
        selected = ", ".join(_checked_name(name) for name in dict.fromkeys(["Id", *fields]))
        modstamp = _checked_name(modstamp_field)
        return self.query(
            f"SELECT {selected} FROM {_checked_name(sobject)}{_since(modstamp, since)} ORDER BY {modstamp}"
        )

    def products_modified_since(self, since: datetime | None) -> list[SalesforceProduct]:
        """Product2 records changed since ``since``, selecting the optional fields the org has
        (``describe``); a field deleted since the org was described is noticed
        (``INVALID_FIELD``) and the object described again, once. An unknown product type raises
        ``SalesforceUnknownPicklistValue``; an unknown Product Family reads as no type."""
        from . import describe  # describe reads through the gateway: imported when used

        field_map = get_field_map()
        for attempt in (1, 2):
            product_fields = describe.available_attributes(self, field_map, "Product2")
            modstamp = product_fields["modified_at"]
            soql = (
                f"SELECT Id, {', '.join(sorted(set(product_fields.values())))} FROM Product2"
                f"{_since(modstamp, since)} ORDER BY {modstamp}"
            )
            try:
                rows = self.query(soql)
            except SalesforceMalformedRequest as exc:
                if exc.error_code != "INVALID_FIELD" or attempt == 2:
                    raise
                describe.forget("Product2")
                continue
            return [SalesforceProduct.from_values(row["Id"], _product_values(field_map, row)) for row in rows]
        raise AssertionError("unreachable")  # pragma: no cover

    def standard_prices(self, product_ids: Sequence[str]) -> dict[str, Decimal]:
        """Each product's active price in the org's standard price book (products without one
        are missing); one query for the price book, then one per 200 products."""
        if not product_ids:
            return {}
        field_map = get_field_map()
        is_standard = field_map.field("Pricebook2", "is_standard")
        books = self.query(f"SELECT Id FROM Pricebook2 WHERE {is_standard} = true LIMIT 1")
        if not books:
            return {}
        pricebook_id, product_id, unit_price, is_active = field_map.fields(
            "PricebookEntry", "pricebook_id", "product_id", "unit_price", "is_active"
        )
        prices: dict[str, Decimal] = {}
        for start in range(0, len(product_ids), MAX_COLLECTION_RECORDS):
            ids = _soql_literal(list(product_ids[start : start + MAX_COLLECTION_RECORDS]))
            soql = (
                f"SELECT {product_id}, {unit_price} FROM PricebookEntry WHERE {is_active} = true"
                f" AND {pricebook_id} = {_soql_literal(books[0]['Id'])} AND {product_id} IN {ids}"
            )
            for row in self.query(soql):
                prices[row[product_id]] = Decimal(str(row[unit_price]))
        return prices

    def cases_modified_since(self, since: datetime, *, origin: str) -> list[SalesforceCase]:
        """Cases of ``origin`` (the portal's value) changed since ``since``."""
        field_map = get_field_map()
        modstamp = field_map.field("Case", "modified_at")
        origin_value = field_map.to_salesforce("Case", "origin", origin)
        rows = self.query(
            f"SELECT {_select(field_map, 'Case', SalesforceCase.ATTRIBUTES)} FROM Case"
            f"{_since(modstamp, since)} AND {field_map.field('Case', 'origin')} = {_soql_literal(origin_value)}"
            f" ORDER BY {modstamp}"
        )
        status_field = field_map.field("Case", "status")
        cases = []
        for row in rows:
            # The status is translated on its own: a value the portal does not know must not
            # stop the rest of the record.
            values = field_map.from_record("Case", {k: v for k, v in row.items() if k != status_field})
            status: str | None
            try:
                status = field_map.from_salesforce("Case", "status", row.get(status_field))
            except ValueError:
                status = None
            cases.append(
                SalesforceCase(
                    id=row["Id"],
                    case_number=str(values.get("case_number") or ""),
                    status=status,
                    unknown_status="" if status is not None else str(row.get(status_field)),
                    modified_at=parse_salesforce_datetime(values.get("modified_at")),
                )
            )
        return cases

    def case_comments_modified_since(self, since: datetime) -> list[SalesforceCaseComment]:
        """CaseComments (of any Case) changed since ``since``."""
        field_map = get_field_map()
        modstamp = field_map.field("CaseComment", "modified_at")
        rows = self.query(
            f"SELECT {_select(field_map, 'CaseComment', SalesforceCaseComment.ATTRIBUTES)} FROM CaseComment"
            f"{_since(modstamp, since)} ORDER BY {modstamp}"
        )
        return [
            SalesforceCaseComment.from_values(row["Id"], _portal_values(field_map, "CaseComment", row))
            for row in rows
        ]

    # --- orphan lookups -------------------------------------------------------------------------

    def accounts_by_registration_source(
        self, *, sources: Sequence[str], created_before: datetime
    ) -> Iterator[SourcedAccount]:
        """Accounts whose registration source is one of ``sources`` (the portal's values) and
        that were created before ``created_before``, oldest first; one API call per 2,000."""
        field_map = get_field_map()
        number_field = field_map.field("Account", "customer_number")
        soql = format_soql(
            "SELECT Id, {:literal}, CreatedDate FROM Account WHERE {:literal} IN {} AND CreatedDate < {} "
            "ORDER BY CreatedDate, Id",
            number_field,
            field_map.field("Account", "registration_source"),
            [field_map.to_salesforce("Account", "registration_source", source) for source in sources],
            created_before,
        )
        for record in self.query_iter(soql, batch_size=2000):
            yield SourcedAccount(
                account_id=str(record["Id"]),
                customer_number=str(record.get(number_field) or ""),
                created_at=parse_salesforce_datetime(record.get("CreatedDate")),
            )

    def account_contacts(self, account_ids: Sequence[str]) -> dict[str, AccountContact]:
        """The oldest Contact of each Account that has one; one query per 200 Accounts."""
        field_map = get_field_map()
        account_field, email_field = field_map.fields("Contact", "account_id", "email")
        contacts: dict[str, AccountContact] = {}
        ids = [_checked_id(account_id) for account_id in account_ids]
        for start in range(0, len(ids), MAX_COLLECTION_RECORDS):
            soql = format_soql(
                "SELECT Id, {:literal}, {:literal} FROM Contact WHERE {:literal} IN {} ORDER BY CreatedDate, Id",
                account_field,
                email_field,
                account_field,
                ids[start : start + MAX_COLLECTION_RECORDS],
            )
            for record in self.query(soql):
                contacts.setdefault(
                    str(record[account_field]),
                    AccountContact(contact_id=str(record["Id"]), email=str(record.get(email_field) or "")),
                )
        return contacts

    def account_dependents(self, account_id: str) -> AccountDependents | None:
        """How many Opportunities, Orders and Cases hang on the Account, in ONE Composite call;
        None when Salesforce has no such Account (deleted, or never created)."""
        _checked_id(account_id)
        field_map = get_field_map()
        queries = {
            "account": format_soql("SELECT COUNT() FROM Account WHERE Id = {}", account_id),
            **{
                reference: format_soql(
                    "SELECT COUNT() FROM {:literal} WHERE {:literal} = {}",
                    sobject,
                    field_map.field(sobject, "account_id"),
                    account_id,
                )
                for reference, sobject in (
                    ("opportunities", "Opportunity"),
                    ("orders", "Order"),
                    ("cases", "Case"),
                )
            },
        }
        result = self.composite(
            [CompositeSubrequest.query(soql, reference) for reference, soql in queries.items()],
            all_or_none=False,
        )
        for failure in result.failures:
            raise error_for_response(
                failure.status, failure.errors, context=f"composite GET {failure.reference_id}"
            )
        counts = {reference: int(result[reference].body["totalSize"]) for reference in queries}
        if not counts["account"]:
            return None
        return AccountDependents(
            opportunities=counts["opportunities"], orders=counts["orders"], cases=counts["cases"]
        )

    # --- describe -------------------------------------------------------------------------------

    def describe_global(self) -> dict[str, Any]:
        """The org's objects (``GET …/sobjects/``): ``{"encoding", "maxBatchSize", "sobjects": [...]}``,
        platform events (``…__e``) and change event entities (``<Object>ChangeEvent``) included."""
        result: Any = self._call(lambda sf: sf.describe(), context="GET describe global")
        return dict(result or {})

    def describe(self, sobject: str) -> dict[str, Any]:
        """One object's describe (``GET …/sobjects/<Object>/describe``): its ``fields`` with their
        ``type`` and ``picklistValues``. An object the org lacks raises ``SalesforceNotFound``."""
        name = _checked_name(sobject)
        result: Any = self._call(
            lambda sf: sf.restful(f"sobjects/{name}/describe"), context=f"GET describe {name}"
        )
        return dict(result or {})

    def tooling_query(self, soql: str) -> list[dict]:
        """A Tooling API query (``GET …/tooling/query?q=``): setup objects such as
        ``PlatformEventChannelMember``; one page, without ``attributes``."""
        result: Any = self._call(
            lambda sf: sf.restful("tooling/query", params={"q": soql}), context="GET tooling query"
        )
        return [_strip_attributes(record) for record in (result or {}).get("records", [])]

    # --- limits ---------------------------------------------------------------------------------

    def limits(self) -> dict[str, Any]:
        """The org's limits (``DailyApiRequests`` and friends)."""
        return dict(self._call(lambda sf: sf.limits(), context="GET limits"))


def _query_more(sf: simple_salesforce.Salesforce, *, url: str, headers: dict[str, str]) -> Any:
    return sf.query_more(url, identifier_is_url=True, headers=headers)


def _strip_attributes(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "attributes"}


def _select(field_map: FieldMap, sobject: str, attributes: Sequence[str]) -> str:
    """A SOQL field list: the Id and the API names of ``attributes``."""
    return ", ".join(["Id", *field_map.fields(sobject, *attributes)])


def _since(modstamp: str, since: datetime | None) -> str:
    """`` WHERE <modstamp> >= <since>``, or nothing when everything is read."""
    return "" if since is None else f" WHERE {modstamp} >= {_soql_literal(since)}"


def _product_values(field_map: FieldMap, record: Mapping[str, Any]) -> dict[str, Any]:
    """A Product2's portal values; the product type falls back to the standard Product Family
    when the org has no Product_Type__c (or leaves it empty)."""
    family = field_map.field("Product2", "product_family")
    values = _portal_values(
        field_map, "Product2", {key: value for key, value in record.items() if key != family}
    )
    if not values.get("product_type"):
        try:
            values["product_type"] = field_map.from_salesforce(
                "Product2", "product_family", record.get(family)
            )
        except ValueError:
            values["product_type"] = ""
    return values


def _portal_values(field_map: FieldMap, sobject: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's mapped fields in portal names and values (see ``FieldMap.from_record``)."""
    try:
        return field_map.from_record(sobject, record)
    except ValueError as exc:
        raise SalesforceUnknownPicklistValue(str(exc)) from exc


def get_gateway(*, timeout_seconds: float | None = None) -> SalesforceGateway:
    """A gateway configured from ``settings.SALESFORCE`` on the process-wide session;
    ``timeout_seconds`` shortens its requests' timeout (a step run while a customer waits)."""
    config = SalesforceConfig.from_settings()
    if timeout_seconds is not None:
        config = dataclasses.replace(config, timeout_seconds=timeout_seconds)
    return SalesforceGateway(config=config, session_provider=get_session)
