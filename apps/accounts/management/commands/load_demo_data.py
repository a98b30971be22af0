from typing import Any

from django.core.management.base import BaseCommand

from apps.accounts.demo_data import load_demo_data


class Command(BaseCommand):
    help = "Create or refresh the demo catalog, support agent and customers, and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = load_demo_data()
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Logins (passwords are new on every run):"))
        for login in logins:
            self.stdout.write(f"  {login.role:<48} {login.email:<28} {login.password}")
