from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from tests.factories import CustomerFactory, IdMappingFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_users_sign_in_by_email_stored_in_lower_case() -> None:
    user = User.objects.create_user("Taro.Yamada@Example.COM", "correct-horse-battery")

    assert user.email == "taro.yamada@example.com"
    assert user.check_password("correct-horse-battery")
    assert user.USERNAME_FIELD == "email"


def test_an_email_belongs_to_one_user() -> None:
    UserFactory(email="hanako@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="hanako@example.com")


def test_superuser_is_staff() -> None:
    admin = User.objects.create_superuser("ops@sonixnet.example", "correct-horse-battery")

    assert admin.is_staff is True
    assert admin.is_superuser is True


def test_customer_factory_builds_profile_and_mapping() -> None:
    customer = CustomerFactory()

    assert customer.profile.customer_number.startswith("P")
    assert customer.id_mapping.salesforce_account_id.startswith("001")
    assert customer.id_mapping.whmcs_client_id is not None


@pytest.mark.parametrize("field", ["salesforce_account_id", "salesforce_contact_id", "whmcs_client_id"])
def test_an_external_record_maps_to_one_portal_user(field: str) -> None:
    existing = IdMappingFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        IdMappingFactory(**{field: getattr(existing, field)})


def test_a_user_has_one_mapping() -> None:
    mapping = IdMappingFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        IdMappingFactory(user=mapping.user)


def test_several_users_may_have_no_whmcs_client_yet() -> None:
    IdMappingFactory(whmcs_client_id=None, salesforce_contact_id=None)
    IdMappingFactory(whmcs_client_id=None, salesforce_contact_id=None)

    assert User.objects.filter(id_mapping__whmcs_client_id__isnull=True).count() == 2
