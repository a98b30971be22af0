from django.urls import path

from apps.checkout.api import views

app_name = "checkout"

urlpatterns = [
    path("checkout/registration", views.CheckoutRegistrationApi.as_view(), name="registration"),
    path("orders", views.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<int:order_id>", views.OrderDetailApi.as_view(), name="order-detail"),
]
