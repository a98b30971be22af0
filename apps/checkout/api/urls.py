from django.urls import path

from apps.checkout.api import views

app_name = "checkout"

urlpatterns = [
    path("checkout/registration", views.CheckoutRegistrationApi.as_view(), name="registration"),
]
