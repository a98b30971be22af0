"""The customer portal's pages, at the URLs the emails, notifications and dashboard tasks use."""

from django.urls import path

from apps.web.views import HomePage, page

app_name = "web"

urlpatterns = [
    path("", HomePage.as_view(), name="home"),
    path("account/login", page("login", signed_in=False), name="login"),
    path("account/signup", page("signup", signed_in=False), name="signup"),
    path("account/reset-password", page("reset_password", signed_in=False), name="reset-password"),
    path("account/logout", page("logout", signed_in=False), name="logout"),
    path("account", page("dashboard"), name="dashboard"),
    path("shop", page("shop", signed_in=False), name="shop"),
    path("shop/checkout", page("checkout", signed_in=False), name="checkout"),
    path("account/services", page("services"), name="services"),
    path("account/services/internet", page("internet"), name="internet"),
    path("account/services/sim", page("sim", signed_in=False), name="sim"),
    path("account/services/vpn", page("vpn", signed_in=False), name="vpn"),
    path("account/services/<int:service_id>/cancel", page("cancel"), name="cancel"),
    path("account/orders", page("orders"), name="orders"),
    path("account/billing/invoices", page("invoices"), name="invoices"),
    path("account/billing/payment-methods", page("payment_methods"), name="payment-methods"),
    path("account/support", page("support"), name="support"),
    path("account/support/<int:case_id>", page("support_case"), name="support-case"),
    path("account/settings", page("settings"), name="settings"),
    path("account/settings/verification", page("verification"), name="verification"),
]
