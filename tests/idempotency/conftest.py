"""Every creating POST of the API, set up for a customer who can make it, so that one set of tests
covers them all (``creating_post``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.checkout.models import Order
from apps.opportunities.models import Case, CaseComment, CaseType
from apps.verification.models import EligibilityRequest, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.factories import SupportCaseFactory
from tests.helpers import make_customer
from tests.scenarios import (
    ADDRESS,
    ORDERS_URL,
    SIGNUP,
    cancellation_url,
    customer_with_service,
    eligible_customer,
    internet_plan,
    png_bytes,
    upload,
)

Outcome = tuple[int, str | None]
"""An answer's status and its error ``code`` (None: none, as for a success or a field error)."""


@dataclass(frozen=True)
class CreatingPost:
    """One creating POST, ready for ``user`` (None: anonymous) to send."""

    user: User | None
    url: str
    body: dict[str, Any]
    other_body: dict[str, Any]
    """Another request, that a key already used for ``body`` must not be used for."""
    invalid_body: dict[str, Any]
    """Refused with 400."""
    records: Callable[[], int]
    """How many of what the POST creates exist."""
    service: str
    """What the view calls to create, by import path (held to catch a request while it runs)."""
    without_key: tuple[Outcome, Outcome]
    """What the first and the second of two identical requests without a key get."""
    format: str = "json"

    def client(self) -> APIClient:
        """A new client of the user's own: a browser session (or an anonymous browser)."""
        client = APIClient()
        if self.user is not None:
            client.force_login(self.user)
        return client

    def send(
        self, body: dict[str, Any] | None = None, *, key: str | None = None, client: APIClient | None = None
    ) -> Any:
        data = self.body if body is None else body
        # A file is sent as a new upload of the same bytes each time, as a browser resends it.
        data = {name: upload(value) if isinstance(value, bytes) else value for name, value in data.items()}
        headers = {} if key is None else {"Idempotency-Key": key}
        return (client or self.client()).post(self.url, data, format=self.format, headers=headers)


def outcome(response: Any) -> Outcome:
    body = response.json()
    return response.status_code, body.get("code") if isinstance(body, dict) else None


_whmcs_ids = itertools.count(5001)


def eligibility_request(systems: EmulatorSuite) -> CreatingPost:
    return CreatingPost(
        user=make_customer(systems),
        url="/api/eligibility-request",
        body=ADDRESS,
        other_body={**ADDRESS, "address_line2": "Room 1204"},
        invalid_body={**ADDRESS, "postal_code": "15-00002"},
        records=EligibilityRequest.objects.count,
        service="apps.verification.api.views.eligibility_request_create",
        without_key=((201, None), (409, "eligibility_pending")),
    )


def residence_card(systems: EmulatorSuite) -> CreatingPost:
    return CreatingPost(
        user=make_customer(systems),
        url="/api/verification/residence-card",
        body={"file": png_bytes()},
        other_body={"file": png_bytes()},
        invalid_body={"file": b"not an image"},
        records=ResidenceCardSubmission.objects.count,
        service="apps.verification.api.views.residence_card_submit",
        without_key=((201, None), (409, "id_verification_pending")),
        format="multipart",
    )


def support_case(systems: EmulatorSuite) -> CreatingPost:
    body = {"subject": "No connection", "description": "The router's light is red.", "category": "internet"}
    return CreatingPost(
        user=make_customer(systems),
        url="/api/support/cases",
        body=body,
        other_body={**body, "subject": "No connection since Monday"},
        invalid_body={**body, "category": "weather"},
        records=Case.objects.filter(type=CaseType.GENERAL_INQUIRY).count,
        service="apps.opportunities.api.support.support_case_create",
        without_key=((201, None), (200, None)),
    )


def support_comment(systems: EmulatorSuite) -> CreatingPost:
    user = make_customer(systems)
    case = SupportCaseFactory.create(user=user)
    return CreatingPost(
        user=user,
        url=f"/api/support/cases/{case.pk}/comments",
        body={"body": "It is red again this morning."},
        other_body={"body": "It is green now."},
        invalid_body={"body": " "},
        records=CaseComment.objects.count,
        service="apps.opportunities.api.support.support_case_comment_add",
        without_key=((201, None), (200, None)),
    )


def cancellation(systems: EmulatorSuite) -> CreatingPost:
    user, service, _ = customer_with_service(systems, whmcs_id=next(_whmcs_ids))
    return CreatingPost(
        user=user,
        url=cancellation_url(service),
        body={"confirm": True, "comments": "Moving abroad."},
        other_body={"confirm": True, "comments": "Moving to Osaka."},
        invalid_body={"confirm": False},
        records=Case.objects.filter(type=CaseType.CANCELLATION_REQUEST).count,
        service="apps.opportunities.api.views.subscription_cancellation_request",
        without_key=((201, None), (409, "cancellation_already_requested")),
    )


def order(systems: EmulatorSuite) -> CreatingPost:
    plan = internet_plan(systems)
    body = {"product_type": "internet", "items": [{"product_id": plan.pk, "quantity": 1}]}
    return CreatingPost(
        user=eligible_customer(systems),
        url=ORDERS_URL,
        body=body,
        other_body={**body, "items": [{"product_id": plan.pk, "quantity": 2}]},
        invalid_body={**body, "items": []},
        records=Order.objects.count,
        service="apps.checkout.api.views.order_place",
        # Orders need the key.
        without_key=((400, "idempotency_key_required"), (400, "idempotency_key_required")),
    )


def _registrations() -> int:
    return User.objects.filter(email="hana.sato@example.com").count()


def signup(systems: EmulatorSuite) -> CreatingPost:
    return CreatingPost(
        user=None,
        url="/api/auth/signup",
        body=SIGNUP,
        other_body={**SIGNUP, "first_name": "Hanako"},
        invalid_body={**SIGNUP, "postal_code": "15-00002"},
        records=_registrations,
        service="apps.accounts.api.views.customer_register",
        # The same sign-up again (same email and password) signs in to the registration made.
        without_key=((201, None), (200, None)),
    )


def checkout_registration(systems: EmulatorSuite) -> CreatingPost:
    body = {**SIGNUP, "order_type": "sim"}
    return CreatingPost(
        user=None,
        url="/api/checkout/registration",
        body=body,
        other_body={**body, "order_type": "internet"},
        invalid_body={**body, "order_type": "tv"},
        records=_registrations,
        service="apps.checkout.api.views.customer_register",
        without_key=((201, None), (200, None)),
    )


CREATING_POSTS: dict[str, Callable[[EmulatorSuite], CreatingPost]] = {
    "eligibility_request": eligibility_request,
    "residence_card": residence_card,
    "support_case": support_case,
    "support_comment": support_comment,
    "cancellation": cancellation,
    "order": order,
    "signup": signup,
    "checkout_registration": checkout_registration,
}
CUSTOMER_POSTS = [name for name in CREATING_POSTS if name not in ("signup", "checkout_registration")]


@pytest.fixture(params=sorted(CREATING_POSTS))
def creating_post(request: pytest.FixtureRequest, systems: EmulatorSuite) -> CreatingPost:
    return CREATING_POSTS[request.param](systems)


@pytest.fixture(params=sorted(CUSTOMER_POSTS))
def new_creating_post(request: pytest.FixtureRequest, systems: EmulatorSuite) -> Callable[[], CreatingPost]:
    """Set up one of the signed-in customers' creating POSTs, for a new customer at each call."""
    return lambda: CREATING_POSTS[request.param](systems)
