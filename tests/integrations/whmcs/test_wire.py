"""Encoding and normalisation rules of the WHMCS wire format (facts/whmcs.md §3), tested directly."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.integrations.whmcs.client import (
    encode_serialized,
    flatten_params,
    normalize_list,
    parse_card_expiry,
    php_serialize,
    to_bool,
    to_csv_ids,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
)
from emulators.whmcs.wire import parse_php_form, php_unserialize_base64


def test_php_serialize_counts_utf8_bytes_of_multibyte_strings() -> None:
    # given a dict with a multibyte value and a numeric-string key
    value = {"1": "東京", 2: "Google", "name": "é"}

    # when
    serialized = php_serialize(value)

    # then "東京" is 6 bytes, "é" 2, and the numeric-string key became an int key as in PHP
    assert serialized == 'a:3:{i:1;s:6:"東京";i:2;s:6:"Google";s:4:"name";s:2:"é";}'


def test_php_serialize_scalars_nested_arrays_and_lists() -> None:
    assert php_serialize(5) == "i:5;"
    assert php_serialize(True) == "b:1;"
    assert php_serialize(None) == "N;"
    assert php_serialize(["a", 7]) == 'a:2:{i:0;s:1:"a";i:1;i:7;}'
    assert (
        php_serialize({3: {"optionid": 9, "qty": 2}}) == 'a:1:{i:3;a:2:{s:8:"optionid";i:9;s:3:"qty";i:2;}}'
    )
    assert php_serialize({"05": "x"}) == 'a:1:{s:2:"05";s:1:"x";}'


def test_encode_serialized_is_base64_of_php_serialize_and_the_emulator_decodes_it() -> None:
    value = {1: "Google", 2: 3, 4: "ワイファイ"}

    encoded = encode_serialized(value)

    assert base64.b64decode(encoded).decode() == php_serialize(value)
    assert php_unserialize_base64(encoded) == value


def test_flatten_params_uses_php_bracket_keys_and_php_booleans() -> None:
    params = {
        "clientid": 7,
        "pid": [1, 3],
        "billingcycle": ["monthly", "annually"],
        "email_preferences": {"invoice": False},
        "noemail": True,
        "notes": None,
        "nextduedate": date(2025, 2, 1),
    }

    assert flatten_params(params) == [
        ("clientid", "7"),
        ("pid[0]", "1"),
        ("pid[1]", "3"),
        ("billingcycle[0]", "monthly"),
        ("billingcycle[1]", "annually"),
        ("email_preferences[invoice]", "0"),
        ("noemail", "1"),
        ("nextduedate", "2025-02-01"),
    ]


def test_emulator_form_parser_rebuilds_php_arrays() -> None:
    body = (
        "action=AddOrder&pid%5B0%5D=1&pid%5B1%5D=3&qty%5B%5D=1&qty%5B%5D=2&email_preferences%5Binvoice%5D=0"
    )

    assert parse_php_form(body) == {
        "action": "AddOrder",
        "pid": {"0": "1", "1": "3"},
        "qty": {"0": "1", "1": "2"},
        "email_preferences": {"invoice": "0"},
    }


@pytest.mark.parametrize(
    "payload",
    [
        "",
        None,
        {},
        {"invoice": []},
        {"invoice": ""},
        [],
    ],
    ids=["empty-string", "null", "empty-object", "empty-wrapped-list", "empty-wrapped-string", "empty-list"],
)
def test_normalize_list_treats_every_empty_shape_as_empty(payload: Any) -> None:
    assert normalize_list(payload, "invoice") == []


def test_normalize_list_treats_a_missing_key_as_empty() -> None:
    response: dict[str, Any] = {"result": "success", "numreturned": 0}

    assert normalize_list(response.get("invoices"), "invoice") == []


def test_normalize_list_unwraps_lists_and_single_objects() -> None:
    assert normalize_list({"invoice": [{"id": 1}, {"id": 2}]}, "invoice") == [{"id": 1}, {"id": 2}]
    assert normalize_list({"invoice": {"id": 1}}, "invoice") == [{"id": 1}]
    assert normalize_list([{"id": 1}]) == [{"id": 1}]
    assert normalize_list({"transaction": [{"id": 4}]}) == [{"id": 4}]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), (12, 12), ("", 0), (None, 0), ("abc", 0), ("3.00", 3), (" 7 ", 7)],
)
def test_to_int(raw: Any, expected: int) -> None:
    assert to_int(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5500.00", Decimal("5500.00")),
        ("-1.00", Decimal("-1.00")),
        ("¥5500.00 JPY", Decimal("5500.00")),
        ("$1,234.50 USD", Decimal("1234.50")),
        (12, Decimal("12")),
        ("", Decimal("0")),
        (None, Decimal("0")),
    ],
)
def test_to_decimal(raw: Any, expected: Decimal) -> None:
    assert to_decimal(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
        ("true", True),
        ("false", False),
        ("True", True),
        ("on", True),
        ("off", False),
        ("yes", True),
        ("", False),
        (None, False),
    ],
)
def test_to_bool_accepts_every_whmcs_spelling(raw: Any, expected: bool) -> None:
    assert to_bool(raw) is expected


def test_zero_dates_are_none_and_dates_parse() -> None:
    assert to_date("0000-00-00") is None
    assert to_date("0000-00-00 00:00:00") is None
    assert to_date("") is None
    assert to_date(None) is None
    assert to_date("2025-03-31") == date(2025, 3, 31)
    assert to_datetime("0000-00-00 00:00:00") is None
    assert to_datetime("2025-03-31 10:20:30", ZoneInfo("Asia/Tokyo")) == datetime(
        2025, 3, 31, 1, 20, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,2", [1, 2]), ("5", [5]), ("", []), (None, []), (7, [7]), ([1, "2"], [1, 2]), ("3, 4,", [3, 4])],
)
def test_csv_ids(raw: Any, expected: list[int]) -> None:
    assert to_csv_ids(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12/30", date(2030, 12, 31)),
        ("02/28", date(2028, 2, 29)),
        ("04/2027", date(2027, 4, 30)),
        ("13/30", None),
        ("", None),
        (None, None),
    ],
)
def test_card_expiry_is_the_last_day_of_the_month(raw: Any, expected: date | None) -> None:
    assert parse_card_expiry(raw) == expected
