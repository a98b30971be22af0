from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The customer web portal: templates and a small script on the REST API."""

    name = "apps.web"
    label = "web"
    verbose_name = _("Customer portal")
