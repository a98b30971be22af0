from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    # The default of "apps.accounts": this module holds django-axes's config too.
    default = True
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # What this app's queued Salesforce changes may write back to or refer to (see the outbox).
        from apps.integrations.outbox import outbox_register_salesforce_id_field

        outbox_register_salesforce_id_field("accounts.CustomerProfile", "internet_eligibility_case_id")
        # Every save of a user drops its cached copy, in every process that saves users.
        from apps.accounts import user_cache  # noqa: F401


class SignInLockoutsConfig(AxesAppConfig):
    """django-axes (the sign-in lockouts) under a name the console can translate: the package
    gives its app none, so the console's index showed its label, "Axes", on Japanese pages too."""

    default = False
    verbose_name = _("Sign-in lockouts")
