"""``django.contrib.admin`` with the console's admin site (apps/console/sites.py) as the default
site, so ``django.contrib.admin.site`` is that site. A module of its own: INSTALLED_APPS imports it
before any model may be loaded."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "apps.console.sites.ConsoleAdminSite"
