from django.urls import include, path

from apps.billing.api.urls import subscription_urlpatterns
from apps.opportunities.api.support import support_urlpatterns
from apps.opportunities.api.views import SubscriptionCancellationCreateApi

urlpatterns = [
    *subscription_urlpatterns,
    path(
        "subscriptions/<int:service_id>/cancellation",
        SubscriptionCancellationCreateApi.as_view(),
        name="subscription-cancellation",
    ),
    path("", include(support_urlpatterns)),
]
