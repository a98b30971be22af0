"""Every status has one owner: a status field is written only by its owning app's services.

DESIGN rule 8 ("each status transition has one owner"), read from the source with ``ast``: the
customer API, the agent console, tasks and the Salesforce event and sync handlers all call the
owner's service, so a shortcut that sets a status itself fails here. The owners (README, "Who
changes a status"):

=============================================  ============================================
field                                          written only in
=============================================  ============================================
``CustomerProfile.internet_eligibility_status``  ``apps/accounts/services.py``
``CustomerProfile.id_verification_status``       ``apps/accounts/services.py``
``ResidenceCardSubmission.status``               ``apps/verification/services.py``
``Order.status``, ``Order.activation_status``    ``apps/checkout/services.py``,
                                                 ``apps/checkout/fulfillment.py``
``Opportunity.stage`` and the cancellation       ``apps/opportunities/services.py``
fields (``cancellation_notice``,
``scheduled_cancellation_at``,
``line_return_status`` and their ``sim_`` twins)
``Case.status``                                  ``apps/opportunities/services.py``,
                                                 ``apps/opportunities/support.py``
``RegistrationAttempt.status``                   ``apps/accounts/registration.py``
=============================================  ============================================

A write is an attribute assignment (``x.stage = ...``, also augmented or inside a tuple),
``setattr(x, "stage", ...)``, a keyword of ``.update(...)`` / ``.update_or_create(...)`` (or a
key of its ``defaults``), or the field named in ``update_fields`` (``save``, ``bulk_create``,
``bulk_update``). ``status`` is a common name (outbox entries, fulfillment runs, registration
attempts, WHMCS rows), so for it a write counts when the receiver is named after the record
(``order``, ``case``, ``submission``, ``attempt``, e.g. ``eligibility_case.status``), when a queryset of the
model is updated (``Case.objects...update(status=...)``) or when the value is the record's status
enum (``OrderStatus``, ``CaseStatus``, ``ResidenceCardSubmission.Status``).

Creating a record in a first state is the owner's too: ``Case(status=...)``,
``Case.objects.create(status=...)`` or ``get_or_create`` with a status among the keywords or the
``defaults``, ``Opportunity(stage=...)``, and so on for each record above. ``KNOWN_CREATIONS``
lists the creations still made elsewhere, each with the reason. Migrations are not checked (the
emulators live outside ``apps/`` and hold no portal rows). A write hidden behind a variable
(``setattr(x, name, ...)``, ``update(**values)``, ``Case(**fields)``) is not seen: keep those in
the owner.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "apps"

ACCOUNTS = ("apps/accounts/services.py",)
VERIFICATION = ("apps/verification/services.py",)
# ``mirror.py``: the owning app's services that apply a change made in Salesforce (change events
# and reconciliation).
CHECKOUT = ("apps/checkout/services.py", "apps/checkout/fulfillment.py", "apps/checkout/mirror.py")
OPPORTUNITIES = ("apps/opportunities/services.py", "apps/opportunities/mirror.py")
CASES = ("apps/opportunities/services.py", "apps/opportunities/support.py", "apps/opportunities/mirror.py")
REGISTRATION = ("apps/accounts/registration.py",)


@dataclass(frozen=True)
class Owned:
    """A status field of ``model`` and the modules allowed to write it. For a field name other
    models share, ``receivers`` and ``enums`` say which writes are this record's."""

    field: str
    owners: tuple[str, ...]
    model: str
    receivers: tuple[str, ...] = ()
    enums: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return bool(self.receivers or self.enums)

    def label(self) -> str:
        return f"{self.model}.{self.field}" if self.ambiguous else self.field


OWNED = (
    Owned("internet_eligibility_status", ACCOUNTS, "CustomerProfile"),
    Owned("id_verification_status", ACCOUNTS, "CustomerProfile"),
    Owned(
        "status",
        VERIFICATION,
        "ResidenceCardSubmission",
        receivers=("submission",),
        enums=("ResidenceCardSubmission.Status",),
    ),
    Owned("status", CHECKOUT, "Order", receivers=("order",), enums=("OrderStatus",)),
    Owned("activation_status", CHECKOUT, "Order"),
    Owned("stage", OPPORTUNITIES, "Opportunity"),
    Owned("cancellation_notice", OPPORTUNITIES, "Opportunity"),
    Owned("scheduled_cancellation_at", OPPORTUNITIES, "Opportunity"),
    Owned("line_return_status", OPPORTUNITIES, "Opportunity"),
    Owned("sim_cancellation_notice", OPPORTUNITIES, "Opportunity"),
    Owned("sim_scheduled_cancellation_at", OPPORTUNITIES, "Opportunity"),
    Owned("status", CASES, "Case", receivers=("case",), enums=("CaseStatus",)),
    Owned(
        "status",
        REGISTRATION,
        "RegistrationAttempt",
        receivers=("attempt", "locked"),
        enums=("RegistrationAttempt.Status",),
    ),
)

KNOWN_CREATIONS: dict[tuple[str, str], str] = {}
"""Creations of a status-bearing record outside its owner, by (module, model), with the reason."""

UPDATE_METHODS = {"update", "update_or_create"}


@dataclass(frozen=True)
class Write:
    path: str
    line: int
    field: str
    receiver: str  # the name the field is written on, or the root of the queryset chain
    value: ast.expr | None

    def __str__(self) -> str:
        return f"{self.path}:{self.line} writes {self.field} on {self.receiver or '?'}"


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _receiver(node: ast.expr) -> str:
    """``order`` for ``order``, ``self.order`` or ``run.order``; the model for a manager or a
    queryset chain (``Case`` for ``Case.objects`` and ``Case.objects.filter(...)``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and node.attr != "objects" and not isinstance(node.value, ast.Call):
        return node.attr
    while isinstance(node, ast.Call | ast.Attribute):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _names(node: ast.expr | None) -> set[str]:
    """The string constants of a list, tuple or set literal (``update_fields=[...]``)."""
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return {
            elt.value for elt in node.elts if isinstance(elt, ast.Constant) and isinstance(elt.value, str)
        }
    return set()


def _targets(node: ast.expr) -> Iterator[ast.Attribute]:
    if isinstance(node, ast.Attribute):
        yield node
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)
    elif isinstance(node, ast.Starred):
        yield from _targets(node.value)


def writes_in(source: str, path: str = "<source>") -> list[Write]:
    """Every write of a field named like a status field (whatever the record) in ``source``."""
    fields = {owned.field for owned in OWNED}
    found: list[Write] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for attribute in _targets(target):
                    if attribute.attr in fields:
                        found.append(
                            Write(path, node.lineno, attribute.attr, _receiver(attribute.value), node.value)
                        )
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "setattr" and len(node.args) == 3:
            name = node.args[1]
            if isinstance(name, ast.Constant) and name.value in fields:
                found.append(Write(path, node.lineno, name.value, _receiver(node.args[0]), node.args[2]))
            continue
        if not isinstance(node.func, ast.Attribute):
            continue
        receiver = _receiver(node.func.value)
        method = node.func.attr
        for keyword in node.keywords:
            if method in UPDATE_METHODS and keyword.arg in fields:
                found.append(Write(path, node.lineno, keyword.arg, receiver, keyword.value))
            if method in UPDATE_METHODS and keyword.arg == "defaults" and isinstance(keyword.value, ast.Dict):
                for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value in fields:
                        found.append(Write(path, node.lineno, key.value, receiver, value))
            if keyword.arg == "update_fields" or (method == "bulk_update" and keyword.arg == "fields"):
                for field in _names(keyword.value) & fields:
                    found.append(Write(path, node.lineno, field, receiver, None))
        if method == "bulk_update" and len(node.args) >= 2:
            for field in _names(node.args[1]) & fields:
                found.append(Write(path, node.lineno, field, receiver, None))
    return found


@dataclass(frozen=True)
class Creation:
    path: str
    line: int
    model: str
    fields: frozenset[str]  # the keywords (and ``defaults`` keys) it is created with

    def __str__(self) -> str:
        return f"{self.path}:{self.line} creates {self.model} with {', '.join(sorted(self.fields))}"


CREATE_METHODS = {"create", "get_or_create"}


def creations_in(source: str, path: str = "<source>") -> list[Creation]:
    """Every ``Model(...)`` and ``Model.objects....create(...)``/``get_or_create(...)`` of a model
    with status fields, given one of them."""
    status_fields: dict[str, set[str]] = {}
    for owned in OWNED:
        status_fields.setdefault(owned.model, set()).add(owned.field)
    found: list[Creation] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name):
            model = node.func.id
        elif isinstance(node.func, ast.Attribute) and node.func.attr in CREATE_METHODS:
            model = _receiver(node.func.value)
        else:
            continue
        if model not in status_fields:
            continue
        keywords = {keyword.arg for keyword in node.keywords if keyword.arg}
        for keyword in node.keywords:
            if keyword.arg == "defaults" and isinstance(keyword.value, ast.Dict):
                keywords |= {key.value for key in keyword.value.keys if isinstance(key, ast.Constant)}
        given = keywords & status_fields[model]
        if given:
            found.append(Creation(path, node.lineno, model, frozenset(given)))
    return found


@cache
def all_creations() -> tuple[Creation, ...]:
    creations: list[Creation] = []
    for path in app_modules():
        creations += creations_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return tuple(creations)


def creation_owners(model: str) -> set[str]:
    return {path for owned in OWNED if owned.model == model for path in owned.owners}


def is_write_of(write: Write, owned: Owned) -> bool:
    if write.field != owned.field:
        return False
    if not owned.ambiguous:
        return True
    receiver = write.receiver.lower()
    if write.receiver == owned.model or any(
        receiver == name or receiver.endswith(f"_{name}") for name in owned.receivers
    ):
        return True
    values = {_dotted(node) for node in ast.walk(write.value)} if write.value is not None else set()
    return any(value == enum or value.startswith(f"{enum}.") for value in values for enum in owned.enums)


def app_modules() -> Iterator[Path]:
    for path in sorted(APPS.rglob("*.py")):
        relative = path.relative_to(APPS).parts
        if "migrations" in relative:
            continue
        yield path


@cache
def all_writes() -> tuple[Write, ...]:
    writes: list[Write] = []
    for path in app_modules():
        writes += writes_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return tuple(writes)


def test_every_status_is_written_only_by_its_owner() -> None:
    misplaced = [
        f"{write} (owned by {', '.join(owned.owners)})"
        for write in all_writes()
        for owned in OWNED
        if is_write_of(write, owned) and write.path not in owned.owners
    ]
    assert misplaced == [], "Call the owning service instead:\n" + "\n".join(misplaced)


def test_every_status_bearing_record_is_created_only_by_its_owner() -> None:
    misplaced = [
        f"{creation} (owned by {', '.join(sorted(creation_owners(creation.model)))})"
        for creation in all_creations()
        if creation.path not in creation_owners(creation.model)
        and (creation.path, creation.model) not in KNOWN_CREATIONS
    ]
    assert misplaced == [], "Call the owning service instead:\n" + "\n".join(misplaced)


def test_every_known_creation_outside_the_owner_is_still_there() -> None:
    """An exception that no longer happens is removed from ``KNOWN_CREATIONS``, so it cannot
    quietly excuse a new one."""
    seen = {(creation.path, creation.model) for creation in all_creations()}
    assert set(KNOWN_CREATIONS) <= seen, f"no longer created there: {set(KNOWN_CREATIONS) - seen}"


@pytest.mark.parametrize("owned", OWNED, ids=Owned.label)
def test_each_owner_writes_its_status(owned: Owned) -> None:
    """The table above is true of the code: each owner does write its field (so a renamed field
    or a moved service cannot leave this check watching nothing)."""
    writers = {write.path for write in all_writes() if is_write_of(write, owned)}
    assert writers, f"no write of {owned.label()} found in {owned.owners}"
    assert writers <= set(owned.owners)


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("order.status = OrderStatus.APPROVED", "Order.status"),
        ("self.order.status = value", "Order.status"),
        ("x.status = OrderStatus.APPROVED", "Order.status"),
        ("Order.objects.filter(pk=pk).update(status=value)", "Order.status"),
        ("order.activation_status, order.status = a, b", "activation_status"),
        ("profile.internet_eligibility_status = EligibilityStatus.PENDING", "internet_eligibility_status"),
        ("setattr(opportunity, 'stage', value)", "stage"),
        ("opportunity.save(update_fields=['stage', 'updated_at'])", "stage"),
        ("Opportunity.objects.bulk_update(rows, ['line_return_status'])", "line_return_status"),
        ("Opportunity.objects.update_or_create(pk=1, defaults={'stage': s})", "stage"),
        ("eligibility_case.status = CaseStatus.CLOSED", "Case.status"),
        ("Case.objects.filter(pk=pk).update(status=status)", "Case.status"),
        ("Case.objects.bulk_update(cases, ['status'])", "Case.status"),
        ("candidate.status = ResidenceCardSubmission.Status.VERIFIED", "ResidenceCardSubmission.status"),
    ],
)
def test_the_check_sees_a_status_write(source: str, field: str) -> None:
    owned = [owned.label() for write in writes_in(source) for owned in OWNED if is_write_of(write, owned)]
    assert field in owned


@pytest.mark.parametrize(
    "source",
    [
        "run.status = FulfillmentRun.Status.PENDING",
        "entry.status = OutboxEntry.Status.PENDING",
        "self.row.status = status",
        "OutboxEntry.objects.filter(pk=pk).update(status=OutboxEntry.Status.FAILED)",
        "case = Case(status=CaseStatus.NEW)",
        "Opportunity.objects.create(stage=OpportunityStage.INTRODUCTION)",
        "if order.status == OrderStatus.APPROVED: pass",
        "mirror['stage'] = value",
    ],
)
def test_the_check_ignores_other_records_and_creation(source: str) -> None:
    assert [write for write in writes_in(source) for owned in OWNED if is_write_of(write, owned)] == []


@pytest.mark.parametrize(
    ("source", "model"),
    [
        ("case = Case(user=user, status=CaseStatus.NEW)", "Case"),
        ("Case.objects.create(subject=s, status=CaseStatus.NEW)", "Case"),
        ("Opportunity.objects.create(stage=OpportunityStage.INTRODUCTION)", "Opportunity"),
        ("Opportunity.objects.get_or_create(user=u, defaults={'stage': s})", "Opportunity"),
        ("Order(user=u, activation_status=ActivationStatus.PENDING_REVIEW)", "Order"),
        ("ResidenceCardSubmission.objects.create(status=s)", "ResidenceCardSubmission"),
        ("CustomerProfile.objects.create(user=u, id_verification_status=s)", "CustomerProfile"),
    ],
)
def test_the_check_sees_a_creation_in_a_first_state(source: str, model: str) -> None:
    assert [creation.model for creation in creations_in(source)] == [model]


@pytest.mark.parametrize(
    "source",
    [
        "Case(user=user, subject=s)",
        "Case(When(status=s, then=Value(1)), default=Value(0))",
        "CustomerProfile.objects.create(user=u, portal_status=PortalStatus.ACTIVE)",
        "FulfillmentRun.objects.create(status=FulfillmentRun.Status.PENDING)",
        "OutboxEntry(status=OutboxEntry.Status.PENDING)",
    ],
)
def test_the_creation_check_ignores_other_records_and_fields(source: str) -> None:
    assert creations_in(source) == []


def test_the_console_writes_only_its_audit_row() -> None:
    """The console's services call the owning services; the one row they create is theirs."""
    path = APPS / "console" / "services.py"
    methods = {"save", "create", "update", "delete", "bulk_create", "bulk_update", "update_or_create"}
    writes = [
        f"console/services.py:{node.lineno} {_dotted(node.func) or node.func.attr}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in methods
        and _receiver(node.func.value) != "AgentDecision"
    ]
    assert writes == []


def test_the_25th_rule_and_its_time_zone_are_written_once() -> None:
    """One cancellation schedule (``opportunities.schedule.cancellation_schedule``, re-exported by
    its services) and one Asia/Tokyo constant: every other module imports them."""
    tokyo, cutoff = [], []
    for path in app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == "Asia/Tokyo":
                tokyo.append(str(path.relative_to(ROOT)))
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and "CUTOFF" in target.id for target in node.targets
            ):
                cutoff.append(str(path.relative_to(ROOT)))
    assert tokyo == ["apps/opportunities/schedule.py"]
    assert cutoff == ["apps/opportunities/schedule.py"]
