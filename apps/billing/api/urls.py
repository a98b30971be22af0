"""The billing API's routes, mounted where they have always been so that their URLs and names
stay the same: ``billing_urlpatterns`` in ``apps.accounts.api.urls`` (names ``accounts:billing-…``)
and ``subscription_urlpatterns`` in ``apps.opportunities.api.urls`` (beside the cancellation
endpoint under the same path)."""

from django.urls import path

from apps.billing.api.views import (
    InvoiceDetailApi,
    InvoiceListApi,
    PaymentMethodAddLinkCreateApi,
    PaymentMethodListApi,
    PaymentMethodRefreshApi,
    SubscriptionDetailApi,
    SubscriptionListApi,
)

billing_urlpatterns = [
    path("billing/invoices", InvoiceListApi.as_view(), name="billing-invoice-list"),
    path("billing/invoices/<int:invoice_id>", InvoiceDetailApi.as_view(), name="billing-invoice-detail"),
    path("billing/payment-methods", PaymentMethodListApi.as_view(), name="billing-payment-method-list"),
    path(
        "billing/payment-methods/add-link",
        PaymentMethodAddLinkCreateApi.as_view(),
        name="billing-payment-method-add-link",
    ),
    path(
        "billing/payment-methods/refresh",
        PaymentMethodRefreshApi.as_view(),
        name="billing-payment-method-refresh",
    ),
]

subscription_urlpatterns = [
    path("subscriptions", SubscriptionListApi.as_view(), name="subscription-list"),
    path("subscriptions/<int:service_id>", SubscriptionDetailApi.as_view(), name="subscription-detail"),
]
