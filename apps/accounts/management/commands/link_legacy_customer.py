from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.legacy import customer_link_legacy
from apps.accounts.services import password_set_invitation_send


class Command(BaseCommand):
    help = (
        "Link a customer who existed before the portal: find their Salesforce Account by customer "
        "number and Contact email, create the portal user and ID mapping (registration source "
        "Legacy) and email them a link to choose a password. Creates nothing in Salesforce or WHMCS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer-number", required=True, help="SF_Account_No__c, e.g. P0012345")
        parser.add_argument("--email", required=True, help="the email of a Contact of that Account")
        parser.add_argument("--no-email", action="store_true", help="do not send the set-password email")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = customer_link_legacy(customer_number=options["customer_number"], email=options["email"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if not options["no_email"]:
            password_set_invitation_send(user_id=user.pk)
        mapping = user.id_mapping
        self.stdout.write(
            self.style.SUCCESS(
                f"Linked {user.email} to Account {mapping.salesforce_account_id} "
                f"(WHMCS client {mapping.whmcs_client_id or 'none'})."
            )
        )
