"""Serializers shared by the account and checkout registration APIs."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from apps.accounts.models import (
    AccountSetup,
    EligibilityStatus,
    IdVerificationStatus,
    Language,
    RegistrationSource,
    User,
)
from apps.accounts.registration import RegistrationData
from apps.accounts.selectors import account_setup_of
from apps.accounts.validators import (
    normalize_phone_number,
    normalize_postal_code,
    normalize_prefecture,
    normalize_prefecture_ja,
    prefecture_ja_of,
    validate_japanese_place,
    validate_japanese_street,
)
from portal.fields import EnumField, wire_choices

INTERNET_ELIGIBILITY_STATUSES = wire_choices(EligibilityStatus.choices)
ID_VERIFICATION_STATUSES = wire_choices(IdVerificationStatus.choices)


def _django_validator(function: Any) -> Any:
    def validate(value: str) -> str:
        try:
            return function(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    return validate


class AddressInputSerializer(serializers.Serializer):
    """A Japanese postal address in romaji and in Japanese script (one postal code); values come
    back normalised (``150-0002``, ``Tokyo``, ``東京都``).

    Here the Japanese address is optional, for the clients that send romaji only, but whole: once
    one part of it is given, the prefecture, city and street are required.
    ``EligibilityRequestInputSerializer`` requires it (the NTT check reads it)."""

    postal_code = serializers.CharField(max_length=10)
    prefecture = serializers.CharField(max_length=20)
    city = serializers.CharField(max_length=100)
    address_line1 = serializers.CharField(max_length=255)
    address_line2 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    prefecture_ja = serializers.CharField(
        max_length=10,
        required=False,
        allow_blank=True,
        default="",
        help_text="The prefecture in kanji (`東京都`; `東京` is accepted): the same prefecture as `prefecture`.",
    )
    city_ja = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The city, ward, town or village in Japanese (`渋谷区`).",
    )
    address_line1_ja = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="The town and block in Japanese (`神宮前1-2-3`); block numbers alone are accepted.",
    )
    address_line2_ja = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="The building and room as written in Japanese (any script).",
    )

    def validate_postal_code(self, value: str) -> str:
        return _django_validator(normalize_postal_code)(value)

    def validate_prefecture(self, value: str) -> str:
        return _django_validator(normalize_prefecture)(value)

    def validate_prefecture_ja(self, value: str) -> str:
        return _django_validator(normalize_prefecture_ja)(value) if value.strip() else ""

    def validate_city_ja(self, value: str) -> str:
        return _django_validator(validate_japanese_place)(value) if value.strip() else ""

    def validate_address_line1_ja(self, value: str) -> str:
        return _django_validator(validate_japanese_street)(value) if value.strip() else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        errors: dict[str, list[ErrorDetail]] = {}
        if any(attrs.get(name) for name in JAPANESE_ADDRESS_FIELDS):
            for name in JAPANESE_ADDRESS_REQUIRED:
                if not attrs.get(name):
                    missing = _("Give the whole address in Japanese: this part is missing.")
                    errors[name] = [ErrorDetail(str(missing), code="required")]
        prefecture_ja = attrs.get("prefecture_ja")
        if (
            prefecture_ja
            and attrs.get("prefecture")
            and prefecture_ja != prefecture_ja_of(attrs["prefecture"])
        ):
            mismatch = _("This is not the same prefecture as the one in romaji (%(prefecture)s).") % {
                "prefecture": attrs["prefecture"]
            }
            errors["prefecture_ja"] = [ErrorDetail(str(mismatch), code="prefecture_mismatch")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


JAPANESE_ADDRESS_FIELDS = ("prefecture_ja", "city_ja", "address_line1_ja", "address_line2_ja")
JAPANESE_ADDRESS_REQUIRED = ("prefecture_ja", "city_ja", "address_line1_ja")


class RegistrationInputSerializer(AddressInputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    first_name_kana = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name_kana = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone_number = serializers.CharField(max_length=20)
    birth_date = serializers.DateField(required=False, allow_null=True, default=None)

    def validate_email(self, value: str) -> str:
        return User.objects.normalize_email(value).lower()

    def validate_phone_number(self, value: str) -> str:
        return _django_validator(normalize_phone_number)(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        candidate = User(email=attrs["email"], first_name=attrs["first_name"], last_name=attrs["last_name"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs

    def to_registration_data(self) -> RegistrationData:
        fields = RegistrationData.__dataclass_fields__
        return RegistrationData(**{key: value for key, value in self.validated_data.items() if key in fields})


class PreferredLanguageSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=Language.choices, help_text="The customer's language.")


class MeOutputSerializer(serializers.Serializer):
    """The signed-in customer, as the portal mirrors them."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    customer_number = serializers.CharField(source="profile.customer_number", allow_null=True, default=None)
    registration_source = EnumField(
        choices=RegistrationSource.choices,
        source="profile.registration_source",
        default=None,
        allow_null=True,
        help_text="How the customer first registered; null when the portal does not know (no profile yet).",
    )
    phone_number = serializers.CharField(source="profile.phone_number", default="")
    postal_code = serializers.CharField(source="profile.postal_code", default="")
    prefecture = serializers.CharField(source="profile.prefecture", default="")
    city = serializers.CharField(source="profile.city", default="")
    address_line1 = serializers.CharField(source="profile.address_line1", default="")
    address_line2 = serializers.CharField(source="profile.address_line2", default="")
    prefecture_ja = serializers.CharField(
        source="profile.prefecture_ja", default="", help_text="The address in Japanese; empty when not given."
    )
    city_ja = serializers.CharField(source="profile.city_ja", default="")
    address_line1_ja = serializers.CharField(source="profile.address_line1_ja", default="")
    address_line2_ja = serializers.CharField(source="profile.address_line2_ja", default="")
    internet_eligibility_status = EnumField(
        choices=EligibilityStatus.choices,
        source="profile.internet_eligibility_status",
        default=None,
        allow_null=True,
        help_text="Null until the customer asks for an internet availability check; then pending, eligible or ineligible.",
    )
    internet_eligibility = serializers.CharField(source="profile.internet_eligibility", default="")
    id_verification_status = EnumField(
        choices=IdVerificationStatus.choices,
        source="profile.id_verification_status",
        default=None,
        allow_null=True,
        help_text="Null until the customer uploads a residence card; then submitted, verified or rejected.",
    )
    account_setup = serializers.SerializerMethodField(
        help_text=(
            "`complete` once the customer's Salesforce and billing records exist; `in_progress` "
            "while the portal is still creating them (the customer can sign in and browse; actions "
            "that need them answer 400 `account_setup_in_progress`); `needs_attention` when support "
            "must finish it."
        )
    )

    preferred_language = serializers.ChoiceField(
        choices=Language.choices,
        help_text="The language of the portal's pages after sign-in and of the emails the customer receives.",
    )

    @extend_schema_field(serializers.ChoiceField(choices=AccountSetup.choices))
    def get_account_setup(self, user: User) -> str:
        return account_setup_of(user=user)


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    new_password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, max_length=128
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["request"].user
        if not user.check_password(attrs["current_password"]):
            raise serializers.ValidationError(
                {"current_password": [_("Your current password is incorrect.")]}
            )
        try:
            password_validation.validate_password(attrs["new_password"], user=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"new_password": exc.messages}) from exc
        return attrs


class PasswordResetInputSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    new_password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, max_length=128
    )


class CsrfOutputSerializer(serializers.Serializer):
    csrf_token = serializers.CharField()
