"""The emulator's wire behaviour, independent of the HTTP server: OAuth token, REST data API.

``RestApi.handle`` takes a parsed request and returns a ``Response``; ``http_server`` only moves
bytes. Every ``/services/data/vXX.X/...`` response carries ``Sforce-Limit-Info``; Composite
subrequests are dispatched through the same code without being counted, so a Composite request
costs one API call, as in Salesforce.

Emulator-only relaxation: ``Sforce-Query-Options: batchSize=N`` accepts any N from 1 to 2000
(Salesforce's minimum is 200) so tests can page through a handful of records.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from . import soql
from .faults import FailureRule, FaultInjector
from .objects import QUERY_LOCATOR_PREFIX
from .schema import CHANGE_EVENT_SUPPORTED, OBJECT_TYPES, SYSTEM_FIELDS, Field, change_event_name
from .store import RestError, SalesforceStore, not_found

logger = logging.getLogger(__name__)

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_BATCH_SIZE = 2000
MAX_BATCH_SIZE = 2000
MAX_COMPOSITE_SUBREQUESTS = 25
MAX_COLLECTION_RECORDS = 200
ASSERTION_MAX_LIFETIME_SECONDS = 180
CLOCK_SKEW_SECONDS = 10
MAX_OPEN_CURSORS = 500
SUPPORTED_VERSIONS = ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")

_DATA_PATH_RE = re.compile(r"^/services/data/v(\d+\.\d+)(?:/(.*))?$")
_REFERENCE_RE = re.compile(r"@\{([A-Za-z][A-Za-z0-9_]*)\.([^}]+)\}")
_PATH_PART_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_REFERENCE_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")

_SYSTEM_FIELD_TYPES = {
    "IsDeleted": "boolean",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
    "CreatedById": "reference",
    "LastModifiedById": "reference",
}

HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."
ROLLED_BACK_MESSAGE = (
    "Record rolled back because not all records were valid and the request was using AllOrNone header"
)


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"
    drop_connection: bool = False
    """Close the connection instead of sending this answer (an injected lost answer)."""

    @classmethod
    def error(cls, error: RestError) -> Response:
        return cls(error.status, error.as_json())

    def encoded_body(self) -> bytes:
        if self.status == 204 or self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass
class _Cursor:
    endpoint: str
    records: list[dict[str, Any]]
    batch_size: int


class _UnresolvedReference(Exception):
    pass


class RestApi:
    """OAuth token endpoint and REST data API of one emulated org."""

    def __init__(
        self,
        store: SalesforceStore,
        faults: FaultInjector,
        *,
        consumer_key: str,
        username: str,
        public_key_pem: bytes,
        base_url: Callable[[], str],
        extra_audiences: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.faults = faults
        self.consumer_key = consumer_key
        self.username = username
        self.public_key_pem = public_key_pem
        self._base_url = base_url
        self.extra_audiences = extra_audiences
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._cursor_lock = threading.Lock()

    # --- entry point ----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes) -> Response:
        """Answer one HTTP request (``target`` is the path plus query string, ``headers`` name/value pairs)."""
        return self._handle(method, target, {name.lower(): value for name, value in headers}, body)

    def _handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        parts = urlsplit(target)
        path = parts.path
        params = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        decision = self.faults.decide(method, path)
        if decision.delay_seconds:
            time.sleep(decision.delay_seconds)
        if decision.failure is not None:
            return self._injected_failure(decision.failure, path)
        if path == "/services/oauth2/token":
            if method != "POST":
                return Response(
                    405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method not allowed"}]
                )
            return self._token(body)
        if path.rstrip("/") == "/services/data" and method == "GET":
            return Response(
                200,
                [
                    {"label": "Emulator", "url": f"/services/data/v{v}", "version": v}
                    for v in SUPPORTED_VERSIONS
                ],
            )
        match = _DATA_PATH_RE.match(path)
        if match is None:
            return Response.error(not_found())
        response = self._data_request(
            method, match.group(1), (match.group(2) or "").strip("/"), params, headers, body
        )
        if decision.lose_answer:
            response.drop_connection = True
        return response

    def _injected_failure(self, failure: FailureRule, path: str) -> Response:
        response = (
            Response(
                failure.status, {"error": failure.error_code.lower(), "error_description": failure.message}
            )
            if path.startswith("/services/oauth2/")
            else Response(failure.status, [{"message": failure.message, "errorCode": failure.error_code}])
        )
        if _DATA_PATH_RE.match(path):
            response.headers["Sforce-Limit-Info"] = self._limit_info()
        return response

    def _limit_info(self) -> str:
        used, maximum = self.store.api_usage
        return f"api-usage={used}/{maximum}"

    # --- OAuth JWT bearer -----------------------------------------------------------------------

    def _audiences(self) -> list[str]:
        base = self._base_url().rstrip("/")
        port = urlsplit(base).port
        hosts = {urlsplit(base).hostname or "127.0.0.1", "127.0.0.1", "localhost"}
        audiences = {base, *self.extra_audiences}
        audiences.update(f"https://{host}:{port}" for host in hosts)
        return sorted(audiences | {f"{aud}/" for aud in audiences})

    def _token(self, body: bytes) -> Response:
        form = {key: values[-1] for key, values in parse_qs(body.decode(errors="replace")).items()}

        def refuse(error: str, description: str) -> Response:
            logger.info("Salesforce emulator refused a token request: %s (%s)", error, description)
            return Response(400, {"error": error, "error_description": description})

        if form.get("grant_type") != JWT_BEARER_GRANT:
            return refuse("unsupported_grant_type", "grant type not supported")
        assertion = form.get("assertion")
        if not assertion:
            return refuse("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self.public_key_pem,
                algorithms=["RS256"],
                audience=self._audiences(),
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return refuse("invalid_grant", "expired authorization code")
        except jwt.InvalidAudienceError:
            return refuse("invalid_grant", "audience is invalid")
        except jwt.PyJWTError:
            return refuse("invalid_grant", "invalid assertion")
        if claims["iss"] != self.consumer_key:
            return refuse("invalid_client_id", "client identifier invalid")
        if claims["sub"] != self.username:
            return refuse("invalid_grant", "user hasn't approved this consumer")
        try:
            expires = float(claims["exp"])
        except (TypeError, ValueError):
            return refuse("invalid_grant", "invalid assertion")
        if expires > time.time() + ASSERTION_MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
            return refuse("invalid_grant", "invalid assertion: exp is more than 3 minutes ahead")

        token = self.store.issue_token()
        base = self._base_url().rstrip("/")
        return Response(
            200,
            {
                "access_token": token,
                "scope": "api",
                "instance_url": base,
                "id": f"{base}/id/{self.store.org_id}/{self.store.user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            },
        )

    # --- REST data API --------------------------------------------------------------------------

    def _data_request(
        self,
        method: str,
        version: str,
        rest: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        response = self._authorized_data_request(method, version, rest, params, headers, body)
        response.headers["Sforce-Limit-Info"] = self._limit_info()
        return response

    def _authorized_data_request(
        self,
        method: str,
        version: str,
        rest: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self.store.validate_token(token.strip()):
            return Response(
                401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        if self.store.api_limit_exhausted:
            return Response(
                403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            )
        self.store.count_call(_call_kind(rest))
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError:
            return Response(
                400, [{"message": "The request body is not valid JSON", "errorCode": "JSON_PARSER_ERROR"}]
            )
        with self.store.change_context(origin=change_origin(version, headers)):
            return self.dispatch(method, version, rest, params, payload, headers)

    def dispatch(
        self,
        method: str,
        version: str,
        rest: str,
        params: Mapping[str, str],
        payload: Any,
        headers: Mapping[str, str],
        *,
        in_composite: bool = False,
    ) -> Response:
        """Route one authorised request below ``/services/data/vXX.X/`` (also Composite steps)."""
        segments = [segment for segment in rest.split("/") if segment]
        head = segments[0] if segments else ""
        try:
            if head in ("query", "queryAll"):
                if method != "GET":
                    raise _method_not_allowed()
                if len(segments) == 2:
                    return self._query_more(segments[1])
                return self._query(params.get("q", ""), version, head, headers)
            if head == "sobjects":
                return self._sobjects(method, version, segments[1:], params, payload)
            if head == "composite" and segments[1:] == ["sobjects"]:
                return self._collections(method, params, payload)
            if head == "composite" and len(segments) == 1 and not in_composite:
                if method != "POST":
                    raise _method_not_allowed()
                return self._composite(version, payload, headers)
            if head == "tooling" and segments[1:] == ["query"] and not in_composite:
                if method != "GET":
                    raise _method_not_allowed()
                return self._tooling_query(params.get("q", ""), version)
            if head == "limits" and len(segments) == 1 and not in_composite:
                return Response(200, self._limits())
            raise not_found()
        except RestError as error:
            return Response.error(error)
        except soql.SoqlError as error:
            return Response(400, [{"message": error.message, "errorCode": error.error_code}])

    # --- query ----------------------------------------------------------------------------------

    def _query(self, text: str, version: str, endpoint: str, headers: Mapping[str, str]) -> Response:
        query = soql.parse(text)
        sobject, fields, rows = self.store.select(query, include_deleted=endpoint == "queryAll")
        if query.count_only:
            return Response(200, {"totalSize": len(rows), "done": True, "records": []})
        records = [self._render(sobject, row, version, fields) for row in rows]
        batch_size = _batch_size(headers.get("sforce-query-options", ""))
        if len(records) <= batch_size:
            return Response(200, {"totalSize": len(records), "done": True, "records": records})
        locator = f"{QUERY_LOCATOR_PREFIX}{uuid.uuid4().hex[:12]}"
        with self._cursor_lock:
            self._cursors[locator] = _Cursor(f"/services/data/v{version}/{endpoint}", records, batch_size)
            while len(self._cursors) > MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)
        return Response(200, self._page(locator, 0))

    def _tooling_query(self, text: str, version: str) -> Response:
        """``GET …/tooling/query?q=``: only ``PlatformEventChannelMember``, the objects selected for
        Change Data Capture on the standard ``ChangeEvents`` channel (``DeveloperName``
        ``ChangeEvents_<Entity>``, ``EventChannel``, ``SelectedEntity``)."""
        query = soql.parse(text)
        if query.sobject.lower() != "platformeventchannelmember":
            raise soql.SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported by this emulator's Tooling API.",
            )
        columns = ("Id", "DeveloperName", "EventChannel", "SelectedEntity")

        def resolve(name: str) -> str:
            for column in columns:
                if column.lower() == name.lower():
                    return column
            raise soql.SoqlError(
                "INVALID_FIELD", f"No such column '{name}' on entity 'PlatformEventChannelMember'."
            )

        rows = [
            {
                "Id": f"0v8{index:015d}",
                "DeveloperName": f"ChangeEvents_{change_event_name(entity)}",
                "EventChannel": "ChangeEvents",
                "SelectedEntity": change_event_name(entity),
            }
            for index, entity in enumerate(self.store.change_event_entities(), start=1)
        ]
        if query.where is not None:
            matches = soql.compile_condition(query.where, resolve)
            rows = [row for row in rows if matches(row)]
        selected = [resolve(name) for name in query.fields]
        records = [
            {
                "attributes": {
                    "type": "PlatformEventChannelMember",
                    "url": f"/services/data/v{version}/tooling/sobjects/PlatformEventChannelMember/{row['Id']}",
                },
                **{name: row[name] for name in selected},
            }
            for row in rows
        ]
        return Response(
            200, {"size": len(records), "totalSize": len(records), "done": True, "records": records}
        )

    def _query_more(self, locator_and_offset: str) -> Response:
        locator, _, offset = locator_and_offset.rpartition("-")
        with self._cursor_lock:
            known = locator in self._cursors
        if not known or not offset.isdigit():
            raise RestError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return Response(200, self._page(locator, int(offset)))

    def _page(self, locator: str, offset: int) -> dict[str, Any]:
        with self._cursor_lock:
            cursor = self._cursors[locator]
            end = offset + cursor.batch_size
            done = end >= len(cursor.records)
            page: dict[str, Any] = {"totalSize": len(cursor.records), "done": done}
            if done:
                self._cursors.pop(locator, None)
            else:
                page["nextRecordsUrl"] = f"{cursor.endpoint}/{locator}-{end}"
            page["records"] = cursor.records[offset:end]
            return page

    def _render(
        self, sobject: str, record: Mapping[str, Any], version: str, fields: tuple[str, ...] | None = None
    ) -> dict[str, Any]:
        record_url = f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"
        rendered: dict[str, Any] = {"attributes": {"type": sobject, "url": record_url}}
        for name in fields if fields is not None else record.keys():
            value = record.get(name)
            if sobject == "ContentVersion" and name == "VersionData" and value is not None:
                value = f"{record_url}/VersionData"
            rendered[name] = value
        return rendered

    # --- sObjects -------------------------------------------------------------------------------

    def _sobjects(
        self, method: str, version: str, segments: list[str], params: Mapping[str, str], payload: Any
    ) -> Response:
        if not segments:
            if method != "GET":
                raise _method_not_allowed()
            return Response(200, self._describe_global(version))
        event = self._event_entity(segments[0])
        if event is not None:
            # Platform events and change events: describable, not records the REST API reads.
            if segments[1:] == ["describe"] and method == "GET":
                return Response(200, event(version))
            if len(segments) == 1 and method == "GET":
                return Response(200, {"objectDescribe": event(version), "recentItems": []})
            raise not_found()
        sobject = self.store.object_name(segments[0])
        if len(segments) == 1:
            if method == "POST":
                if not isinstance(payload, dict):
                    raise RestError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
                record = self.store.insert(sobject, payload)
                return Response(201, {"id": record["Id"], "success": True, "errors": []})
            if method == "GET":
                return Response(200, {"objectDescribe": self._describe(sobject, version), "recentItems": []})
            raise _method_not_allowed()
        if len(segments) == 2 and segments[1] == "describe" and method == "GET":
            return Response(200, self._describe(sobject, version))
        record_id = segments[1]
        if (
            len(segments) == 3
            and segments[2] == "VersionData"
            and sobject == "ContentVersion"
            and method == "GET"
        ):
            _, record = self.store.fetch(sobject, record_id)
            return Response(
                200, base64.b64decode(record["VersionData"]), content_type="application/octet-stream"
            )
        if len(segments) != 2:
            raise not_found()
        if method == "GET":
            name, record = self.store.fetch(sobject, record_id)
            fields = None
            if params.get("fields"):
                fields = tuple(
                    self.store.canonical_field(name, field_name.strip())
                    for field_name in params["fields"].split(",")
                    if field_name.strip()
                )
                fields = ("Id", *[name for name in fields if name != "Id"])
            return Response(200, self._render(name, record, version, fields))
        if method == "PATCH":
            if not isinstance(payload, dict):
                raise RestError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
            self.store.update(sobject, record_id, payload)
            return Response(204)
        if method == "DELETE":
            self.store.delete(sobject, record_id)
            return Response(204)
        raise _method_not_allowed()

    def _describe(self, sobject: str, version: str) -> dict[str, Any]:
        """The org's schema of ``sobject`` in the describe call's shape (the parts the emulator keeps)."""
        obj = OBJECT_TYPES[sobject]
        system = [
            _field_describe(name, "id" if name == "Id" else _SYSTEM_FIELD_TYPES.get(name, "string"),
                            nillable=False)
            for name in SYSTEM_FIELDS
        ]  # fmt: skip
        declared = [
            _field_describe(
                item.name,
                item.type,
                label=item.display_label,
                custom=item.custom,
                nillable=item.name not in obj.required and item.type != "boolean",
                picklist=self.store.picklist_values(sobject, item.name),
                restricted=item.restricted,
                reference_to=item.reference_to,
            )
            for item in self.store.field_definitions(sobject)
        ]
        return {
            **_object_summary(obj.name, obj.key_prefix, version, custom=False, kind="object"),
            "fields": system + declared,
        }

    def _event_entity(self, name: str) -> Callable[[str], dict[str, Any]] | None:
        """The describe of a platform event or change event entity named ``name``, if the org has it."""
        lower = name.lower()
        for event, fields in self.store.platform_events().items():
            if event.lower() == lower:
                return functools.partial(self._describe_platform_event, event, fields)
        for entity in CHANGE_EVENT_SUPPORTED:
            if change_event_name(entity).lower() == lower:
                return functools.partial(self._describe_change_event, entity)
        return None

    @staticmethod
    def _describe_platform_event(name: str, fields: tuple[Field, ...], version: str) -> dict[str, Any]:
        system = [
            _field_describe("ReplayId", "string"),
            _field_describe("CreatedDate", "datetime", nillable=False),
            _field_describe("CreatedById", "reference", nillable=False),
            _field_describe("EventUuid", "string"),
        ]
        declared = [
            _field_describe(item.name, item.type, label=item.display_label, custom=True) for item in fields
        ]
        return {
            **_object_summary(name, "e00", version, custom=True, kind="platform_event"),
            "fields": system + declared,
        }

    def _describe_change_event(self, entity: str, version: str) -> dict[str, Any]:
        header = _field_describe("ChangeEventHeader", "complexvalue", nillable=False)
        fields = [
            _field_describe(item.name, item.type, label=item.display_label, custom=item.custom)
            for item in self.store.field_definitions(entity)
        ]
        return {
            **_object_summary(change_event_name(entity), None, version, custom=False, kind="change_event"),
            "fields": [_field_describe("Id", "id", nillable=False), _field_describe("ReplayId", "string"),
                       header, *fields],
        }  # fmt: skip

    def _describe_global(self, version: str) -> dict[str, Any]:
        """The global describe: the org's objects, its platform events (``…__e``) and a change event
        entity (``<Object>ChangeEvent``) for each object that supports Change Data Capture, whether
        selected or not (the selection is in the Tooling API, see ``_tooling_query``)."""
        objects = [
            _object_summary(obj.name, obj.key_prefix, version, custom=False, kind="object")
            for obj in OBJECT_TYPES.values()
        ]
        events = [
            _object_summary(name, "e00", version, custom=True, kind="platform_event")
            for name in self.store.platform_events()
        ]
        changes = [
            _object_summary(change_event_name(entity), None, version, custom=False, kind="change_event")
            for entity in CHANGE_EVENT_SUPPORTED
        ]
        return {
            "encoding": "UTF-8",
            "maxBatchSize": MAX_COLLECTION_RECORDS,
            "sobjects": objects + events + changes,
        }

    # --- composite ------------------------------------------------------------------------------

    def _composite(self, version: str, payload: Any, headers: Mapping[str, str]) -> Response:
        if not isinstance(payload, dict) or not isinstance(payload.get("compositeRequest"), list):
            raise RestError(400, "INVALID_API_INPUT", "compositeRequest is required")
        subrequests: list[Any] = payload["compositeRequest"]
        if not 1 <= len(subrequests) <= MAX_COMPOSITE_SUBREQUESTS:
            raise RestError(
                400,
                "INVALID_API_INPUT",
                f"compositeRequest takes 1 to {MAX_COMPOSITE_SUBREQUESTS} subrequests",
            )
        seen: set[str] = set()
        for sub in subrequests:
            if not isinstance(sub, dict) or not all(
                isinstance(sub.get(key), str) for key in ("method", "url", "referenceId")
            ):
                raise RestError(400, "INVALID_API_INPUT", "each subrequest needs method, url and referenceId")
            if not _REFERENCE_ID_RE.match(sub["referenceId"]) or sub["referenceId"] in seen:
                raise RestError(
                    400, "INVALID_API_INPUT", f"invalid or duplicate referenceId {sub['referenceId']!r}"
                )
            seen.add(sub["referenceId"])
        all_or_none = bool(payload.get("allOrNone", False))

        executed: list[tuple[str, Response]] = []
        failed_at: int | None = None
        with self.store.atomic() as tx:
            for index, sub in enumerate(subrequests):
                response = self._composite_step(version, sub, dict(executed), headers)
                executed.append((sub["referenceId"], response))
                if all_or_none and response.status >= 400:
                    tx.rollback()
                    failed_at = index
                    break

        halted = Response(400, [{"errorCode": "PROCESSING_HALTED", "message": HALTED_MESSAGE}])
        results = []
        for index, sub in enumerate(subrequests):
            response = halted if failed_at is not None and index != failed_at else executed[index][1]
            results.append(
                {
                    "body": response.body,
                    "httpHeaders": {k: v for k, v in response.headers.items() if k != "Sforce-Limit-Info"},
                    "httpStatusCode": response.status,
                    "referenceId": sub["referenceId"],
                }
            )
        return Response(200, {"compositeResponse": results})

    def _composite_step(
        self, version: str, sub: dict[str, Any], previous: dict[str, Response], headers: Mapping[str, str]
    ) -> Response:
        try:
            url = _resolve_references(sub["url"], previous, in_url=True)
            body = _resolve_references(sub.get("body"), previous, in_url=False)
        except _UnresolvedReference as exc:
            return Response(400, [{"errorCode": "PROCESSING_HALTED", "message": str(exc)}])
        parts = urlsplit(url)
        match = _DATA_PATH_RE.match(parts.path)
        if match is None:
            return Response.error(
                RestError(400, "INVALID_API_INPUT", f"unsupported subrequest url {parts.path}")
            )
        rest = (match.group(2) or "").strip("/")
        params = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        extra_headers = sub.get("httpHeaders") or {}
        sub_headers = {**headers, **{str(name).lower(): str(value) for name, value in extra_headers.items()}}
        response = self.dispatch(
            sub["method"].upper(), match.group(1), rest, params, body, sub_headers, in_composite=True
        )
        if response.status == 201 and isinstance(response.body, dict) and response.body.get("id"):
            response.headers["Location"] = f"/services/data/v{match.group(1)}/{rest}/{response.body['id']}"
        return response

    # --- sObject Collections --------------------------------------------------------------------

    def _collections(self, method: str, params: Mapping[str, str], payload: Any) -> Response:
        if method == "DELETE":
            ids = [value for value in params.get("ids", "").split(",") if value]
            all_or_none = params.get("allOrNone", "false").lower() == "true"
            operations: list[tuple[str | None, Callable[[], str]]] = [
                (record_id, functools.partial(self._delete_any, record_id)) for record_id in ids
            ]
        elif method in ("POST", "PATCH"):
            if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
                raise RestError(400, "INVALID_API_INPUT", "records is required")
            ids = payload["records"]
            all_or_none = bool(payload.get("allOrNone", False))
            operations = [self._collection_operation(method, record) for record in payload["records"]]
        else:
            raise _method_not_allowed()
        if not 1 <= len(ids) <= MAX_COLLECTION_RECORDS:
            raise RestError(
                400, "INVALID_API_INPUT", f"a collection takes 1 to {MAX_COLLECTION_RECORDS} records"
            )

        results: list[dict[str, Any]] = []
        with self.store.atomic() as tx:
            for record_id, operation in operations:
                try:
                    results.append({"id": operation(), "success": True, "errors": []})
                except RestError as error:
                    failure: dict[str, Any] = {"success": False, "errors": [error.as_save_error()]}
                    if record_id is not None:
                        failure = {"id": record_id, **failure}
                    results.append(failure)
            if all_or_none and not all(result["success"] for result in results):
                tx.rollback()
                rolled_back = {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": ROLLED_BACK_MESSAGE,
                    "fields": [],
                }
                results = [
                    {"id": None, "success": False, "errors": [rolled_back]} if result["success"] else result
                    for result in results
                ]
        return Response(200, results)

    def _collection_operation(self, method: str, record: Any) -> tuple[str | None, Callable[[], str]]:
        def invalid(error: RestError) -> Callable[[], str]:
            def fail() -> str:
                raise error

            return fail

        if not isinstance(record, dict):
            return None, invalid(RestError(400, "JSON_PARSER_ERROR", "each record must be a JSON object"))
        attributes = record.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if not sobject:
            return None, invalid(RestError(400, "INVALID_TYPE", "Must specify a type in attributes"))
        fields = {key: value for key, value in record.items() if key != "attributes"}
        if method == "POST":
            if any(key.lower() == "id" for key in fields):
                return None, invalid(
                    RestError(
                        400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
                    )
                )
            return None, lambda: str(self.store.insert(sobject, fields)["Id"])
        record_id = next((str(value) for key, value in fields.items() if key.lower() == "id"), None)
        if not record_id:
            return None, invalid(
                RestError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            )
        changes = {key: value for key, value in fields.items() if key.lower() != "id"}
        return record_id, lambda: str(self.store.update(sobject, record_id, changes)["Id"])

    def _delete_any(self, record_id: str) -> str:
        self.store.delete_by_id(record_id)
        return record_id

    # --- limits ---------------------------------------------------------------------------------

    def _limits(self) -> dict[str, Any]:
        used, maximum = self.store.api_usage
        return {
            "DailyApiRequests": {"Max": maximum, "Remaining": max(maximum - used, 0)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            "FileStorageMB": {"Max": 2048, "Remaining": 2048},
            "HourlyPublishedPlatformEvents": {"Max": 250000, "Remaining": 250000},
            "DailyDeliveredPlatformEvents": {"Max": 50000, "Remaining": 50000},
        }


def _object_summary(
    name: str, key_prefix: str | None, version: str, *, custom: bool, kind: str
) -> dict[str, Any]:
    """One object of the global describe (and the head of its own describe): records are created,
    read and changed; platform events only published; change events only subscribed to."""
    record = kind == "object"
    url = f"/services/data/v{version}/sobjects/{name}"
    urls = {"sobject": url, "describe": f"{url}/describe"}
    if record:
        urls["rowTemplate"] = f"{url}/{{ID}}"
    elif kind == "platform_event":
        urls["eventSchema"] = f"{url}/eventSchema"
    return {
        "name": name,
        "label": name.removesuffix("__e").replace("_", " ") if custom else name,
        "labelPlural": name,
        "keyPrefix": key_prefix,
        "custom": custom,
        "customSetting": False,
        "createable": kind != "change_event",
        "updateable": record,
        "deletable": record,
        "undeletable": record,
        "queryable": record,
        "retrieveable": record,
        "searchable": record,
        "layoutable": record,
        "triggerable": True,
        "replicateable": record,
        "deprecatedAndHidden": False,
        "urls": urls,
    }


def _field_describe(
    name: str,
    type: str,
    *,
    label: str = "",
    custom: bool = False,
    nillable: bool = True,
    picklist: Iterable[str] = (),
    restricted: bool = False,
    reference_to: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A field of a describe result (the properties the emulator keeps)."""
    return {
        "name": name,
        "type": type,
        "label": label or name,
        "custom": custom,
        "nillable": nillable,
        "picklistValues": [
            {"value": value, "label": value, "active": True, "defaultValue": False} for value in picklist
        ],
        "restrictedPicklist": restricted,
        "referenceTo": list(reference_to or ()),
    }


def change_origin(version: str, headers: Mapping[str, str]) -> str:
    """Change Data Capture's ``changeOrigin`` of a REST call: ``com/salesforce/api/rest/<ver>``,
    plus ``;client=<name>`` when the call sent ``Sforce-Call-Options: client=<name>``."""
    origin = f"com/salesforce/api/rest/{version}"
    for option in headers.get("sforce-call-options", "").split(","):
        name, _, value = option.strip().partition("=")
        if name.strip() == "client" and value.strip():
            return f"{origin};client={value.strip()}"
    return origin


def _method_not_allowed() -> RestError:
    return RestError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")


def _call_kind(rest: str) -> str:
    head = rest.split("/", 1)[0]
    if head in ("query", "queryAll"):
        return "query"
    if head == "sobjects":
        return "sobject"
    if rest.rstrip("/") == "composite/sobjects":
        return "collections"
    if head == "composite":
        return "composite"
    if head == "limits":
        return "limits"
    return "other"


def _batch_size(options: str) -> int:
    """``batchSize=N`` from ``Sforce-Query-Options`` (emulator: any N from 1, capped at 2000)."""
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if not match:
        return DEFAULT_BATCH_SIZE
    return max(1, min(int(match.group(1)), MAX_BATCH_SIZE))


def _lookup(previous: dict[str, Response], reference: str, path: str) -> Any:
    response = previous.get(reference)
    if response is None or response.status >= 400:
        raise _UnresolvedReference(
            f"Invalid reference specified. No value for {reference}.{path} found in {reference}. "
            f"Provided referenceId ('{reference}') or field ('{path}') is invalid."
        )
    value: Any = response.body
    for name, index in _PATH_PART_RE.findall(path):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            raise _UnresolvedReference(
                f"Invalid reference specified. No value for {reference}.{path} found in {reference}."
            ) from None
    return value


def _resolve_references(value: Any, previous: dict[str, Response], *, in_url: bool) -> Any:
    """Replace ``@{ref.path}`` in strings; a string that is one whole reference keeps the value's type."""
    if isinstance(value, str):
        whole = _REFERENCE_RE.fullmatch(value)
        if whole and not in_url:
            return _lookup(previous, whole.group(1), whole.group(2))
        return _REFERENCE_RE.sub(lambda m: str(_lookup(previous, m.group(1), m.group(2))), value)
    if isinstance(value, dict):
        return {key: _resolve_references(item, previous, in_url=in_url) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_references(item, previous, in_url=in_url) for item in value]
    return value
