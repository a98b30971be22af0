"""The SOQL subset the portal uses: parse once, then filter, sort and page plain dict records.

Supported::

    SELECT field, ... | COUNT()  FROM Object
    [WHERE cond]   cond := cond AND cond | cond OR cond | NOT cond | ( cond )
                         | field (= | != | <> | < | > | <= | >=) literal
                         | field [NOT] IN (literal, ...) | field LIKE 'pattern'
    [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...]  [LIMIT n]  [OFFSET n]

Literals: ``'strings'`` with SOQL escapes, numbers, ``true``/``false``, ``null``, datetimes
(``2025-01-01T00:00:00Z``, ``+09:00``) and dates (``2025-01-01``). Relationship fields
(``Account.Name``), sub-queries, aggregates other than ``COUNT()`` and date functions are not
supported and give ``MALFORMED_QUERY`` or ``INVALID_FIELD``. As in Salesforce, string comparisons
are case-insensitive and ``!=`` / ``NOT IN`` match null values.

https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from .objects import normalize_id, parse_date, parse_datetime


class SoqlError(Exception):
    """A query Salesforce would refuse; ``error_code`` is ``MALFORMED_QUERY`` or ``INVALID_FIELD``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Literal:
    kind: str  # "string" | "number" | "boolean" | "null" | "datetime" | "date"
    value: Any


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: str  # "=", "!=", "<", ">", "<=", ">=", "LIKE", "IN", "NOT IN"
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    operator: str  # "AND" | "OR"
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    operand: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: str
    descending: bool = False
    nulls_first: bool | None = None

    @property
    def effective_nulls_first(self) -> bool:
        """SOQL puts nulls first when ascending and last when descending unless told otherwise."""
        return (not self.descending) if self.nulls_first is None else self.nulls_first


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    count_only: bool
    sobject: str
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_LIKE_ESCAPES = {"_": "\\_", "%": "\\%"}
_KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "TRUE",
        "FALSE",
        "NULL",
        "COUNT",
    }
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int

    @property
    def keyword(self) -> str | None:
        return self.text.upper() if self.kind == "ident" and self.text.upper() in _KEYWORDS else None


def _tokenize(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(soql):
        match = _TOKEN_RE.match(soql, position)
        if not match:
            raise SoqlError(
                "MALFORMED_QUERY", f"unexpected character {soql[position]!r} at position {position}"
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _unescape(raw: str, *, like: bool) -> str:
    body = raw[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 1
            if index >= len(body):
                raise SoqlError("MALFORMED_QUERY", "unterminated escape sequence in string literal")
            escaped = body[index]
            if escaped in _ESCAPES:
                out.append(_ESCAPES[escaped])
            elif escaped in _LIKE_ESCAPES and like:
                out.append(_LIKE_ESCAPES[escaped])
            else:
                raise SoqlError("MALFORMED_QUERY", f"invalid escape sequence \\{escaped} in string literal")
        else:
            out.append(char)
        index += 1
    return "".join(out)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.tokens = _tokenize(soql)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, expected: str = "a token") -> _Token:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected end of query, expecting {expected}")
        self.index += 1
        return token

    def accept_keyword(self, *keywords: str) -> bool:
        token = self.peek()
        if token is not None and token.keyword in keywords:
            self.index += 1
            return True
        return False

    def expect_keyword(self, keyword: str) -> None:
        token = self.next(keyword)
        if token.keyword != keyword:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token {token.text!r}, expecting {keyword}")

    def expect_punct(self, char: str) -> None:
        token = self.next(repr(char))
        if token.kind != "punct" or token.text != char:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token {token.text!r}, expecting {char!r}")

    def field_name(self) -> str:
        token = self.next("a field name")
        if token.kind != "ident" or token.keyword is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token {token.text!r}, expecting a field name")
        if "." in token.text:
            raise SoqlError(
                "INVALID_FIELD", f"relationship field {token.text!r} is not supported by the emulator"
            )
        return token.text

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields: list[str] = []
        count_only = False
        token = self.peek()
        if token is not None and token.keyword == "COUNT":
            self.index += 1
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            fields.append(self.field_name())
            while (token := self.peek()) is not None and token.text == ",":
                self.index += 1
                fields.append(self.field_name())
        self.expect_keyword("FROM")
        sobject_token = self.next("an object name")
        # Object names may be words that are keywords elsewhere ("Order"), as in real SOQL.
        if sobject_token.kind != "ident" or "." in sobject_token.text:
            raise SoqlError(
                "MALFORMED_QUERY", f"unexpected token {sobject_token.text!r}, expecting an object"
            )
        where = self.condition() if self.accept_keyword("WHERE") else None
        order_by: list[OrderItem] = []
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            order_by.append(self.order_item())
            while (token := self.peek()) is not None and token.text == ",":
                self.index += 1
                order_by.append(self.order_item())
        limit = self.integer() if self.accept_keyword("LIMIT") else None
        offset = self.integer() if self.accept_keyword("OFFSET") else None
        trailing = self.peek()
        if trailing is not None:
            raise SoqlError(
                "MALFORMED_QUERY", f"unexpected token {trailing.text!r} at position {trailing.position}"
            )
        return Query(tuple(fields), count_only, sobject_token.text, where, tuple(order_by), limit, offset)

    def integer(self) -> int:
        token = self.next("a number")
        if token.kind != "number" or not token.text.isdigit():
            raise SoqlError(
                "MALFORMED_QUERY", f"unexpected token {token.text!r}, expecting a non-negative integer"
            )
        return int(token.text)

    def order_item(self) -> OrderItem:
        name = self.field_name()
        descending = False
        if self.accept_keyword("DESC"):
            descending = True
        else:
            self.accept_keyword("ASC")
        nulls_first: bool | None = None
        if self.accept_keyword("NULLS"):
            token = self.next("FIRST or LAST")
            if token.keyword not in ("FIRST", "LAST"):
                raise SoqlError(
                    "MALFORMED_QUERY", f"unexpected token {token.text!r}, expecting FIRST or LAST"
                )
            nulls_first = token.keyword == "FIRST"
        return OrderItem(name, descending, nulls_first)

    def condition(self) -> Condition:
        operands = [self.conjunction()]
        while self.accept_keyword("OR"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def conjunction(self) -> Condition:
        operands = [self.negation()]
        while self.accept_keyword("AND"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def negation(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.negation())
        token = self.peek()
        if token is not None and token.text == "(":
            self.index += 1
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        name = self.field_name()
        token = self.next("an operator")
        if token.kind == "op":
            operator = "!=" if token.text == "<>" else token.text
            value = self.literal(like=False)
            if value.kind == "null" and operator not in ("=", "!="):
                raise SoqlError("MALFORMED_QUERY", f"null can only be compared with = or !=, not {operator}")
            return Comparison(name, operator, (value,))
        if token.keyword == "LIKE":
            value = self.literal(like=True)
            if value.kind != "string":
                raise SoqlError("MALFORMED_QUERY", "LIKE needs a string pattern")
            return Comparison(name, "LIKE", (value,))
        negated = False
        if token.keyword == "NOT":
            negated = True
            token = self.next("IN")
        if token.keyword == "IN":
            self.expect_punct("(")
            values = [self.literal(like=False)]
            while (separator := self.next("',' or ')'")).text == ",":
                values.append(self.literal(like=False))
            if separator.text != ")":
                raise SoqlError("MALFORMED_QUERY", f"unexpected token {separator.text!r}, expecting ')'")
            return Comparison(name, "NOT IN" if negated else "IN", tuple(values))
        raise SoqlError("MALFORMED_QUERY", f"unexpected token {token.text!r}, expecting an operator")

    def literal(self, *, like: bool) -> Literal:
        token = self.next("a value")
        if token.kind == "string":
            return Literal("string", _unescape(token.text, like=like))
        if token.kind == "number":
            return Literal("number", Decimal(token.text))
        if token.kind == "datetime":
            moment = parse_datetime(token.text)
            if moment is None:
                raise SoqlError("MALFORMED_QUERY", f"invalid datetime literal {token.text!r}")
            return Literal("datetime", moment)
        if token.kind == "date":
            day = parse_date(token.text)
            if day is None:
                raise SoqlError("MALFORMED_QUERY", f"invalid date literal {token.text!r}")
            return Literal("date", day)
        if token.keyword in ("TRUE", "FALSE"):
            return Literal("boolean", token.keyword == "TRUE")
        if token.keyword == "NULL":
            return Literal("null", None)
        raise SoqlError("MALFORMED_QUERY", f"unexpected token {token.text!r}, expecting a value")


def parse(soql: str) -> Query:
    """Parse ``soql`` or raise ``SoqlError``."""
    if not soql or not soql.strip():
        raise SoqlError("MALFORMED_QUERY", "the query is empty")
    return _Parser(soql).parse()


# --- evaluation ---------------------------------------------------------------------------------


def _is_id_field(field: str) -> bool:
    return field == "Id" or field.endswith("Id")


def _coerce(field: str, value: Any, literal: Literal) -> tuple[Any, Any] | None:
    """Bring a record value and a literal to comparable Python values, or None if they are not."""
    if literal.kind == "string":
        if _is_id_field(field):
            left_id, right_id = normalize_id(value), normalize_id(literal.value)
            if left_id and right_id:
                return left_id, right_id
        return (str(value).casefold(), str(literal.value).casefold()) if isinstance(value, str) else None
    if literal.kind == "number":
        if isinstance(value, bool):
            return None
        try:
            return Decimal(str(value)), literal.value
        except InvalidOperation:
            return None
    if literal.kind == "boolean":
        return (value, literal.value) if isinstance(value, bool) else None
    if literal.kind == "datetime":
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime(day.year, day.month, day.day, tzinfo=literal.value.tzinfo)
        return (moment, literal.value) if moment else None
    if literal.kind == "date":
        day = parse_date(value)
        return (day, literal.value) if day else None
    return None


def _like_matcher(pattern: str) -> re.Pattern[str]:
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)


def _compare(field: str, value: Any, operator: str, literal: Literal) -> bool:
    if literal.kind == "null":
        return (value is None) == (operator == "=")
    if value is None:
        return operator == "!="
    pair = _coerce(field, value, literal)
    if pair is None:
        return operator == "!="
    left, right = pair
    if operator == "=":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    try:
        if operator == "<":
            return bool(left < right)
        if operator == ">":
            return bool(left > right)
        if operator == "<=":
            return bool(left <= right)
        if operator == ">=":
            return bool(left >= right)
    except TypeError:
        return False
    raise SoqlError("MALFORMED_QUERY", f"unsupported operator {operator}")


Predicate = Callable[[Mapping[str, Any]], bool]


def compile_condition(condition: Condition, resolve: Callable[[str], str]) -> Predicate:
    """Turn a parsed WHERE clause into a predicate over records keyed by canonical field names.

    ``resolve`` maps a field name as written to its canonical name or raises ``SoqlError``.
    """
    if isinstance(condition, Not):
        inner = compile_condition(condition.operand, resolve)
        return lambda record: not inner(record)
    if isinstance(condition, BoolOp):
        parts = [compile_condition(operand, resolve) for operand in condition.operands]
        if condition.operator == "AND":
            return lambda record: all(part(record) for part in parts)
        return lambda record: any(part(record) for part in parts)

    field = resolve(condition.field)
    operator = condition.operator
    values = condition.values
    if operator == "LIKE":
        matcher = _like_matcher(str(values[0].value))
        return lambda record: isinstance(record.get(field), str) and bool(matcher.match(record[field]))
    if operator in ("IN", "NOT IN"):
        wanted = operator == "IN"
        return lambda record: (
            any(_compare(field, record.get(field), "=", value) for value in values) == wanted
        )
    literal = values[0]
    return lambda record: _compare(field, record.get(field), operator, literal)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float | Decimal):
        return (1, Decimal(str(value)))
    if isinstance(value, datetime | date):
        return (2, value.isoformat())
    return (3, str(value).casefold())


RecordT = TypeVar("RecordT", bound=Mapping[str, Any])


def order_records(
    records: Sequence[RecordT], order_by: Iterable[OrderItem], resolve: Callable[[str], str]
) -> list[RecordT]:
    """Sort by several ORDER BY items: stable sorts from the last item to the first."""
    ordered = list(records)
    for item in reversed(list(order_by)):
        field = resolve(item.field)
        nulls = [record for record in ordered if record.get(field) is None]
        present = [record for record in ordered if record.get(field) is not None]
        present.sort(key=lambda record, name=field: _sort_key(record[name]), reverse=item.descending)  # type: ignore[misc]
        ordered = nulls + present if item.effective_nulls_first else present + nulls
    return ordered
