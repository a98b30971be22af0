"""Start the whole portal on one machine, the way the Procfile runs it in production."""

import io
import shutil
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from honcho.manager import Manager

from apps.devtools.demo_data import DemoLogin
from apps.devtools.management.commands.load_demo_data import Command as LoadDemoData

# The demo customer whose login is printed beside the portal's address: the one with the most to see.
DEMO_CUSTOMER_ROLE = "active internet customer"


def demo_customer(logins: list[DemoLogin]) -> DemoLogin | None:
    customers = [login for login in logins if not login.totp_uri and login.role != "support agent"]
    preferred = [login for login in customers if login.role.startswith(DEMO_CUSTOMER_ROLE)]
    candidates = preferred or customers
    return candidates[0] if candidates else None


class Command(BaseCommand):
    help = (
        "Migrate, load demo data and run the emulators, web server, Celery worker, beat and the "
        "Salesforce events subscriber together until Ctrl-C (the embedded default)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="Web server port (default 8000).")
        parser.add_argument("--no-demo-data", action="store_true", help="Do not load the demo data.")

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        call_command("migrate", interactive=False, verbosity=0)
        base = f"http://127.0.0.1:{port}"
        demo_output = io.StringIO()
        logins: list[DemoLogin] = []
        if not options["no_demo_data"]:
            loader = LoadDemoData()
            call_command(loader, stdout=demo_output)
            logins = loader.logins

        # The customer portal first: it is what a new user came for.
        customer = demo_customer(logins)
        sign_in = (
            f"\n  Sign in as a demo customer ({customer.role}): {customer.email} / {customer.password}"
            if customer
            else ""
        )
        self.stdout.write(self.style.SUCCESS(f"\nSonixNet customer portal: {base}/{sign_in}\n"))
        self.stdout.write(demo_output.getvalue(), ending="")

        python = sys.executable
        celery = shutil.which("celery", path=str(settings.BASE_DIR / ".venv" / "bin")) or "celery"
        manage = f"{python} {settings.BASE_DIR / 'manage.py'}"
        processes = {
            "emulators": f"{manage} run_emulators",
            "web": f"{manage} runserver 127.0.0.1:{port} --noreload",
            "worker": f"{celery} -A portal worker --loglevel INFO --concurrency 2 --without-mingle --without-gossip",
            "beat": f"{celery} -A portal beat --loglevel INFO",
            "events": f"{manage} run_events_subscriber",
        }

        two_factor = (
            "staff sign in with the authenticator code"
            if settings.STAFF_REQUIRE_2FA
            else "no authenticator code asked: STAFF_REQUIRE_2FA is off"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"\nSonixNet portal starting:\n  Portal    {base}/\n  API docs  {base}/api/docs/\n"
                f"  Admin     {base}/admin/ ({two_factor})\n"
                f"  Schema    {base}/api/schema/\nPress Ctrl-C to stop.\n"
            )
        )
        manager = Manager()
        for name, command in processes.items():
            manager.add_process(name, command, cwd=str(settings.BASE_DIR))
        manager.loop()
        sys.exit(manager.returncode)
