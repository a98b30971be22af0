from django.urls import path

from apps.accounts.api import dashboard, views
from apps.billing.api.urls import billing_urlpatterns

app_name = "accounts"

urlpatterns = [
    path("auth/csrf", views.CsrfTokenApi.as_view(), name="csrf"),
    path("auth/signup", views.SignupApi.as_view(), name="signup"),
    path("auth/login", views.LoginApi.as_view(), name="login"),
    path("auth/logout", views.LogoutApi.as_view(), name="logout"),
    path("auth/password/change", views.PasswordChangeApi.as_view(), name="password-change"),
    path("auth/password/reset", views.PasswordResetApi.as_view(), name="password-reset"),
    path(
        "auth/password/reset/confirm", views.PasswordResetConfirmApi.as_view(), name="password-reset-confirm"
    ),
    path("me", views.MeApi.as_view(), name="me"),
    path("me/language", views.MeLanguageApi.as_view(), name="me-language"),
    path("me/status", dashboard.MeStatusApi.as_view(), name="me-status"),
    path("me/summary", dashboard.MeSummaryApi.as_view(), name="me-summary"),
    *billing_urlpatterns,
]
