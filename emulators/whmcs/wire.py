"""Decoding what a WHMCS client sends: PHP bracket form keys and PHP-serialized arrays.

Written independently of the client's encoder on purpose, so the contract tests catch an
encoding bug instead of two copies of it agreeing with each other.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class SerializedValueError(ValueError):
    """The value is not valid base64(PHP serialize(...))."""


def parse_php_form(body: str) -> dict[str, Any]:
    """Parse a form body the way PHP fills ``$_POST``: ``pid[0]=1&pid[1]=3`` → ``{"pid": {"0": "1",
    "1": "3"}}``; ``pid[]=`` appends with the next integer index."""
    result: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if not match:
            result[raw_key] = value
            continue
        name, brackets = match.groups()
        segments = _SEGMENT.findall(brackets)
        if not segments:
            result[name] = value
            continue
        container = result.get(name)
        if not isinstance(container, dict):
            container = result[name] = {}
        for index, segment in enumerate(segments):
            key = segment if segment != "" else str(_next_index(container))
            if index == len(segments) - 1:
                container[key] = value
            else:
                child = container.get(key)
                if not isinstance(child, dict):
                    child = container[key] = {}
                container = child
    return result


def _next_index(container: dict[str, Any]) -> int:
    numeric = [int(key) for key in container if key.lstrip("-").isdigit()]
    return max(numeric) + 1 if numeric else 0


def php_unserialize_base64(value: str) -> Any:
    """Decode base64(PHP serialize(...)) as WHMCS does for ``configoptions``/``customfields``."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SerializedValueError("not base64") from error
    parsed, end = _unserialize(raw, 0)
    if end != len(raw):
        raise SerializedValueError("trailing data after serialized value")
    return parsed


def _read_until(raw: bytes, position: int, terminator: bytes) -> tuple[str, int]:
    end = raw.find(terminator, position)
    if end < 0:
        raise SerializedValueError("truncated serialized value")
    return raw[position:end].decode("ascii"), end + 1


def _unserialize(raw: bytes, position: int) -> tuple[Any, int]:
    """Parse one value at ``position``; ``s:`` lengths are byte counts, as in PHP."""
    if position + 1 >= len(raw):
        raise SerializedValueError("truncated serialized value")
    kind = raw[position : position + 1]
    if kind == b"N":
        if raw[position + 1 : position + 2] != b";":
            raise SerializedValueError("bad null")
        return None, position + 2
    if raw[position + 1 : position + 2] != b":":
        raise SerializedValueError(f"unexpected {kind!r}")
    position += 2
    try:
        if kind == b"i":
            text, position = _read_until(raw, position, b";")
            return int(text), position
        if kind == b"b":
            text, position = _read_until(raw, position, b";")
            return text == "1", position
        if kind == b"d":
            text, position = _read_until(raw, position, b";")
            return float(text), position
        if kind == b"s":
            text, position = _read_until(raw, position, b":")
            length = int(text)
            if raw[position : position + 1] != b'"':
                raise SerializedValueError("bad string")
            start = position + 1
            data = raw[start : start + length]
            if len(data) != length or raw[start + length : start + length + 2] != b'";':
                raise SerializedValueError("string length does not match its bytes")
            return data.decode("utf-8"), start + length + 2
        if kind == b"a":
            text, position = _read_until(raw, position, b":")
            count = int(text)
            if raw[position : position + 1] != b"{":
                raise SerializedValueError("bad array")
            position += 1
            items: dict[Any, Any] = {}
            for _ in range(count):
                key, position = _unserialize(raw, position)
                if not isinstance(key, int | str):
                    raise SerializedValueError("array keys must be int or string")
                items[key], position = _unserialize(raw, position)
            if raw[position : position + 1] != b"}":
                raise SerializedValueError("bad array end")
            return items, position + 1
    except (UnicodeDecodeError, ValueError) as error:
        if isinstance(error, SerializedValueError):
            raise
        raise SerializedValueError(str(error)) from error
    raise SerializedValueError(f"unsupported type {kind!r}")
