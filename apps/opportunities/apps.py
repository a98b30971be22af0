from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "apps.opportunities"
    label = "opportunities"
    verbose_name = _("Opportunities")

    def ready(self) -> None:
        # What this app's queued Salesforce changes may write back to or refer to (see the outbox).
        from apps.integrations.outbox import outbox_register_salesforce_id_field

        outbox_register_salesforce_id_field("opportunities.Opportunity")
        outbox_register_salesforce_id_field("opportunities.Case")
        outbox_register_salesforce_id_field("opportunities.CaseComment")
