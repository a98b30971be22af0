import io
from typing import Any

import segno
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.devtools.demo_data import DemoDataError, DemoLogin, load_demo_data


class Command(BaseCommand):
    help = (
        "Create or refresh the demo catalog, support agent and customers through the real flows "
        "against the emulators (started in-process for the duration), and print the logins."
    )

    # The logins of the last run, for ``run_portal`` to name a demo customer first.
    logins: list[DemoLogin] = []

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            logins = load_demo_data()
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        self.logins = logins
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Logins (passwords are new on every run):"))
        for login in logins:
            self.stdout.write(f"  {login.role:<48} {login.email:<28} {login.password}")
        for login in logins:
            if login.totp_uri:
                self._authenticator(login)

    def _authenticator(self, login: DemoLogin) -> None:
        required = "on" if settings.STAFF_REQUIRE_2FA else "off here; STAFF_REQUIRE_2FA=true turns it on"
        self.stdout.write(
            f"\nThe {login.role}'s authenticator: the console asks for its 6-digit code at sign-in "
            f"when two-factor sign-in is on ({required}). Scan the QR code or add the key to an "
            f"authenticator app (it stays the same across runs):\n"
            f"  key  {login.totp_key}\n  URI  {login.totp_uri}"
        )
        qr_code = io.StringIO()  # whole, as the command's output adds a line ending to each write
        segno.make(login.totp_uri, error="m").terminal(out=qr_code, compact=True)
        self.stdout.write(qr_code.getvalue(), ending="")
