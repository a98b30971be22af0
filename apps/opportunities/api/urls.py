from django.urls import path

from apps.opportunities.api.views import SubscriptionDetailApi, SubscriptionListApi

urlpatterns = [
    path("subscriptions", SubscriptionListApi.as_view(), name="subscription-list"),
    path("subscriptions/<int:service_id>", SubscriptionDetailApi.as_view(), name="subscription-detail"),
]
