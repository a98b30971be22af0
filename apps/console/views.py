"""The residence card document, streamed from private storage to staff who may see it."""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_replace
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from apps.console.sites import second_factor_satisfied
from apps.verification.models import ResidenceCardSubmission

DOCUMENT_PERMISSION = "verification.view_residence_card_document"
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}


def can_view_documents(user: object) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
        and user.has_perm(DOCUMENT_PERMISSION)  # type: ignore[attr-defined]
        # Not behind ``admin_view``, so the console's second factor is checked here too.
        and second_factor_satisfied(user)
    )


# Like X-Frame-Options: only the checklist page may frame the card. (django-csp types its
# decorators for views without URL arguments.)
@require_GET
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})  # type: ignore[arg-type]
def residence_card_document(request: HttpRequest, submission_id: int) -> FileResponse:
    """The card itself, inline (shown in the checklist page's frame), never cached, never sniffed.

    Anyone but an active staff member with ``verification.view_residence_card_document`` gets a
    404, the same answer as for a card that does not exist, so the URL reveals nothing.
    """
    if not can_view_documents(request.user):
        raise Http404
    submission = get_object_or_404(ResidenceCardSubmission, pk=submission_id)
    if not submission.file or not submission.file.storage.exists(submission.file.name or ""):
        raise Http404
    handle = submission.file.storage.open(submission.file.name or "", "rb")
    extension = _EXTENSIONS.get(submission.content_type, "bin")
    response = FileResponse(
        handle,
        content_type=submission.content_type,
        as_attachment=False,
        filename=f"residence-card-{submission.pk}.{extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
