"""Two cancellation requests for one service at the same moment: one is accepted."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from apps.integrations.models import OutboxEntry
from apps.notifications.models import Notification
from apps.opportunities.models import Case
from emulators import EmulatorSuite
from tests.helpers import api_for
from tests.scenarios import cancel, customer_with_service

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_double_submitted_cancellation_is_recorded_once(systems: EmulatorSuite) -> None:
    user, service, _ = customer_with_service(systems)
    barrier = threading.Barrier(2, timeout=10)
    responses: list[Any] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait()
            responses.append(cancel(api_for(user), service))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert Case.objects.count() == 1
    assert OutboxEntry.objects.count() == 1
    assert Notification.objects.count() == 1
