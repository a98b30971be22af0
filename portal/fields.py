"""Serializer fields for the API's enums in the portal's one casing: snake_case lowercase values.

External systems spell their values their own way (WHMCS ``"Payment Pending"``, ``"CreditCard"``,
``"One Time"``; the portal's stored notification types are UPPER). The mirrors keep what the
systems send; the serializers map every stored value to its wire value here, at the boundary, with
one mapping per enum. ``""`` is never a value on the wire: a field whose stored value may be empty
is nullable and says what null means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_attribute

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def wire_value(stored: str) -> str:
    """The portal's spelling of a stored or external value: ``"Payment Pending"`` →
    ``payment_pending``, ``"CreditCard"`` → ``credit_card``, ``"ORDER_APPROVED"`` →
    ``order_approved``, ``"One-Time"`` → ``one_time``."""
    return _SEPARATORS.sub("_", _WORD_BOUNDARY.sub("_", stored).lower()).strip("_")


def wire_choices(
    choices: Iterable[tuple[str, Any]], mapping: Mapping[str, str] | None = None
) -> list[tuple[str, Any]]:
    """The wire ``(value, label)`` pairs of an enum, for the schema's enum name overrides."""
    return list(EnumField(choices=choices, mapping=mapping).choices.items())


class EnumField(serializers.ChoiceField):
    """An output enum in the portal's casing.

    ``choices`` are the stored ``(value, label)`` pairs (a ``TextChoices.choices``); each stored value
    is sent as ``wire_value(value)`` unless ``mapping`` names it (several stored spellings may map to
    one wire value). A stored ``""`` or ``None`` is sent as null, and then the field must be built
    with ``allow_null=True`` and a ``help_text`` saying what null means; a stored value that is not
    in the mapping is sent as null too (a value an external system added that the portal does not
    know yet), never passed through.
    """

    def __init__(
        self,
        *,
        choices: Iterable[tuple[str, Any]],
        mapping: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.to_wire: dict[str, str] = {}
        wire_choices: dict[str, Any] = {}
        for stored, label in choices:
            if stored in ("", None):
                continue
            wire = wire_value(stored)
            self.to_wire[stored] = wire
            wire_choices.setdefault(wire, label)
        for stored, wire in (mapping or {}).items():
            self.to_wire[stored] = wire
            wire_choices.setdefault(wire, wire.replace("_", " ").capitalize())
        super().__init__(choices=list(wire_choices.items()), **kwargs)

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        if value in ("", None):
            return None
        return self.to_wire.get(str(value))

    def to_internal_value(self, data: Any) -> Any:
        """A wire value (a filter, say) back to its stored spelling (the first one mapped to it)."""
        wire = super().to_internal_value(data)
        return next(stored for stored, value in self.to_wire.items() if value == wire)


# ISO 4217 minor-unit exponents of the currencies the portal may see; any other has two decimals.
CURRENCY_EXPONENTS: dict[str, int] = {"JPY": 0, "KRW": 0, "VND": 0, "USD": 2, "EUR": 2, "GBP": 2, "AUD": 2}


def minor_units(amount: Decimal | int | str, currency: str) -> int:
    """``amount`` (in the currency's major unit) as a whole number of its minor unit: 1500 yen is
    ``1500`` (the yen has none), 12.34 dollars is ``1234``; half a minor unit rounds up."""
    exponent = CURRENCY_EXPONENTS.get(currency.upper(), 2)
    return int(Decimal(amount).scaleb(exponent).to_integral_value(rounding=ROUND_HALF_UP))


@extend_schema_field({"type": "integer", "format": "int64"})
class MoneyField(serializers.Field):
    """An amount as an integer in the minor unit of its currency (the API's one money
    representation, see the API description): yen as whole yen. ``currency`` names the attribute
    (dotted, from the serialized object) that holds the currency code, or ``currency_code`` gives
    a fixed one."""

    def __init__(
        self, *, currency: str = "currency_code", currency_code: str | None = None, **kwargs: Any
    ) -> None:
        self.currency_attrs = currency.split(".")
        self.currency_code = currency_code
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        amount = super().get_attribute(instance)
        code = self.currency_code or get_attribute(instance, self.currency_attrs)
        return (amount, code)

    def to_representation(self, value: Any) -> int | None:
        amount, code = value
        if amount is None:
            return None
        return minor_units(amount, str(code or "JPY"))
