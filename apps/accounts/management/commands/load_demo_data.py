from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.demo_data import DemoDataError, load_demo_data


class Command(BaseCommand):
    help = (
        "Create or refresh the demo catalog, support agent and customers through the real flows "
        "against the emulators (started in-process for the duration), and print the logins."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            logins = load_demo_data()
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Logins (passwords are new on every run):"))
        for login in logins:
            self.stdout.write(f"  {login.role:<48} {login.email:<28} {login.password}")
