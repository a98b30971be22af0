from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The agent console: queues, checklists and decisions over the other apps' records.

    It is an app of its own because its queues and decisions span accounts, verification,
    checkout and opportunities; keeping them here keeps those apps free of admin workflow.
    """

    name = "apps.console"
    label = "console"
    verbose_name = _("Agent console")
