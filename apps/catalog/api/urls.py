from django.urls import path

from apps.catalog.api.views import CatalogInternetListApi, CatalogSimListApi, CatalogVpnListApi

urlpatterns = [
    path("catalog/internet", CatalogInternetListApi.as_view(), name="catalog-internet"),
    path("catalog/sim", CatalogSimListApi.as_view(), name="catalog-sim"),
    path("catalog/vpn", CatalogVpnListApi.as_view(), name="catalog-vpn"),
]
