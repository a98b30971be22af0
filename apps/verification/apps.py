from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "apps.verification"
    label = "verification"
    verbose_name = _("Verification")

    def ready(self) -> None:
        # What this app's queued Salesforce changes may write back to or refer to (see the outbox).
        from apps.integrations.outbox import outbox_register_file_field, outbox_register_salesforce_id_field

        outbox_register_salesforce_id_field(
            "verification.ResidenceCardSubmission", "salesforce_content_version_id"
        )
        outbox_register_file_field("verification.ResidenceCardSubmission", "file")
