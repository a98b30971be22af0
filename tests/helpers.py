"""Helpers shared by the whole suite: waiting for a condition, customers in the emulated systems,
API clients, outbox delivery and the CI flag.

Fixtures live in ``tests/conftest.py`` (``systems``, ``make_customer`` …); what a test calls
directly lives here or in ``tests/scenarios.py`` (whole setups such as an approved order). Test
modules import helpers from these two, ``tests/factories.py`` and their own package's
``conftest.py``, never from another test module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from django.db.models import TextChoices
from environ import Env
from rest_framework.test import APIClient

from apps.accounts.models import (
    CustomerProfile,
    EligibilityStatus,
    IdVerificationStatus,
    PortalStatus,
    RegistrationSource,
    User,
)
from apps.catalog.models import BillingCycle, ItemClass, ProductType
from apps.checkout.models import ActivationStatus, OrderStatus
from apps.integrations.outbox import DeliveryReport, outbox_deliver_due
from apps.opportunities.models import (
    CancellationNotice,
    CaseOrigin,
    CasePriority,
    CaseStatus,
    CaseType,
    CommodityType,
    LineReturnStatus,
    OpportunitySource,
    OpportunityStage,
)
from emulators import EmulatorSuite
from tests.factories import CustomerFactory

REPOSITORY = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    """Whether the suite runs in CI: ``CI`` read as a boolean the way the settings read theirs
    (django-environ), so ``CI=false`` or ``CI=0`` is false and only ``true``/``1``/``yes``/… is true."""
    return Env().bool("CI", default=False)


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float = 10.0,
    message: str = "the condition",
    interval: float = 0.01,
    details: Callable[[], str] | None = None,
) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds, naming what
    was awaited (and adding ``details()``, e.g. the tail of a worker's log)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            extra = f"\n{details()}" if details is not None else ""
            pytest.fail(f"Timed out after {timeout} s waiting for {message}{extra}")
        time.sleep(interval)


class Background:
    """Runs a callable in a thread and re-raises its exception on ``join``."""

    def __init__(self, target: Callable[[], None], name: str = "test-background") -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(target,), name=name, daemon=True)
        self.thread.start()

    def _run(self, target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # Surfaced by join().
            self.error = exc

    def join(self, timeout: float = 10.0) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the background thread did not stop"
        if self.error is not None:
            raise self.error


# --- Customers --------------------------------------------------------------------------------

# Fields a customer's profile has and the user has not (both have "id").
_PROFILE_FIELDS = frozenset(field.name for field in CustomerProfile._meta.get_fields()) - {"id", "user"}


class MakeCustomer(Protocol):
    """The ``make_customer`` fixture: :func:`make_customer` bound to the test's ``systems``."""

    def __call__(
        self, *, account: Mapping[str, Any] | None = None, payment_method: bool = True, **fields: Any
    ) -> User: ...


def make_customer(
    systems: EmulatorSuite,
    *,
    account: Mapping[str, Any] | None = None,
    payment_method: bool = True,
    **fields: Any,
) -> User:
    """A registered customer (user, profile, ID mapping, as registration leaves them) named Hana
    Sato, whose Salesforce Account exists in the emulator, with a card in the WHMCS mirror
    (``payment_method=False``: none, as before a customer adds one).

    ``fields`` are User fields (``email``, ``first_name`` …) or CustomerProfile fields
    (``internet_eligibility_status`` …), told apart by name; ``account`` adds fields to the
    Salesforce Account.
    """
    profile = {name: value for name, value in fields.items() if name in _PROFILE_FIELDS}
    user_fields = {name: value for name, value in fields.items() if name not in _PROFILE_FIELDS}
    record = systems.salesforce.store.create_record("Account", {"Name": "Sato Hana", **(account or {})})
    return CustomerFactory.create(
        **{"first_name": "Hana", "last_name": "Sato", **user_fields},
        id_mapping__salesforce_account_id=record["Id"],
        **({} if payment_method else {"payment_method": None}),
        **{f"profile__{name}": value for name, value in profile.items()},
    )


def account_id_of(user: User) -> str:
    """The customer's Salesforce Account ID."""
    return user.id_mapping.salesforce_account_id


def api_for(user: User | None) -> APIClient:
    """An API client authenticated as ``user`` (DRF's ``force_authenticate``: no session, so no
    session queries either), or anonymous."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# --- Backing services -------------------------------------------------------------------------

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "portal.cache.DegradingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
"""``CACHES`` as production configures them, with Redis down (nothing listens on port 1)."""


# --- The outbox -------------------------------------------------------------------------------


def deliver_all() -> DeliveryReport:
    """Deliver the outbox until a run delivers nothing (a customer's entries go one per run, in
    order), as the worker's periodic delivery would; the report adds up the runs."""
    total = DeliveryReport()
    while True:
        report = outbox_deliver_due()
        total.api_calls += report.api_calls
        total.failed += report.failed
        total.retrying += report.retrying
        if not report.delivered:
            return total
        total.delivered += report.delivered


# --- Processes --------------------------------------------------------------------------------


def run_python(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter from the repository, with ``env`` instead of the
    settings-related variables of this process (emulator files under ``tmp_path``)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith(("SF_", "WHMCS_", "EMAIL_", "USE_EMULATORS", "PORTAL_FRONTEND_URL"))
    }
    clean.update({"PATH": os.environ["PATH"], "EMULATOR_DIR": str(tmp_path / "emulators"), **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, env=clean, capture_output=True, text=True, timeout=60
    )


# The portal's choices stored in each mapped picklist field.
PICKLIST_CHOICES: dict[str, type[TextChoices]] = {
    "Account.portal_status": PortalStatus,
    "Account.registration_source": RegistrationSource,
    "Account.internet_eligibility_status": EligibilityStatus,
    "Account.id_verification_status": IdVerificationStatus,
    "Opportunity.stage": OpportunityStage,
    "Opportunity.commodity_type": CommodityType,
    "Opportunity.source": OpportunitySource,
    "Opportunity.cancellation_notice": CancellationNotice,
    "Opportunity.sim_cancellation_notice": CancellationNotice,
    "Opportunity.line_return_status": LineReturnStatus,
    "Order.status": OrderStatus,
    "Order.activation_status": ActivationStatus,
    "Case.type": CaseType,
    "Case.status": CaseStatus,
    "Case.origin": CaseOrigin,
    "Case.priority": CasePriority,
    "Product2.product_type": ProductType,
    "Product2.product_family": ProductType,
    "Product2.item_class": ItemClass,
    "Product2.billing_cycle": BillingCycle,
}


def add_product(systems: EmulatorSuite, *, price: str | None = "5280", **fields: object) -> str:
    store = systems.salesforce.store
    product = store.create_record(
        "Product2",
        {
            "Name": "SonixNet Home 1G",
            "ProductCode": "NET-HOME-1G",
            "IsActive": True,
            "Product_Type__c": "Internet",
            "Item_Class__c": "Service",
            "Billing_Cycle__c": "Monthly",
            "WHMCS_Product_Id__c": "1",
            "Portal_ConfigOptions_JSON__c": '{"router": "wifi6"}',
            "Eligibility_Offering__c": "Home 1G",
            **fields,
        },
    )
    if price is not None:
        standard = store.find_records("Pricebook2", IsStandard=True)[0]
        store.create_record(
            "PricebookEntry",
            {
                "Pricebook2Id": standard["Id"],
                "Product2Id": product["Id"],
                "UnitPrice": float(price),
                "IsActive": True,
            },
        )
    return product["Id"]


# --- API errors ---------------------------------------------------------------------------------
# Tests read error bodies through these, never by indexing the JSON, so the error shape is asserted
# in one place (tests/portal/test_error_envelope.py) and every other test says only which error it
# expects. The envelope: {"code", "message", "request_id", "fields"?, "details"?} (portal/exceptions.py).


def error_code(response: Any) -> str:
    """The machine code of an API error response."""
    return str(response.json()["code"])


def error_message(response: Any) -> str:
    """The translated message of an API error response."""
    return str(response.json()["message"])


def error_details(response: Any) -> dict[str, Any]:
    """What an API error adds to its code and message (e.g. the months a customer may choose)."""
    return dict(response.json().get("details", {}))


def field_errors(response: Any) -> dict[str, list[str]]:
    """Field name (dotted when nested, ``non_field_errors`` for the whole body) → the codes of its
    validation errors."""
    fields = response.json().get("fields", {})
    return {name: [str(error["code"]) for error in errors] for name, errors in fields.items()}


def field_messages(response: Any) -> dict[str, list[str]]:
    """Field name → the translated messages of its validation errors."""
    fields = response.json().get("fields", {})
    return {name: [str(error["message"]) for error in errors] for name, errors in fields.items()}
