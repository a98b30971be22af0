"""``Idempotency-Key`` on every creating POST: a double submit creates one record, whoever the
customer and whatever the endpoint (``conftest.CREATING_POSTS``)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.integrations.models import OutboxEntry
from tests.helpers import Background, error_code, error_message, wait_until
from tests.idempotency.conftest import CreatingPost, outcome

pytestmark = pytest.mark.django_db


def test_a_double_submit_with_one_key_creates_one_record_and_answers_alike(
    creating_post: CreatingPost,
) -> None:
    first = creating_post.send(key="a1b2c3")
    owed_to_salesforce = OutboxEntry.objects.count()

    repeat = creating_post.send(key="a1b2c3")

    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert (repeat.status_code, repeat.json()) == (201, first.json())
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert creating_post.records() == 1
    assert OutboxEntry.objects.count() == owed_to_salesforce


def test_the_key_with_another_request_is_refused(creating_post: CreatingPost) -> None:
    creating_post.send(key="a1b2c3")

    other = creating_post.send(creating_post.other_body, key="a1b2c3")

    assert other.status_code == 409
    assert (error_code(other), error_message(other)) == (
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request.",
    )
    assert creating_post.records() == 1


def test_without_a_key_a_double_submit_still_creates_no_second_record(creating_post: CreatingPost) -> None:
    first = creating_post.send()
    second = creating_post.send()

    assert (outcome(first), outcome(second)) == creating_post.without_key
    assert creating_post.records() == (1 if first.status_code == 201 else 0)
    if second.status_code == 200:  # the record the first request created
        assert second.json() == first.json()


def test_a_refused_request_keeps_nothing_so_the_corrected_one_runs(creating_post: CreatingPost) -> None:
    refused = creating_post.send(creating_post.invalid_body, key="a1b2c3")

    corrected = creating_post.send(key="a1b2c3")
    repeat = creating_post.send(key="a1b2c3")

    assert refused.status_code == 400
    assert corrected.status_code == 201, corrected.json()
    assert "Idempotent-Replayed" not in corrected.headers
    assert (repeat.status_code, repeat.json(), repeat.headers["Idempotent-Replayed"]) == (
        201,
        corrected.json(),
        "true",
    )
    assert creating_post.records() == 1


def test_a_key_belongs_to_one_customer(new_creating_post: Callable[[], CreatingPost]) -> None:
    # Given customer A's request with a key
    a, b = new_creating_post(), new_creating_post()
    a_answer = a.send(key="a1b2c3")

    # When customer B sends the same request with the same key
    b_answer = b.send(key="a1b2c3")
    b_repeat = b.send(key="a1b2c3")

    # Then B's request runs for B, and B's repeat gets B's answer, never A's
    assert (a_answer.status_code, b_answer.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in b_answer.headers
    assert a.records() == 2
    assert b_repeat.json() == b_answer.json()
    assert b_repeat.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["k" * 256, "line\nbreak"])
def test_an_unusable_key_is_refused_before_anything_runs(creating_post: CreatingPost, key: str) -> None:
    response = creating_post.send(key=key)

    assert outcome(response) == (400, "idempotency_key_invalid")
    assert creating_post.records() == 0


# --- While the first request runs ------------------------------------------------------------------


def hold(monkeypatch: pytest.MonkeyPatch, target: str) -> tuple[threading.Event, threading.Event]:
    """Make the function at ``target`` wait, once called, until the second event is set; the first
    is set when a call arrives."""
    module_name, name = target.rsplit(".", 1)
    module = importlib.import_module(module_name)
    real = getattr(module, name)
    arrived, released = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        arrived.set()
        assert released.wait(timeout=30), "the test never released the request"
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held)
    return arrived, released


@pytest.mark.django_db(transaction=True)
def test_a_repeat_while_the_first_runs_is_told_to_retry(
    creating_post: CreatingPost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first request with a key, still running
    arrived, released = hold(monkeypatch, creating_post.service)
    answers: dict[str, Any] = {}

    def first_request() -> None:
        try:
            answers["first"] = creating_post.send(key="a1b2c3")
        finally:
            connection.close()

    first = Background(first_request, name="first-request")
    wait_until(arrived.is_set, message="the first request to be running")

    # When the same request, and another one, come with the key meanwhile
    repeat = creating_post.send(key="a1b2c3")
    other = creating_post.send(creating_post.other_body, key="a1b2c3")
    released.set()
    first.join(timeout=30)
    after = creating_post.send(key="a1b2c3")

    # Then the repeat is told to try again shortly, the other request is refused, and once the
    # first has answered its answer is what the repeat gets
    assert outcome(repeat) == (409, "idempotency_key_in_progress")
    assert (
        error_message(repeat)
        == "A request with this Idempotency-Key is still being processed. Please try again."
    )
    assert repeat.headers["Retry-After"] == "1"
    assert outcome(other) == (409, "idempotency_key_reused")
    assert answers["first"].status_code == 201
    assert (after.status_code, after.json()) == (201, answers["first"].json())
    assert creating_post.records() == 1
