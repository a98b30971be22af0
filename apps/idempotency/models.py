"""The requests clients sent with an ``Idempotency-Key``, and the answers they got."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

KEY_MAX_LENGTH = 255


class IdempotentRequest(models.Model):
    """One key of one client for one operation: held while the first request runs, then its
    answer, replayed to every repeat until the row is deleted (``IDEMPOTENCY_KEY_RETENTION``).

    The unique constraint is what lets only one of two simultaneous requests run. A request killed
    mid-way leaves its row in progress; once ``locked_until`` has passed, a repeat takes it over.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")

    scope = models.CharField(
        _("scope"),
        max_length=40,
        help_text=_('Whose key: "user:<id>" for a signed-in customer, "anonymous" for sign-up.'),
    )
    operation = models.CharField(_("operation"), max_length=200, help_text=_("The URL pattern and method."))
    key = models.CharField(_("key"), max_length=KEY_MAX_LENGTH)
    fingerprint = models.CharField(
        _("request fingerprint"),
        max_length=64,
        help_text=_("SHA-256 of the URL arguments and the body, secret fields such as passwords left out."),
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    locked_until = models.DateTimeField(_("locked until"))
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "operation", "key"], name="idempotent_request_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.key}"
