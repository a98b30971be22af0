"""OAuth 2.0 JWT bearer login against the emulator's token endpoint, over HTTPS."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from apps.integrations.salesforce.auth import (
    SalesforceConfig,
    build_assertion,
    get_session,
    login,
)
from apps.integrations.salesforce.exceptions import (
    SalesforceAuthenticationError,
    SalesforceAuthenticationUnavailable,
    SalesforceUnavailable,
)
from emulators.salesforce.http_server import SalesforceRestEmulator


def _other_private_key(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_login_returns_session_for_the_emulated_org(salesforce: SalesforceRestEmulator) -> None:
    # When
    session = login()

    # Then
    assert session.instance_url == salesforce.base_url
    assert session.org_id == salesforce.org_id
    assert session.user_id == salesforce.store.user_id
    assert salesforce.validate_token(session.access_token) is True
    assert salesforce.counters()["token"] == 1
    assert session.issued_at.tzinfo is not None


def test_session_repr_does_not_reveal_the_token(salesforce: SalesforceRestEmulator) -> None:
    session = login()

    assert session.access_token not in repr(session)
    assert session.access_token not in repr(session.access_token)
    assert repr(session.access_token) == "AccessToken('********')"


def test_get_session_is_cached_until_forced(salesforce: SalesforceRestEmulator) -> None:
    # Given
    first = get_session()

    # When
    second = get_session()
    refreshed = get_session(force_refresh=True)

    # Then
    assert second is first
    assert refreshed.access_token != first.access_token
    assert salesforce.counters()["token"] == 2


def test_private_key_can_come_from_base64_setting(salesforce: SalesforceRestEmulator, settings) -> None:
    # Given
    pem = salesforce.jwt_files.private_key.read_bytes()
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "PRIVATE_KEY_PATH": "/nonexistent/key.pem",
        "PRIVATE_KEY_BASE64": base64.b64encode(pem).decode(),
    }

    # When
    session = login()

    # Then
    assert session.org_id == salesforce.org_id


def test_assertion_claims_follow_the_jwt_bearer_flow(salesforce: SalesforceRestEmulator) -> None:
    import jwt

    config = SalesforceConfig.from_settings()

    claims = jwt.decode(build_assertion(config, now=1_700_000_000), options={"verify_signature": False})

    assert claims == {
        "iss": "portal-emulator-consumer-key",
        "sub": "integration@portal.emulator",
        "aud": salesforce.base_url,
        "exp": 1_700_000_180,
    }


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com/", "https://test.salesforce.com"),
        ("https://sonixnet.my.salesforce.com", "https://sonixnet.my.salesforce.com"),
        ("https://127.0.0.1:8701", "https://127.0.0.1:8701"),
    ],
)
def test_audience_depends_on_the_login_host(login_url: str, audience: str) -> None:
    config = SalesforceConfig(login_url=login_url.rstrip("/"), client_id="c", username="u")

    assert config.audience == audience


def test_login_with_a_key_the_connected_app_does_not_know_is_rejected(
    salesforce: SalesforceRestEmulator, settings, tmp_path: Path
) -> None:
    # Given
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "PRIVATE_KEY_PATH": str(_other_private_key(tmp_path / "k.pem")),
    }

    # When
    with pytest.raises(SalesforceAuthenticationError) as caught:
        login()

    # Then
    assert caught.value.error == "invalid_grant"
    assert caught.value.error_description == "invalid assertion"
    assert caught.value.status == 400
    assert caught.value.retryable is False
    assert salesforce.counters()["token"] == 0


def test_login_with_a_wrong_consumer_key_is_rejected(salesforce: SalesforceRestEmulator, settings) -> None:
    settings.SALESFORCE = {**settings.SALESFORCE, "CLIENT_ID": "someone-elses-app"}

    with pytest.raises(SalesforceAuthenticationError) as caught:
        login()

    assert caught.value.error == "invalid_client_id"
    assert caught.value.error_description == "client identifier invalid"


def test_login_as_an_unknown_user_is_rejected(salesforce: SalesforceRestEmulator, settings) -> None:
    settings.SALESFORCE = {**settings.SALESFORCE, "USERNAME": "intruder@example.com"}

    with pytest.raises(SalesforceAuthenticationError) as caught:
        login()

    assert caught.value.error == "invalid_grant"
    assert caught.value.error_description == "user hasn't approved this consumer"


def test_unreadable_private_key_is_a_configuration_error(
    salesforce: SalesforceRestEmulator, settings
) -> None:
    settings.SALESFORCE = {**settings.SALESFORCE, "PRIVATE_KEY_PATH": "/nonexistent/key.pem"}

    with pytest.raises(SalesforceAuthenticationError) as caught:
        login()

    assert caught.value.error == "invalid_client_config"
    assert caught.value.error_description == "private key file cannot be read (No such file or directory)"


def test_token_endpoint_outage_is_retryable(salesforce: SalesforceRestEmulator) -> None:
    # Given
    salesforce.fail_next(status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/oauth2/token")

    # When
    with pytest.raises(SalesforceAuthenticationUnavailable) as caught:
        login()

    # Then
    assert isinstance(caught.value, SalesforceUnavailable)
    assert caught.value.retryable is True
    assert caught.value.status == 503


def test_unreachable_login_host_is_retryable(salesforce: SalesforceRestEmulator, settings) -> None:
    settings.SALESFORCE = {**settings.SALESFORCE, "LOGIN_URL": "https://127.0.0.1:9", "TIMEOUT_SECONDS": 2.0}

    with pytest.raises(SalesforceAuthenticationUnavailable) as caught:
        login()

    assert caught.value.error == "connection_error"
    assert caught.value.retryable is True


def test_secrets_never_reach_logs_or_errors(
    salesforce: SalesforceRestEmulator,
    settings,
    caplog: pytest.LogCaptureFixture,
    private_key_text: str,
    tmp_path: Path,
) -> None:
    # Given
    caplog.set_level(logging.DEBUG)
    session = get_session()
    errors: list[Exception] = []
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "PRIVATE_KEY_PATH": str(_other_private_key(tmp_path / "k.pem")),
    }

    # When
    with pytest.raises(SalesforceAuthenticationError) as caught:
        login()
    errors.append(caught.value)

    # Then
    for text in [caplog.text, *(str(error) for error in errors), *(repr(error) for error in errors)]:
        assert session.access_token not in text
        assert private_key_text[:64] not in text
        assert "PRIVATE KEY" not in text
