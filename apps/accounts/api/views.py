"""Account endpoints: sign-up, sign-in and out, passwords, and the signed-in customer.

The browser portal authenticates with Django's session cookie. Sign-up, sign-in and password
reset are CSRF-protected even though the caller is anonymous (login CSRF), and throttled per
client address and, for sign-in and reset, per email address (``throttles.py``). Failed sign-ins
also lock out an email and address pair for a while (django-axes, through ``authenticate``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.serializers import (
    CsrfOutputSerializer,
    LoginInputSerializer,
    MeOutputSerializer,
    PasswordChangeInputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetInputSerializer,
    PreferredLanguageSerializer,
    RegistrationInputSerializer,
)
from apps.accounts.api.throttles import ClientAddressThrottle, EmailThrottle
from apps.accounts.models import RegistrationSource
from apps.accounts.registration import customer_register, registration_continue
from apps.accounts.security import lockout_seconds
from apps.accounts.selectors import user_with_profile
from apps.accounts.services import (
    customer_language_set,
    customer_sign_in_record,
    password_change,
    password_reset_confirm,
    password_reset_request,
)
from apps.idempotency.api import REPLAYED_HEADER, idempotent
from apps.idempotency.services import IdempotencyKeyReused
from portal.api import signed_in_user
from portal.exceptions import ApplicationError


class AnonymousFormApi(APIView):
    """Base for endpoints an anonymous browser posts to: CSRF enforced, throttled, no auth."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ClientAddressThrottle]

    @method_decorator(csrf_protect)
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().dispatch(request, *args, **kwargs)


class CsrfTokenApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_csrf", responses=CsrfOutputSerializer, tags=["auth"])
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        """Set the CSRF cookie; send its value back in ``X-CSRFToken`` on every unsafe request."""
        return Response({"csrf_token": get_token(request)})


def sign_in_again(request: Request, replayed: Response) -> Response:
    """A repeated registration signs the customer in as the first one did, but only with the
    password that created the account: the key and the rest of the body are no credential. It
    also resumes the registration if it is still under way, and shows where it stands now."""
    password = request.data.get("password")
    user = (
        authenticate(request._request, username=replayed.data["email"], password=password)
        if isinstance(password, str)
        else None
    )
    if user is None:
        raise IdempotencyKeyReused()
    login(request._request, user)
    registration_continue(user=user)
    return Response(
        MeOutputSerializer(user_with_profile(user_id=user.pk)).data,
        status=replayed.status_code,
        headers={REPLAYED_HEADER: "true"},
    )


class SignupApi(AnonymousFormApi):
    throttle_scope = "signup"

    @extend_schema(
        operation_id="auth_signup",
        request=RegistrationInputSerializer,
        responses={
            201: OpenApiResponse(
                MeOutputSerializer,
                description="Signed in. `account_setup` says whether the Salesforce and billing records "
                "exist yet (`complete`) or are still being created (`in_progress`).",
            ),
            200: OpenApiResponse(
                MeOutputSerializer,
                description="The same sign-up again (same email and password): signed in to the "
                "registration already made, which is resumed if it is still under way.",
            ),
            400: OpenApiResponse(
                description="Validation error, or the email address is taken (`email_taken`)"
            ),
        },
        tags=["auth"],
    )
    @idempotent(secret_fields=["password"], replay=sign_in_again)
    def post(self, request: Request) -> Response:
        """Create the customer in the portal and sign them in; their Salesforce Account and Contact
        and their WHMCS client follow, while they wait when the systems answer in time."""
        serializer = RegistrationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = customer_register(
            data=serializer.to_registration_data(), source=RegistrationSource.PORTAL_SIGNUP
        )
        user = registration.user
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(
            MeOutputSerializer(user_with_profile(user_id=user.pk)).data,
            status=status.HTTP_200_OK if registration.resumed else status.HTTP_201_CREATED,
        )


class LoginApi(AnonymousFormApi):
    throttle_scope = "login"
    throttle_classes = [ClientAddressThrottle, EmailThrottle]

    @extend_schema(
        operation_id="auth_login",
        request=LoginInputSerializer,
        responses={
            200: MeOutputSerializer,
            400: OpenApiResponse(description="Wrong email or password (`invalid_credentials`)"),
            403: OpenApiResponse(
                description="A staff account: staff sign in to the console (`staff_account`)"
            ),
            429: OpenApiResponse(
                description="Throttled (`throttled`) or this email locked out from this address after "
                "failed sign-ins (`locked_out`); `Retry-After` says when to try again"
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["email"].lower(),
            password=serializer.validated_data["password"],
        )
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise exceptions.Throttled(
                    wait=lockout_seconds(request._request),
                    detail=_("Too many failed sign-ins for this account from your network."),
                    code="locked_out",
                )
            raise ApplicationError(
                _("The email address or password is incorrect."), code="invalid_credentials"
            )
        if user.is_staff:
            # Staff sign in to the console, with its second factor; never a customer session.
            raise exceptions.PermissionDenied(
                _("Staff accounts sign in to the agent console, not here."), code="staff_account"
            )
        login(request._request, user)
        customer_sign_in_record(user_id=user.pk)
        response = Response(MeOutputSerializer(user_with_profile(user_id=user.pk)).data)
        return with_language_cookie(response, user.preferred_language)


class LogoutApi(APIView):
    @extend_schema(operation_id="auth_logout", request=None, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_password_change",
        request=PasswordChangeInputSerializer,
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = password_change(
            user_id=signed_in_user(request).pk, new_password=serializer.validated_data["new_password"]
        )
        # Keep this session signed in; every other session of the user ends.
        update_session_auth_hash(request._request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(AnonymousFormApi):
    throttle_scope = "password_reset"
    throttle_classes = [ClientAddressThrottle, EmailThrottle]

    @extend_schema(
        operation_id="auth_password_reset",
        request=PasswordResetInputSerializer,
        responses={202: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        """Email a reset link if the address has an account. The answer is the same either way,
        so the endpoint cannot be used to find out who is a customer."""
        serializer = PasswordResetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_request(email=serializer.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(AnonymousFormApi):
    throttle_scope = "password_reset"

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        request=PasswordResetConfirmInputSerializer,
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(operation_id="me", responses=MeOutputSerializer, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(user_with_profile(user_id=signed_in_user(request).pk)).data)


class MeLanguageApi(APIView):
    @extend_schema(
        operation_id="me_language",
        request=PreferredLanguageSerializer,
        responses=PreferredLanguageSerializer,
        tags=["me"],
    )
    def put(self, request: Request) -> Response:
        serializer = PreferredLanguageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        language = serializer.validated_data["language"]
        customer_language_set(user_id=signed_in_user(request).pk, language=language)
        return with_language_cookie(Response({"language": language}), language)


def with_language_cookie(response: Response, language: str) -> Response:
    """Set Django's language cookie, as ``set_language`` does: the pages that follow speak it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
