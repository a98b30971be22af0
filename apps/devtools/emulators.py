"""The glue between the portal's settings and the emulators: the one place in ``apps/`` that knows
both.

- :func:`emulator_suite_from_settings`: the suite on the ports, credentials and folder the portal's
  development settings point at (``SALESFORCE_EMULATOR``, ``WHMCS_EMULATOR``, ``EMULATOR_DIR``);
- :func:`settings_overrides`: the ``SALESFORCE`` and ``WHMCS`` settings entries that point the
  portal's real clients at a running suite (the tests and benchmarks use it);
- :func:`process_environment`: the same as the ``SF_*``/``WHMCS_*`` variables another portal process
  reads (``portal/settings.py``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from emulators import EmulatorSuite


def emulator_suite_from_settings(**overrides: Any) -> EmulatorSuite:
    """The suite on the ports and files the portal's default settings point at, keeping its
    records in ``EMULATOR_DIR`` across restarts."""
    sf, whmcs = settings.SALESFORCE_EMULATOR, settings.WHMCS_EMULATOR
    options: dict[str, Any] = {
        "directory": settings.EMULATOR_DIR,
        "host": sf["HOST"],
        "salesforce_http_port": sf["HTTP_PORT"],
        "salesforce_grpc_port": sf["GRPC_PORT"],
        "whmcs_port": whmcs["PORT"],
        "salesforce_consumer_key": settings.SALESFORCE["CLIENT_ID"],
        "salesforce_username": settings.SALESFORCE["USERNAME"],
        "whmcs_identifier": settings.WHMCS["IDENTIFIER"],
        "whmcs_secret": settings.WHMCS["SECRET"],
        "account_event_channel": settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"],
        "order_provision_event_channel": settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"],
        "persistent": True,
    }
    options.update(overrides)
    return EmulatorSuite(**options)


def settings_overrides(suite: EmulatorSuite) -> dict[str, dict[str, Any]]:
    """``SALESFORCE`` and ``WHMCS`` entries that point the portal at ``suite``."""
    return {
        "SALESFORCE": {
            "LOGIN_URL": suite.salesforce.base_url,
            "CLIENT_ID": suite.salesforce_consumer_key,
            "USERNAME": suite.salesforce_username,
            "PRIVATE_KEY_PATH": str(suite.salesforce.jwt_files.private_key),
            "PRIVATE_KEY_BASE64": "",
            "CA_BUNDLE": str(suite.salesforce.ca_bundle),
            "PUBSUB_ENDPOINT": f"{suite.host}:{suite.pubsub.port}",
        },
        "WHMCS": {
            "API_URL": suite.whmcs.url,
            "IDENTIFIER": suite.whmcs_identifier,
            "SECRET": suite.whmcs_secret,
            "ACCESS_KEY": "",
        },
    }


def process_environment(suite: EmulatorSuite) -> dict[str, str]:
    """The ``SF_*`` and ``WHMCS_*`` variables that point another portal process (a worker, the
    events subscriber) at ``suite``, as ``portal/settings.py`` reads them."""
    overrides = settings_overrides(suite)
    sf, whmcs = overrides["SALESFORCE"], overrides["WHMCS"]
    return {
        "SF_LOGIN_URL": sf["LOGIN_URL"],
        "SF_CLIENT_ID": sf["CLIENT_ID"],
        "SF_USERNAME": sf["USERNAME"],
        "SF_PRIVATE_KEY_PATH": sf["PRIVATE_KEY_PATH"],
        "SF_CA_BUNDLE": sf["CA_BUNDLE"],
        "SF_PUBSUB_ENDPOINT": sf["PUBSUB_ENDPOINT"],
        "WHMCS_API_URL": whmcs["API_URL"],
        "WHMCS_API_IDENTIFIER": whmcs["IDENTIFIER"],
        "WHMCS_API_SECRET": whmcs["SECRET"],
    }
