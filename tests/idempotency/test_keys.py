"""The keys themselves: two requests at once, a request that died holding its key, the hourly
cleanup, what the fingerprint tells apart, and the schema that documents it all."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.idempotency.api import idempotent, request_fingerprint
from apps.idempotency.models import IdempotentRequest
from apps.idempotency.services import (
    IdempotencyKeyInProgress,
    idempotent_request_begin,
    idempotent_request_complete,
)
from apps.idempotency.tasks import delete_expired_idempotent_requests_task
from apps.opportunities.api import support as support_api
from apps.opportunities.models import Case
from emulators import EmulatorSuite
from tests.factories import IdempotentRequestFactory
from tests.helpers import MakeCustomer, error_code, error_message
from tests.idempotency.conftest import CREATING_POSTS

pytestmark = pytest.mark.django_db

TICKET = {"subject": "No connection", "description": "The router's light is red.", "category": "internet"}


@pytest.mark.django_db(transaction=True)
def test_of_two_requests_at_once_with_one_key_only_one_runs(
    make_customer: MakeCustomer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a customer who double-clicks "open ticket": two requests with one key, released together
    customer = make_customer()
    runs: list[int] = []
    create = support_api.support_case_create

    def counted(**kwargs: Any) -> Any:
        runs.append(1)
        return create(**kwargs)

    monkeypatch.setattr(support_api, "support_case_create", counted)
    barrier = threading.Barrier(2, timeout=10)
    answers: list[Any] = []

    def send() -> None:
        client = Client()
        client.force_login(customer)
        barrier.wait()
        try:
            answers.append(
                client.post(
                    "/api/support/cases",
                    TICKET,
                    content_type="application/json",
                    headers={"Idempotency-Key": "k1"},
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then the ticket is opened once; the other request waited for nothing or got the same answer
    assert len(runs) == 1
    assert Case.objects.count() == 1
    answered = sorted(
        (answer.status_code, answer.headers.get("Idempotent-Replayed", "")) for answer in answers
    )
    assert answered in ([(201, ""), (201, "true")], [(201, ""), (409, "")])


def test_a_key_held_by_a_request_that_died_is_taken_over_once_its_lock_runs_out() -> None:
    started = timezone.now()
    dead = idempotent_request_begin(scope="user:1", operation="POST x", key="k", fingerprint="f", now=started)

    with pytest.raises(IdempotencyKeyInProgress):
        idempotent_request_begin(
            scope="user:1", operation="POST x", key="k", fingerprint="f", now=started + timedelta(seconds=59)
        )
    retry = idempotent_request_begin(
        scope="user:1", operation="POST x", key="k", fingerprint="f", now=started + timedelta(seconds=61)
    )
    # The request thought dead answers after all: the retry holds the key now, so its answer counts.
    idempotent_request_complete(dead, status=201, body={"from": "the first"})
    idempotent_request_complete(retry, status=201, body={"from": "the retry"})

    kept = IdempotentRequest.objects.get()
    assert (kept.pk, kept.state, kept.response_body) == (dead.pk, "completed", {"from": "the retry"})


def test_keys_are_deleted_a_day_after_they_were_first_used() -> None:
    old, recent = IdempotentRequestFactory.create_batch(2)
    IdempotentRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    IdempotentRequest.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(hours=23))

    deleted = delete_expired_idempotent_requests_task()

    assert deleted == 1
    assert list(IdempotentRequest.objects.values_list("pk", flat=True)) == [recent.pk]


class Refusing(APIView):
    """A view that answers an error itself rather than raising it."""

    permission_classes = [AllowAny]

    @idempotent()
    def post(self, request: Request) -> Response:
        return Response({"detail": "Not today.", "code": "closed"}, status=503)


def test_an_error_a_view_answers_itself_keeps_nothing() -> None:
    request = APIRequestFactory().post("/api/refusing", {}, format="json", headers={"Idempotency-Key": "k1"})

    response = Refusing.as_view()(request)

    assert response.status_code == 503
    assert not IdempotentRequest.objects.exists()


# --- The fingerprint -----------------------------------------------------------------------------


def fingerprint(
    data: Any, url_kwargs: dict[str, Any] | None = None, secret: frozenset[str] = frozenset()
) -> str:
    return request_fingerprint(data, url_kwargs=url_kwargs or {}, secret_fields=secret)


def test_the_fingerprint_ignores_field_order_and_secret_fields_only() -> None:
    body = {"email": "hana@example.com", "password": "violet-harbor-1987", "first_name": "Hana"}
    reordered = {"first_name": "Hana", "password": "another-password", "email": "hana@example.com"}

    assert fingerprint(body, secret=frozenset({"password"})) == fingerprint(
        reordered, secret=frozenset({"password"})
    )
    assert fingerprint(body) != fingerprint(reordered)
    assert fingerprint(body) != fingerprint({**body, "first_name": "Hanako"})


def test_the_fingerprint_tells_urls_and_file_contents_apart() -> None:
    def form(content: bytes) -> MultiValueDict:
        return MultiValueDict({"file": [SimpleUploadedFile("card.png", content)], "note": ["front"]})

    assert fingerprint({"body": "Hi"}, {"case_id": 1}) != fingerprint({"body": "Hi"}, {"case_id": 2})
    assert fingerprint(form(b"one photo")) == fingerprint(form(b"one photo"))
    assert fingerprint(form(b"one photo")) != fingerprint(form(b"another photo"))


def test_the_file_can_be_read_again_after_its_digest() -> None:
    upload = SimpleUploadedFile("card.png", b"the photo")

    fingerprint(MultiValueDict({"file": [upload]}))

    assert upload.read() == b"the photo"


# --- The schema ----------------------------------------------------------------------------------


def test_every_creating_post_documents_the_key_its_answers_and_its_conflicts(
    client: Client, systems: EmulatorSuite
) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    creating = {
        path: operations["post"]
        for path, operations in schema["paths"].items()
        if "201" in operations.get("post", {}).get("responses", {})
    }
    documented = {}
    for path, operation in creating.items():
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        documented[path] = header.get("required", False)
        assert header["in"] == "header"
        assert "the first request's answer comes back" in header["description"]
        assert "idempotency_key_reused" in operation["responses"]["409"]["description"]
        assert "idempotency_key_in_progress" in operation["responses"]["409"]["description"]
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert len(documented) == len(CREATING_POSTS)
    assert [path for path, required in documented.items() if required] == ["/api/orders"]
    # A 409 the operation had already is kept.
    assert schema["paths"]["/api/eligibility-request"]["post"]["responses"]["409"]["description"].startswith(
        "A check is already pending."
    )


def test_a_refusal_speaks_the_customers_language(make_customer: MakeCustomer) -> None:
    client = Client()
    client.force_login(make_customer())
    headers = {"Idempotency-Key": "k1", "Accept-Language": "ja"}
    client.post("/api/support/cases", TICKET, content_type="application/json", headers=headers)

    response = client.post(
        "/api/support/cases", {**TICKET, "subject": "Slow"}, content_type="application/json", headers=headers
    )

    assert (error_code(response), error_message(response)) == (
        "idempotency_key_reused",
        "このIdempotency-Keyは別のリクエストですでに使われています。",
    )
