"""manage.py load_demo_data: the demo customers exist in the portal, Salesforce and WHMCS alike."""

from __future__ import annotations

import socket
from base64 import b32encode
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import Settings

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, User
from apps.billing.models import WhmcsService
from apps.catalog.models import Product
from apps.checkout.models import ActivationStatus, Order, OrderStatus
from apps.integrations.models import OutboxEntry
from apps.notifications.models import NotificationType

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def emulator_settings(settings: Settings, tmp_path: Path) -> Path:
    """Point the portal's defaults at emulator ports of this test's own."""
    http, grpc, whmcs = free_port(), free_port(), free_port()
    settings.EMULATOR_DIR = tmp_path
    settings.SALESFORCE_EMULATOR = {**settings.SALESFORCE_EMULATOR, "HTTP_PORT": http, "GRPC_PORT": grpc}
    settings.WHMCS_EMULATOR = {**settings.WHMCS_EMULATOR, "PORT": whmcs}
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "LOGIN_URL": f"https://127.0.0.1:{http}",
        "PRIVATE_KEY_PATH": str(tmp_path / "jwt-private-key.pem"),
        "PRIVATE_KEY_BASE64": "",
        "CA_BUNDLE": str(tmp_path / "ca.pem"),
        "PUBSUB_ENDPOINT": f"127.0.0.1:{grpc}",
    }
    settings.WHMCS = {**settings.WHMCS, "API_URL": f"http://127.0.0.1:{whmcs}/includes/api.php"}
    return tmp_path


def test_demo_customers_are_made_by_the_real_flows(emulator_settings: Path) -> None:
    output = StringIO()

    call_command("load_demo_data", stdout=output)

    assert "agent@sonixnet.example" in output.getvalue()
    # The agent's authenticator, for the console's second factor: its key and otpauth:// URI.
    device = TOTPDevice.objects.get(user__email="agent@sonixnet.example", confirmed=True)
    key = b32encode(device.bin_key).decode()
    assert f"key  {key}" in output.getvalue()
    assert (
        f"otpauth://totp/SonixNet%20agent%20console%3Aagent%40sonixnet.example?secret={key}"
        in output.getvalue()
    )
    assert Product.objects.filter(is_active=True).count() == 8
    assert not OutboxEntry.objects.exclude(status=OutboxEntry.Status.DELIVERED).exists()
    kenji = User.objects.get(email="kenji.tanaka@example.com")
    assert kenji.profile.internet_eligibility_status == EligibilityStatus.PENDING
    yui = User.objects.get(email="yui.suzuki@example.com")
    order = Order.objects.get(user=yui)
    assert (order.status, order.activation_status) == (OrderStatus.COMPLETED, ActivationStatus.ACTIVATED)
    assert set(WhmcsService.objects.filter(user=yui).values_list("status", flat=True)) == {"Active"}
    assert set(yui.notifications.values_list("type", flat=True)) >= {
        NotificationType.ORDER_ACTIVATED,
        NotificationType.ELIGIBILITY_ELIGIBLE,
    }
    ren = User.objects.get(email="ren.watanabe@example.com")
    assert ren.profile.id_verification_status == IdVerificationStatus.REJECTED
    sora = User.objects.get(email="sora.kato@example.com")
    assert Order.objects.get(user=sora).status == OrderStatus.PENDING_REVIEW
    assert (emulator_settings / "salesforce-state.json").exists()
    assert (emulator_settings / "whmcs-state.json").exists()

    call_command("load_demo_data", stdout=StringIO())  # again: same records, new passwords

    assert TOTPDevice.objects.get(user__email="agent@sonixnet.example") == device  # same authenticator

    assert User.objects.filter(email__endswith="@example.com").count() == 6
    assert Order.objects.filter(user=yui).count() == 1


def test_demo_data_is_refused_when_salesforce_is_not_the_emulator(
    emulator_settings: Path, settings: Settings
) -> None:
    settings.SALESFORCE = {**settings.SALESFORCE, "LOGIN_URL": "https://login.salesforce.com"}

    with pytest.raises(CommandError, match="only for the emulators"):
        call_command("load_demo_data", stdout=StringIO())

    assert not User.objects.exists()
