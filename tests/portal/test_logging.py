from __future__ import annotations

import logging

from portal.logging import ContextFormatter


def test_ids_passed_as_extras_are_rendered_as_key_values() -> None:
    record = logging.LogRecord(
        "apps.checkout", logging.INFO, __file__, 1, "Order %s fulfilled", ("801X",), None
    )
    record.salesforce_order_id = "801X"
    record.whmcs_order_id = 42

    line = ContextFormatter("%(levelname)s %(message)s").format(record)

    assert line == "INFO Order 801X fulfilled salesforce_order_id=801X whmcs_order_id=42"


def test_a_plain_record_is_unchanged() -> None:
    record = logging.LogRecord("apps", logging.WARNING, __file__, 1, "plain", None, None)

    assert ContextFormatter("%(message)s").format(record) == "plain"
