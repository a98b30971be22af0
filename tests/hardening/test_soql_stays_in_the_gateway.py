"""SOQL is written in one place: the Salesforce gateway (``apps/integrations/salesforce``).

The domain apps read Salesforce through the gateway's typed operations (``accounts_modified_since``,
``products_modified_since``, ``order_with_items``, ...), which quote every value and return records
in the portal's attribute names. Read from the source with ``ast``: outside the gateway package no
module imports a SOQL quoting helper or ``simple_salesforce``, runs a query on a gateway, or holds
a string that selects from a Salesforce object.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from apps.integrations.salesforce.field_map import get_field_map

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_PACKAGE = ROOT / "apps" / "integrations" / "salesforce"
QUOTING_HELPERS = {"format_soql", "_soql_literal", "soql_literal", "quote_soql_value"}
QUERY_METHODS = {"query", "query_iter", "query_all", "tooling_query"}


def _salesforce_objects() -> set[str]:
    return {name.lower() for name in get_field_map().object_names()} | {"pricebook2", "product2"}


def _text(node: ast.expr) -> str:
    """A string literal's text, ``{}`` for each value an f-string puts in."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part) if isinstance(part, ast.Constant) else "{}" for part in node.values)
    return ""


def soql_in(source: str, objects: set[str]) -> list[str]:
    """What in ``source`` builds or runs SOQL, as ``"line: what"``."""
    found: list[str] = []
    from_object = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {alias.name for alias in node.names}
            if node.module.split(".")[0] == "simple_salesforce" or names & QUOTING_HELPERS:
                found.append(f"{node.lineno}: imports {', '.join(sorted(names))} from {node.module}")
        elif isinstance(node, ast.Import):
            if any(alias.name.split(".")[0] == "simple_salesforce" for alias in node.names):
                found.append(f"{node.lineno}: imports simple_salesforce")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and "gateway" in ast.unparse(node.func.value).lower()
        ):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}(...)")
        elif isinstance(node, ast.JoinedStr | ast.Constant):
            text = _text(node)
            for match in from_object.finditer(text):
                if "select" in text.lower() and match.group(1).lower() in objects:
                    found.append(f"{node.lineno}: SOQL on {match.group(1)}")
    return found


def modules_outside_the_gateway() -> list[Path]:
    return sorted(
        path
        for path in (ROOT / "apps").rglob("*.py")
        if GATEWAY_PACKAGE not in path.parents and "migrations" not in path.parts
    )


def test_no_soql_outside_the_gateway() -> None:
    objects = _salesforce_objects()
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in modules_outside_the_gateway()
        if (found := soql_in(path.read_text(encoding="utf-8"), objects))
    }
    assert offenders == {}, "Add a typed operation to SalesforceGateway instead"


@pytest.mark.parametrize(
    "source",
    [
        "from apps.integrations.salesforce.gateway import _soql_literal",
        "from simple_salesforce import format_soql",
        "import simple_salesforce",
        "rows = gateway.query(soql)",
        "rows = self.gateway.query_iter(soql)",
        "soql = f'SELECT Id, {fields} FROM Account WHERE {where}'",
        "soql = 'SELECT Id FROM Pricebook2 WHERE IsStandard = true'",
        "soql = f'select Id from CaseComment where {since}'",
    ],
)
def test_the_check_sees_soql(source: str) -> None:
    assert soql_in(source, _salesforce_objects())


@pytest.mark.parametrize(
    "source",
    [
        "cursor.execute(f'SELECT COUNT(*) FROM {table} WHERE user_id = %s')",
        "Order.objects.filter(pk=pk).select_for_update()",
        "products = gateway.products_modified_since(cursor)",
        "text = 'Select an account from the list'",
    ],
)
def test_the_check_ignores_sql_and_typed_reads(source: str) -> None:
    assert soql_in(source, _salesforce_objects()) == []
