"""Each domain app maps its records to Salesforce writes in one module, its ``salesforce.py``
next to its services (``apps/accounts/salesforce.py``, ``apps/checkout/salesforce.py``, ...).

Read from the source with ``ast``: outside ``apps/integrations`` (the adapters) and
``apps/devtools`` (demo data written straight into the emulated org), a Composite create or
update subrequest and a field map ``record(...)`` body are built only in an app's
``salesforce.py``. Services call its functions, so the Salesforce side of a record is found in
one place per app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = ("apps/integrations/", "apps/devtools/")
WRITE_FACTORIES = {"create", "update"}


def writes_in(source: str) -> list[str]:
    """The Salesforce write bodies ``source`` builds, as ``"line: call"``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value)
        if (node.func.attr in WRITE_FACTORIES and receiver == "CompositeSubrequest") or (
            node.func.attr == "record" and "field_map" in receiver
        ):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}(...)")
    return found


def domain_modules() -> list[Path]:
    return sorted(
        path
        for path in (ROOT / "apps").rglob("*.py")
        if not str(path.relative_to(ROOT)).startswith(EXEMPT) and "migrations" not in path.parts
    )


def test_salesforce_writes_are_built_only_in_each_apps_salesforce_module() -> None:
    misplaced = {
        str(path.relative_to(ROOT)): found
        for path in domain_modules()
        if path.name != "salesforce.py" and (found := writes_in(path.read_text(encoding="utf-8")))
    }
    assert misplaced == {}, "Add a function to the app's salesforce.py and call it"


def test_every_app_that_writes_to_salesforce_has_its_module() -> None:
    """The check watches something: the apps known to write have their module, and it builds writes."""
    modules = {path.parent.name for path in domain_modules() if path.name == "salesforce.py"}
    assert {"accounts", "checkout", "opportunities", "verification"} <= modules
    for app in modules:
        assert writes_in((ROOT / "apps" / app / "salesforce.py").read_text(encoding="utf-8")), app


@pytest.mark.parametrize(
    "source",
    [
        "CompositeSubrequest.update('Account', account_id, 'account', body)",
        "CompositeSubrequest.create('Case', 'case', body)",
        "get_field_map().record('Account', {'portal_status': status})",
        "field_map.record('Contact', values)",
    ],
)
def test_the_check_sees_a_write(source: str) -> None:
    assert writes_in(source)


@pytest.mark.parametrize(
    "source",
    [
        "account_deactivated_subrequest(account_id)",
        "CompositeSubrequest.query(soql, 'items')",
        "run.record(step, 'started')",
        "get_field_map().from_salesforce('Account', 'portal_status', raw)",
    ],
)
def test_the_check_ignores_other_calls(source: str) -> None:
    assert writes_in(source) == []
