"""Customers: the email-login user, the profile that mirrors their Salesforce Account, and the
mapping between the portal user and the Salesforce and WHMCS records."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.addresses import AddressMixin


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class Language(models.TextChoices):
    """The languages the portal speaks (``settings.LANGUAGES``)."""

    ENGLISH = "en", _("English")
    JAPANESE = "ja", _("Japanese")


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a customer, or (``is_staff``) a support agent."""

    email = models.EmailField(_("email address"), unique=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # The portal's pages after sign-in and the emails the customer receives speak this language.
    # The database's default too: code that predates the column still inserts users.
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=Language.choices,
        default=Language.ENGLISH,
        db_default=Language.ENGLISH,
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


class PortalStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")


class AccountSetup(models.TextChoices):
    """How far a customer's registration has come (``apps.accounts.selectors.account_setup_of``)."""

    COMPLETE = "complete", _("Complete")
    IN_PROGRESS = "in_progress", _("Being set up")
    NEEDS_ATTENTION = "needs_attention", _("Waiting for support")
    NOT_LINKED = "not_linked", _("Not linked")


class RegistrationSource(models.TextChoices):
    LEGACY = "legacy", _("Legacy")
    PORTAL_SIGNUP = "portal_signup", _("Portal signup")
    PORTAL_CHECKOUT = "portal_checkout", _("Portal checkout")


class EligibilityStatus(models.TextChoices):
    NOT_REQUESTED = "", _("Not requested")
    PENDING = "pending", _("Pending")
    ELIGIBLE = "eligible", _("Eligible")
    INELIGIBLE = "ineligible", _("Ineligible")


class IdVerificationStatus(models.TextChoices):
    NOT_SUBMITTED = "", _("Not submitted")
    SUBMITTED = "submitted", _("Submitted")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class CustomerProfile(AddressMixin, models.Model):
    """The customer's details and the portal's mirror of their Salesforce Account.

    Salesforce is the system of record for the status fields; they change here through
    write-through of the portal's own requests, platform events and reconciliation. Field and
    picklist names on the Salesforce side live in ``apps.integrations.salesforce.field_map``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile", verbose_name=_("user")
    )
    customer_number = models.CharField(
        _("customer number"), max_length=30, unique=True, null=True, blank=True
    )
    first_name_kana = models.CharField(_("first name (kana)"), max_length=100, blank=True)
    last_name_kana = models.CharField(_("last name (kana)"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone_number = models.CharField(_("phone number"), max_length=30, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    address_line1 = models.CharField(_("address line 1"), max_length=255, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=255, blank=True)
    # The same address in Japanese script: AddressMixin's fields.

    portal_status = models.CharField(
        _("portal status"), max_length=20, choices=PortalStatus.choices, default=PortalStatus.ACTIVE
    )
    registration_source = models.CharField(
        _("registration source"), max_length=20, choices=RegistrationSource.choices, blank=True
    )
    last_signed_in_at = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    internet_eligibility = models.CharField(
        _("internet eligibility"), max_length=100, blank=True, help_text=_('The offering, e.g. "Home 1G".')
    )
    internet_eligibility_status = models.CharField(
        _("eligibility status"), max_length=20, choices=EligibilityStatus.choices, blank=True
    )
    internet_eligibility_requested_at = models.DateTimeField(
        _("eligibility requested"), null=True, blank=True
    )
    internet_eligibility_checked_at = models.DateTimeField(_("eligibility checked"), null=True, blank=True)
    internet_eligibility_notes = models.TextField(_("eligibility notes"), blank=True)
    internet_eligibility_case_id = models.CharField(_("eligibility case ID"), max_length=18, blank=True)

    id_verification_status = models.CharField(
        _("ID verification status"), max_length=20, choices=IdVerificationStatus.choices, blank=True
    )
    id_verification_submitted_at = models.DateTimeField(_("ID submitted"), null=True, blank=True)
    id_verification_verified_at = models.DateTimeField(_("ID verified"), null=True, blank=True)
    id_verification_note = models.TextField(_("ID verification note"), blank=True)
    id_verification_rejection_message = models.TextField(_("ID rejection message"), blank=True)

    salesforce_modified_at = models.DateTimeField(
        _("Salesforce last modified"), null=True, blank=True, help_text=_("SystemModstamp of the Account.")
    )
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer profile")
        verbose_name_plural = _("customer profiles")
        indexes = [
            models.Index(fields=["internet_eligibility_status"], name="profile_eligibility_idx"),
            models.Index(fields=["id_verification_status"], name="profile_id_verification_idx"),
        ]

    def __str__(self) -> str:
        return self.customer_number or str(self.user)


class IdMapping(models.Model):
    """Which Salesforce Account and Contact and which WHMCS client belong to a portal user.

    Each external ID maps to exactly one portal user; the unique constraints make a second
    mapping to the same record impossible even under concurrent registrations.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="id_mapping", verbose_name=_("user")
    )
    salesforce_account_id = models.CharField(_("Salesforce Account ID"), max_length=18, unique=True)
    salesforce_contact_id = models.CharField(
        _("Salesforce Contact ID"), max_length=18, unique=True, null=True, blank=True
    )
    whmcs_client_id = models.PositiveIntegerField(_("WHMCS client ID"), unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("ID mapping")
        verbose_name_plural = _("ID mappings")

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.salesforce_account_id}"


class RegistrationAttempt(models.Model):
    """One registration (sign-up or checkout), a saga across the portal, Salesforce and WHMCS.

    The portal user exists from the start; the attempt then creates the Salesforce Account and
    Contact, the WHMCS client and the ID mapping, each step logged in ``steps`` with the ids it
    produced as soon as it is done. A retry resumes where the attempt stopped, and a step tried
    before first looks for what that try may have created (``apps.accounts.registration``).
    While an attempt for an email is open a second one is refused (a partial unique constraint),
    so two concurrent sign-ups cannot both create external records.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")
        SUCCEEDED = "succeeded", _("Succeeded")
        ABANDONED = "abandoned", _("Abandoned")

    OPEN_STATUSES = (Status.IN_PROGRESS, Status.NEEDS_ATTENTION)

    email = models.EmailField(_("email"))
    source = models.CharField(_("registration source"), max_length=20, choices=RegistrationSource.choices)
    order_type = models.CharField(
        _("order type at checkout"),
        max_length=20,
        blank=True,
        help_text=_("A SIM checkout also opens the customer's SIM Opportunity."),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    steps = models.JSONField(_("steps"), default=list, blank=True)
    customer_number = models.CharField(_("customer number"), max_length=30, blank=True)
    salesforce_account_id = models.CharField(_("Salesforce Account ID"), max_length=18, blank=True)
    salesforce_contact_id = models.CharField(_("Salesforce Contact ID"), max_length=18, blank=True)
    whmcs_client_id = models.PositiveIntegerField(_("WHMCS client ID"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="registration_attempts",
        verbose_name=_("user"),
    )
    tries = models.PositiveIntegerField(_("tries that failed"), default=0)
    failed_step = models.CharField(_("failed step"), max_length=40, blank=True)
    error = models.TextField(_("error"), blank=True)
    next_try_at = models.DateTimeField(_("next try at"), null=True, blank=True)
    claimed_until = models.DateTimeField(
        _("claimed until"),
        null=True,
        blank=True,
        help_text=_("A process is running the attempt until then; after it, the attempt is free again."),
    )
    claimed_by = models.CharField(
        _("claimed by"),
        max_length=64,
        blank=True,
        help_text=_("The task holding the claim, so its own redelivered message can take it over."),
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("registration attempt")
        verbose_name_plural = _("registration attempts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(status__in=["in_progress", "needs_attention"]),
                name="registration_one_open_attempt_per_email",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_try_at"],
                condition=models.Q(status="in_progress"),
                name="registration_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class OrphanedSalesforceAccount(models.Model):
    """A Salesforce Account (with its Contact) that registration created and no portal user maps
    to: left by an abandoned registration or found by the orphan scan. Its Portal Status is set to
    Inactive when recorded; ``manage.py cleanup_orphaned_whmcs_clients --salesforce`` deletes it
    when nothing in Salesforce hangs on it."""

    class DetectedBy(models.TextChoices):
        ABANDONED_REGISTRATION = "abandoned_registration", _("Abandoned registration")
        SCAN = "scan", _("Scan of Salesforce Accounts")

    class Resolution(models.TextChoices):
        OPEN = "", _("Open")
        DELETED = "deleted", _("Deleted from Salesforce")
        KEPT = "kept", _("Kept: records hang on it")
        LINKED = "linked", _("Found a mapping")

    salesforce_account_id = models.CharField(_("Salesforce Account ID"), max_length=18, unique=True)
    salesforce_contact_id = models.CharField(_("Salesforce Contact ID"), max_length=18, blank=True)
    email = models.EmailField(_("email"), blank=True)
    customer_number = models.CharField(_("customer number"), max_length=30, blank=True)
    registration_attempt = models.ForeignKey(
        RegistrationAttempt,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orphaned_salesforce_accounts",
        verbose_name=_("registration attempt"),
    )
    detected_by = models.CharField(_("detected by"), max_length=30, choices=DetectedBy.choices)
    reason = models.TextField(_("reason"))
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, default=Resolution.OPEN, blank=True
    )
    resolution_note = models.TextField(
        _("resolution note"), blank=True, help_text=_("Why it was kept, or what the cleanup found.")
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("orphaned Salesforce Account")
        verbose_name_plural = _("orphaned Salesforce Accounts")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Salesforce Account {self.salesforce_account_id}"
