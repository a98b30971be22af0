"""The emulator's driver API over HTTP, under ``/__emulator__/``, for demo scripts and other processes.

It mirrors the Python API (``SalesforceRestEmulator`` / ``SalesforceStore``): act as an agent in
Salesforce, read counters and state, inject faults. None of it counts as a Salesforce API call.
Loopback only and unauthenticated, like the rest of the emulator.

=========  ==========================================  ==========================================
method     path                                        does
=========  ==========================================  ==========================================
GET        /__emulator__/health                        ``{"status": "ok", "org_id": ...}``
POST       /__emulator__/reset                         forget records, counters, faults
GET        /__emulator__/state                         the whole org (``store.snapshot()``)
GET        /__emulator__/counters                      API calls per kind and ``api_usage``
POST       /__emulator__/records/{Type}                create as an agent → the record (201)
GET        /__emulator__/records/{Type}?Field=value    ``find_records`` (exact match)
GET        /__emulator__/records/{Type}/{Id}           one record
PATCH      /__emulator__/records/{Type}/{Id}           update as an agent → the record
                                                       (``?gap=1``: as a data fix outside the
                                                       application server, so Change Data
                                                       Capture publishes a ``GAP_UPDATE``)
DELETE     /__emulator__/records/{Type}/{Id}           delete
DELETE     /__emulator__/schema/{Type}/fields/{Field}  delete a field from the org (until reset)
DELETE     /__emulator__/schema/{Type}/fields/{Field}  delete a picklist value (URL-encoded)
           /values/{Value}
DELETE     /__emulator__/schema/events/{Name__e}       delete a platform event
DELETE     /__emulator__/schema/change-events/{Type}   take an object out of Change Data Capture
GET        /__emulator__/faults                        active fault rules
POST       /__emulator__/faults                        ``{"kind": "failure", "status", "error_code",
                                                       "message", "method", "path_prefix", "count"}``
                                                       or ``{"kind": "latency", "seconds", ...}``
DELETE     /__emulator__/faults                        ``clear_faults()``
POST       /__emulator__/sessions/expire               expire every issued session
POST       /__emulator__/limits/exhaust                use up the daily API limit
POST       /__emulator__/limits                        ``{"max": n, "used": m}``
=========  ==========================================  ==========================================
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import FaultInjector
from .rest import Response
from .store import RestError, SalesforceStore, not_found

PREFIX = "/__emulator__"


class DriverApi:
    def __init__(
        self,
        store: SalesforceStore,
        faults: FaultInjector,
        *,
        reset: Callable[[], None],
        clear_faults: Callable[[], None],
    ) -> None:
        self.store = store
        self.faults = faults
        self._reset = reset
        self._clear_faults = clear_faults

    def handle(self, method: str, target: str, body: bytes) -> Response:
        parts = urlsplit(target)
        segments = [segment for segment in parts.path[len(PREFIX) :].split("/") if segment]
        params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return Response(
                400, [{"errorCode": "JSON_PARSER_ERROR", "message": "The request body is not valid JSON"}]
            )
        try:
            return self._route(method, segments, params, payload)
        except RestError as error:
            return Response.error(error)
        except (TypeError, ValueError) as error:
            return Response(400, [{"errorCode": "INVALID_INPUT", "message": str(error)}])

    def _route(self, method: str, segments: list[str], params: dict[str, str], payload: Any) -> Response:
        route = (method, *segments[:1])
        if route == ("GET", "health"):
            return Response(200, {"status": "ok", "org_id": self.store.org_id})
        if route == ("POST", "reset"):
            self._reset()
            return Response(200, {"ok": True})
        if route == ("GET", "state"):
            return Response(200, self.store.snapshot())
        if route == ("GET", "counters"):
            used, maximum = self.store.api_usage
            return Response(
                200, {"calls": self.store.counters(), "api_usage": {"used": used, "max": maximum}}
            )
        if segments[:1] == ["records"] and len(segments) in (2, 3):
            return self._records(method, segments[1:], params, payload)
        if route == ("DELETE", "schema"):
            return self._schema([unquote(segment) for segment in segments[1:]])
        if segments[:1] == ["faults"] and len(segments) == 1:
            return self._faults(method, payload)
        if route == ("POST", "sessions") and segments[1:] == ["expire"]:
            self.store.expire_sessions()
            return Response(200, {"ok": True})
        if route == ("POST", "limits"):
            if segments[1:] == ["exhaust"]:
                self.store.exhaust_api_limit()
            else:
                self.store.set_api_limit(
                    int(payload["max"]), int(payload["used"]) if "used" in payload else None
                )
            used, maximum = self.store.api_usage
            return Response(200, {"used": used, "max": maximum})
        raise not_found()

    def _schema(self, segments: list[str]) -> Response:
        """Schema changes an administrator makes in Setup, for trying ``check_salesforce_org``."""
        if len(segments) == 2 and segments[0] == "events":
            self.store.remove_platform_event(segments[1])
        elif len(segments) == 2 and segments[0] == "change-events":
            self.store.deselect_change_events(segments[1])
        elif len(segments) == 3 and segments[1] == "fields":
            self.store.remove_field(segments[0], segments[2])
        elif len(segments) == 5 and segments[1] == "fields" and segments[3] == "values":
            self.store.remove_picklist_value(segments[0], segments[2], segments[4])
        else:
            raise not_found()
        return Response(204)

    def _records(self, method: str, segments: list[str], params: dict[str, str], payload: Any) -> Response:
        sobject = segments[0]
        if len(segments) == 1:
            if method == "POST":
                return Response(201, self.store.create_record(sobject, _object(payload)))
            if method == "GET":
                return Response(200, self.store.find_records(sobject, **params))
            raise RestError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        record_id = segments[1]
        if params.get("gap", "").lower() in ("1", "true"):
            with self.store.change_context(gap=True):
                return self._record(method, sobject, record_id, payload)
        return self._record(method, sobject, record_id, payload)

    def _record(self, method: str, sobject: str, record_id: str, payload: Any) -> Response:
        if method == "GET":
            return Response(200, self.store.fetch(sobject, record_id)[1])
        if method == "PATCH":
            return Response(200, self.store.update_record(sobject, record_id, _object(payload)))
        if method == "DELETE":
            self.store.delete_record(sobject, record_id)
            return Response(204)
        raise RestError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")

    def _faults(self, method: str, payload: Any) -> Response:
        if method == "GET":
            return Response(200, self.faults.snapshot())
        if method == "DELETE":
            self._clear_faults()
            return Response(200, {"ok": True})
        if method != "POST":
            raise RestError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        spec = _object(payload)
        rule_method = str(spec["method"]) if spec.get("method") else None
        path_prefix = str(spec.get("path_prefix") or "")
        if spec.get("kind") == "lose_answer":
            lost = self.faults.lose_answer_next(
                int(spec.get("count", 1)), method=rule_method, path_prefix=path_prefix
            )
            return Response(201, lost.as_json())
        if spec.get("kind", "failure") == "latency":
            count = spec.get("count")
            latency = self.faults.add_latency(
                float(spec["seconds"]),
                method=rule_method,
                path_prefix=path_prefix,
                count=int(count) if count is not None else None,
            )
            return Response(201, latency.as_json())
        failure = self.faults.fail_next(
            int(spec.get("count", 1)),
            status=int(spec.get("status", 503)),
            error_code=str(spec.get("error_code", "SERVER_UNAVAILABLE")),
            message=spec.get("message"),
            method=rule_method,
            path_prefix=path_prefix,
        )
        return Response(201, failure.as_json())


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValueError("the request body must be a JSON object")
    return payload
