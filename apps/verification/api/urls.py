from django.urls import path

from apps.verification.api.views import EligibilityRequestApi, ResidenceCardApi

app_name = "verification"

urlpatterns = [
    path("eligibility-request", EligibilityRequestApi.as_view(), name="eligibility-request"),
    path("verification/residence-card", ResidenceCardApi.as_view(), name="residence-card"),
]
