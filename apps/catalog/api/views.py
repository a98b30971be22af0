"""Public catalog APIs: what internet, SIM and VPN products a visitor or customer may buy.

Browsing needs no login. For a signed-in customer the listing depends on their internet
eligibility and on whether they already have an active SIM (see ``apps.catalog.selectors``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.catalog.api.serializers import (
    CatalogEligibilitySerializer,
    CatalogItemSerializer,
    InternetCatalogItemSerializer,
    SimCatalogItemSerializer,
)
from apps.catalog.models import ItemClass, Product, ProductType
from apps.catalog.selectors import CachedListing, catalog_listing_cached, catalog_viewer_get


def _listing_response(request: Request, listing: CachedListing) -> HttpResponse:
    """The cached JSON with its ETag, or 304 Not Modified when the client's copy is current."""
    tags = parse_etags(request.headers.get("If-None-Match", ""))
    if "*" in tags or listing.etag in tags or f"W/{listing.etag}" in tags:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(listing.body, content_type="application/json")
    response["ETag"] = listing.etag
    # Revalidate every time (cheap: a 304 carries no body); never shared, it may depend on the viewer.
    response["Cache-Control"] = "private, no-cache"
    return response


def _render(serializer_class: type[serializers.Serializer], data: dict[str, Any]) -> bytes:
    return JSONRenderer().render(serializer_class(data).data)


def _viewer_user(request: Request) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


class CatalogInternetListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        plans = InternetCatalogItemSerializer(many=True)
        installations = InternetCatalogItemSerializer(many=True)
        activation_fees = InternetCatalogItemSerializer(many=True)
        add_ons = InternetCatalogItemSerializer(many=True)
        eligibility = CatalogEligibilitySerializer(allow_null=True)

        class Meta:
            ref_name = "InternetCatalog"

    @extend_schema(
        operation_id="catalog_internet_list",
        summary="Internet plans, installations, activation fees and add-ons",
        description=(
            "Public. For a customer found eligible, plans are limited to their eligibility "
            "offering (plus plans without one). `eligibility` is null for anonymous visitors."
        ),
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> HttpResponse:
        viewer = catalog_viewer_get(user=_viewer_user(request), product_type=ProductType.INTERNET)
        eligibility = viewer.eligibility

        def render(groups: dict[str, list[Product]]) -> bytes:
            data: dict[str, Any] = {
                "plans": groups[ItemClass.PLAN],
                "installations": groups[ItemClass.INSTALLATION],
                "activation_fees": groups[ItemClass.ACTIVATION],
                "add_ons": groups[ItemClass.ADD_ON],
                "eligibility": eligibility,
            }
            return _render(self.OutputSerializer, data)

        listing = catalog_listing_cached(
            product_type=ProductType.INTERNET,
            offering=viewer.internet_offering,
            variant="" if eligibility is None else f"{eligibility.status}\n{eligibility.offering}",
            render=render,
        )
        return _listing_response(request, listing)


class CatalogSimListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        plans = SimCatalogItemSerializer(many=True)
        activation_fees = SimCatalogItemSerializer(many=True)
        add_ons = SimCatalogItemSerializer(many=True)

        class Meta:
            ref_name = "SimCatalog"

    @extend_schema(
        operation_id="catalog_sim_list",
        summary="SIM plans, activation fees and add-ons",
        description="Public. Family-discount items are listed only for customers with an active SIM.",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> HttpResponse:
        viewer = catalog_viewer_get(user=_viewer_user(request), product_type=ProductType.SIM)

        def render(groups: dict[str, list[Product]]) -> bytes:
            data = {
                "plans": groups[ItemClass.PLAN],
                "activation_fees": groups[ItemClass.ACTIVATION],
                "add_ons": groups[ItemClass.ADD_ON],
            }
            return _render(self.OutputSerializer, data)

        listing = catalog_listing_cached(
            product_type=ProductType.SIM, include_family_discount=viewer.has_active_sim, render=render
        )
        return _listing_response(request, listing)


class CatalogVpnListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        plans = CatalogItemSerializer(many=True)
        add_ons = CatalogItemSerializer(many=True)

        class Meta:
            ref_name = "VpnCatalog"

    @extend_schema(
        operation_id="catalog_vpn_list",
        summary="VPN plans and add-ons",
        description="Public; the same for every visitor.",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> HttpResponse:
        def render(groups: dict[str, list[Product]]) -> bytes:
            data = {"plans": groups[ItemClass.PLAN], "add_ons": groups[ItemClass.ADD_ON]}
            return _render(self.OutputSerializer, data)

        return _listing_response(request, catalog_listing_cached(product_type=ProductType.VPN, render=render))
