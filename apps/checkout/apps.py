from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CheckoutConfig(AppConfig):
    name = "apps.checkout"
    label = "checkout"
    verbose_name = _("Checkout")

    def ready(self) -> None:
        # What this app's queued Salesforce changes may write back to or refer to (see the outbox).
        from apps.integrations.outbox import outbox_register_salesforce_id_field

        outbox_register_salesforce_id_field("checkout.Order")
        outbox_register_salesforce_id_field("checkout.OrderItem")
