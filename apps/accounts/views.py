"""The language switch of the pages: Django's ``set_language``, remembering a signed-in
customer's choice (``customer_language_set``) so it follows them to other devices and into the
emails they receive."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from apps.accounts.models import Language
from apps.accounts.services import customer_language_set


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in Language.values:
        customer_language_set(user_id=request.user.pk, language=language)
    return response
