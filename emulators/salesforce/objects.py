"""Record IDs and field values as Salesforce writes them: 18-character IDs with their key prefix
and case-safety suffix, the REST datetime format, and the object an ID belongs to. The objects
themselves and their fields are the org's schema (``schema``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from .schema import OBJECT_TYPES

CONTENT_DOCUMENT_PREFIX = "069"
ORG_PREFIX = "00D"
USER_PREFIX = "005"
QUERY_LOCATOR_PREFIX = "01g"

_PREFIX_TO_OBJECT = {obj.key_prefix: name for name, obj in OBJECT_TYPES.items()}
_OBJECTS_BY_LOWER = {name.lower(): name for name in OBJECT_TYPES}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_POD = "8d"


def canonical_object_name(name: str) -> str | None:
    """sObject names are case-insensitive in URLs and SOQL."""
    return _OBJECTS_BY_LOWER.get(name.lower())


def object_for_id(record_id: str) -> str | None:
    return _PREFIX_TO_OBJECT.get(record_id[:3])


def id_suffix(id15: str) -> str:
    """The three case-safety characters Salesforce appends to make an 18-character id."""
    suffix = ""
    for chunk_start in range(0, 15, 5):
        flags = sum(
            1 << bit for bit, char in enumerate(id15[chunk_start : chunk_start + 5]) if char.isupper()
        )
        suffix += _SUFFIX_ALPHABET[flags]
    return suffix


def make_id(prefix: str, sequence: int) -> str:
    """An 18-character id: key prefix, a fixed pod marker, a base-62 sequence, the checksum."""
    digits = ""
    value = sequence
    while True:
        value, remainder = divmod(value, 62)
        digits = _BASE62[remainder] + digits
        if value == 0:
            break
    id15 = f"{prefix}{_POD}{digits.rjust(10, '0')}"
    return id15 + id_suffix(id15)


def normalize_id(value: object) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None if it is not an id."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    return value[:15] + id_suffix(value[:15])


def format_datetime(moment: datetime) -> str:
    """Salesforce's REST datetime format: ``2013-05-20T20:49:32.000+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def now_string() -> str:
    return format_datetime(datetime.now(tz=UTC))


_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_datetime(value: object) -> datetime | None:
    """Read the datetime formats clients send (``Z``, ``+00:00``, ``+0000``, with or without ms)."""
    if not isinstance(value, str):
        return None
    match = _DATETIME_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = UTC
    offset_minutes = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return naive - timedelta(minutes=offset_minutes)


def parse_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value.strip())
    if not match:
        moment = parse_datetime(value)
        return moment.date() if moment else None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
