from django.urls import include, path

from apps.opportunities.api.support import support_urlpatterns
from apps.opportunities.api.views import (
    SubscriptionCancellationCreateApi,
    SubscriptionDetailApi,
    SubscriptionListApi,
)

urlpatterns = [
    path("subscriptions", SubscriptionListApi.as_view(), name="subscription-list"),
    path("subscriptions/<int:service_id>", SubscriptionDetailApi.as_view(), name="subscription-detail"),
    path(
        "subscriptions/<int:service_id>/cancellation",
        SubscriptionCancellationCreateApi.as_view(),
        name="subscription-cancellation",
    ),
    path("", include(support_urlpatterns)),
]
