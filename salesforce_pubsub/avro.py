"""Avro encoding of Pub/Sub event payloads with fastavro.

A payload is one record in Avro binary encoding with no container file and no single-object
header ("schemaless" in fastavro terms); the schema comes separately from ``GetSchema``. Parsing a
schema is the expensive step, so parsed schemas are cached by their JSON text.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from functools import lru_cache
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

ParsedSchema = Any  # fastavro's parsed schema is a plain dict/list/str structure.


@lru_cache(maxsize=256)
def parse_schema(schema_json: str) -> ParsedSchema:
    """The parsed form of an Avro schema given as JSON (cached: schemas are few and immutable)."""
    return fastavro.parse_schema(json.loads(schema_json))


def schema_fingerprint(schema_json: str) -> str:
    """A stable schema ID in Salesforce's style (22 URL-safe base64 characters of an MD5 digest of
    the schema's parsing canonical form), so equivalent JSON spellings get the same ID."""
    canonical = to_parsing_canonical_form(parse_schema(schema_json))
    digest = hashlib.md5(canonical.encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode(schema_json: str, record: dict[str, Any]) -> bytes:
    """Encode one record as schemaless Avro binary."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parse_schema(schema_json), record)
    return buffer.getvalue()


def decode(schema_json: str, payload: bytes) -> dict[str, Any]:
    """Decode one schemaless Avro binary record."""
    record = fastavro.schemaless_reader(io.BytesIO(payload), parse_schema(schema_json), None)
    if not isinstance(record, dict):
        raise ValueError("The Avro payload is not a record")
    return record
