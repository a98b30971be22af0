"""Input and output shapes of the eligibility and residence card APIs."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.accounts.api.serializers import AddressInputSerializer
from apps.accounts.models import EligibilityStatus, IdVerificationStatus
from apps.verification.models import RejectionReason
from portal.fields import EnumField


class HousingType:
    HOUSE = "house"
    APARTMENT = "apartment"
    CHOICES = ((HOUSE, _("House")), (APARTMENT, _("Apartment or condominium (mansion)")))


class EligibilityRequestInputSerializer(AddressInputSerializer):
    """The address to check, in romaji and in Japanese: the NTT serviceability check reads the
    Japanese one, so its prefecture, city and street are required here. Postal code and
    prefectures come back normalised."""

    prefecture_ja = serializers.CharField(
        max_length=10,
        help_text="The prefecture in kanji (`東京都`; `東京` is accepted): the same prefecture as `prefecture`.",
    )
    city_ja = serializers.CharField(
        max_length=100, help_text="The city, ward, town or village in Japanese (`渋谷区`)."
    )
    address_line1_ja = serializers.CharField(
        max_length=255,
        help_text="The town and block in Japanese (`神宮前1-2-3`); block numbers alone are accepted.",
    )

    housing_type = serializers.ChoiceField(
        choices=HousingType.CHOICES,
        required=False,
        allow_null=True,
        default=None,
        help_text="Leave out (or null) when the customer does not say.",
    )

    def validate_housing_type(self, value: str | None) -> str:
        return value or ""

    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EligibilityAddressOutputSerializer(serializers.Serializer):
    postal_code = serializers.CharField()
    prefecture = serializers.CharField()
    city = serializers.CharField()
    address_line1 = serializers.CharField()
    address_line2 = serializers.CharField()
    prefecture_ja = serializers.CharField(
        help_text="The address in Japanese; empty on requests made before it was asked for."
    )
    city_ja = serializers.CharField()
    address_line1_ja = serializers.CharField()
    address_line2_ja = serializers.CharField()
    housing_type = EnumField(
        choices=HousingType.CHOICES, allow_null=True, help_text="Null when the customer did not say."
    )
    notes = serializers.CharField()
    requested_at = serializers.DateTimeField(source="created_at")


class EligibilityOutputSerializer(serializers.Serializer):
    status = EnumField(
        choices=EligibilityStatus.choices,
        allow_null=True,
        help_text="Null until the customer asks for an internet availability check; then pending, eligible or ineligible.",
    )
    offering = serializers.CharField(help_text='The offering the address qualifies for, e.g. "Home 1G".')
    requested_at = serializers.DateTimeField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField(help_text="The agent's notes on the result.")
    case_submitted = serializers.BooleanField(help_text="Whether the request has reached our team's queue.")
    expected_timeline = serializers.CharField(
        allow_null=True, help_text="While pending: how long a check usually takes (translated)."
    )
    address = EligibilityAddressOutputSerializer(
        allow_null=True, help_text="The latest address the customer asked about."
    )


class ResidenceCardInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A photo or scan of the residence card: PNG, JPEG or PDF, checked by content."
    )


class RejectionOutputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=RejectionReason.choices)
    message = serializers.CharField(help_text="The reviewer's message to the customer.")
    remediation = serializers.CharField(help_text="What to do next (translated).")


class ResidenceCardDocumentOutputSerializer(serializers.Serializer):
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()


class ResidenceCardOutputSerializer(serializers.Serializer):
    status = EnumField(
        choices=IdVerificationStatus.choices,
        allow_null=True,
        help_text="Null until the customer uploads a residence card; then submitted, verified or rejected.",
    )
    submitted_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True, help_text="Set once verified.")
    rejection = RejectionOutputSerializer(allow_null=True)
    can_resubmit = serializers.BooleanField()
    document = ResidenceCardDocumentOutputSerializer(
        allow_null=True, help_text="The latest uploaded document's details."
    )
