"""Registration: a saga across the portal, Salesforce and WHMCS that a retry resumes.

The request creates the attempt and the portal user first (one transaction), so the customer is
signed in whatever happens next, then runs the steps while the customer waits, each call with a
short timeout (``REGISTRATION_STEP_TIMEOUT_SECONDS``):

1. ``salesforce_account``: the Account (customer number, Portal Status Active, registration
   source) and its Contact, together in ONE all-or-none Composite call;
2. ``whmcs_client``: the billing client, its notes tagged with the customer number;
3. ``id_mapping``: the ID mapping and, through the outbox, the Account's WHMCS id (and at a SIM
   checkout the SIM Opportunity), in one DB transaction.

What the request cannot finish, the worker does (``accounts.advance_registration``, and beat's
``accounts.resume_registrations`` sweep for a process that died mid-step); meanwhile the customer
sees ``account_setup: in_progress``. Each step logs ``started`` before its write and
``succeeded`` with the ids after. A step started before whose outcome is unknown first looks for
what that try may have created and adopts it: the Account by the customer number written on it
(unique per attempt) with its Contact by email; the WHMCS client by email, adopted only when its
notes carry this attempt's customer number. After an unknown outcome the next try waits
``REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS``, so a write still in flight has landed before we look.

A step refused for good, or retried ``MAX_TRIES`` times, leaves the attempt ``needs_attention``
for supervisors, who resume or abandon it in the console. Abandoning records what was created as
orphans (the Salesforce Account, deactivated; the WHMCS client) and removes the portal user, so
the email is free to register again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import (
    CustomerProfile,
    IdMapping,
    OrphanedSalesforceAccount,
    PortalStatus,
    RegistrationAttempt,
    RegistrationSource,
    User,
)
from apps.accounts.salesforce import (
    account_contact_create_subrequests,
    account_deactivated_subrequest,
    account_whmcs_client_subrequest,
)
from apps.catalog.models import ProductType
from apps.integrations.models import OrphanedWhmcsClient
from apps.integrations.outbox import account_record_key, outbox_enqueue_salesforce
from apps.integrations.retry import Backoff
from apps.integrations.salesforce.exceptions import SalesforceError, SalesforceOutcomeUnknown
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from apps.integrations.whmcs.client import WhmcsClient, get_whmcs_client
from apps.integrations.whmcs.exceptions import WhmcsError, WhmcsTransportError
from apps.opportunities.services import sim_opportunity_open_for_registration
from portal.exceptions import ApplicationError

logger = logging.getLogger(__name__)

WHMCS_CLIENT_NOTE = "Created by the SonixNet portal"
"""Tags every WHMCS client the portal creates, so the orphan scan can find them."""

STEP_SALESFORCE_ACCOUNT = "salesforce_account"
STEP_WHMCS_CLIENT = "whmcs_client"
STEP_ID_MAPPING = "id_mapping"

MAX_TRIES = 12
"""Failed tries before an attempt needs a supervisor (about six hours at the default backoff)."""
CLAIM_SECONDS = 5 * 60
"""How long one run may hold an attempt: longer than every step's timeouts together."""


@dataclass(frozen=True)
class RegistrationData:
    email: str
    password: str
    first_name: str
    last_name: str
    phone_number: str
    postal_code: str
    prefecture: str
    city: str
    address_line1: str
    address_line2: str = ""
    prefecture_ja: str = ""
    city_ja: str = ""
    address_line1_ja: str = ""
    address_line2_ja: str = ""
    first_name_kana: str = ""
    last_name_kana: str = ""
    birth_date: date | None = None


@dataclass(frozen=True)
class Registration:
    user: User
    resumed: bool
    """True when this request was a retry of a registration already under way."""


class StepFailed(Exception):
    """A step could not finish; ``retryable`` says whether a later try can succeed, and
    ``outcome_unknown`` that the write may have happened anyway."""

    def __init__(self, step: str, message: str, *, retryable: bool, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.step = step
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown


# --- the request --------------------------------------------------------------------------------


def customer_register(
    *, data: RegistrationData, source: RegistrationSource, order_type: str | None = None
) -> Registration:
    """Create the portal user, then as much of the rest as the systems allow while the customer
    waits. A repeat of a registration under way (same email and password) resumes it."""
    email = User.objects.normalize_email(data.email).lower()
    resumed = _resume_for_customer(email=email, password=data.password)
    if resumed is not None:
        return Registration(resumed, resumed=True)
    try:
        with transaction.atomic():
            attempt = RegistrationAttempt.objects.create(
                email=email, source=source, order_type=order_type or ""
            )
            attempt.customer_number = f"P{attempt.pk:07d}"
            attempt.user = _create_portal_user(data, email, attempt.customer_number, source)
            attempt.save(update_fields=["customer_number", "user"])
    except IntegrityError:
        # A concurrent request (a double click) registered this email first.
        resumed = _resume_for_customer(email=email, password=data.password)
        if resumed is not None:
            return Registration(resumed, resumed=True)
        raise _email_taken() from None
    registration_advance(attempt_id=attempt.pk, timeout_seconds=settings.REGISTRATION_STEP_TIMEOUT_SECONDS)
    return Registration(attempt.user, resumed=False)


def _resume_for_customer(*, email: str, password: str) -> User | None:
    """The user who registered ``email`` when ``password`` is theirs: the customer retrying (a
    lost answer, a double click), after giving an attempt under way a try when it may have one.
    None when nobody has the email; anybody else asking for a taken email gets ``email_taken``."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return None
    if not RegistrationAttempt.objects.filter(user=user).exists() or not user.check_password(password):
        raise _email_taken()
    registration_continue(user=user)
    return user


def registration_continue(*, user: User) -> None:
    """The customer is back (a repeated sign-up, or the same ``Idempotency-Key``): give their
    registration under way a try while they wait, when it may have one."""
    attempt = RegistrationAttempt.objects.filter(
        user=user, status=RegistrationAttempt.Status.IN_PROGRESS
    ).first()
    if attempt is not None and _may_try_now(attempt):
        registration_advance(
            attempt_id=attempt.pk, timeout_seconds=settings.REGISTRATION_STEP_TIMEOUT_SECONDS
        )


def _email_taken() -> ValidationError:
    return ValidationError(
        {"email": _("An account with this email address already exists.")}, code="email_taken"
    )


def _may_try_now(attempt: RegistrationAttempt) -> bool:
    """A customer asking again is a good moment to try again, unless the last try's answer was
    lost: then a write may still be landing, and looking for it must wait until it is due."""
    last_failure = next((step for step in reversed(attempt.steps) if step["status"] == "failed"), None)
    if last_failure is None or not last_failure.get("outcome_unknown"):
        return True
    return attempt.next_try_at is None or attempt.next_try_at <= timezone.now()


def _request_language() -> str:
    """The language the customer signed up in (the request's), as the customer's preference."""
    try:
        return translation.get_supported_language_variant(
            translation.get_language() or settings.LANGUAGE_CODE
        )
    except LookupError:
        return settings.LANGUAGE_CODE


def _create_portal_user(data: RegistrationData, email: str, customer_number: str, source: str) -> User:
    user = User(
        email=email,
        first_name=data.first_name,
        last_name=data.last_name,
        preferred_language=_request_language(),
    )
    user.set_password(data.password)
    user.save()
    CustomerProfile.objects.create(
        user=user,
        customer_number=customer_number,
        first_name_kana=data.first_name_kana,
        last_name_kana=data.last_name_kana,
        birth_date=data.birth_date,
        phone_number=data.phone_number,
        postal_code=data.postal_code,
        prefecture=data.prefecture,
        city=data.city,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        prefecture_ja=data.prefecture_ja,
        city_ja=data.city_ja,
        address_line1_ja=data.address_line1_ja,
        address_line2_ja=data.address_line2_ja,
        portal_status=PortalStatus.ACTIVE,
        registration_source=source,
        synced_at=timezone.now(),
    )
    return user


# --- the saga -----------------------------------------------------------------------------------


class _Run:
    """One run of an attempt: appends each step's outcome to the row as soon as it is known."""

    def __init__(self, attempt: RegistrationAttempt) -> None:
        # Created with the attempt; only abandoning (never a run) removes it.
        assert attempt.user is not None, f"registration {attempt.pk} has no portal user"
        self.attempt = attempt
        self.user: User = attempt.user
        self.tried_before = {entry["step"] for entry in attempt.steps}

    def log(self, step: str, status: str, **detail: Any) -> None:
        self.attempt.steps = [
            *self.attempt.steps,
            {"step": step, "status": status, "at": timezone.now().isoformat(), **detail},
        ]
        RegistrationAttempt.objects.filter(pk=self.attempt.pk).update(steps=self.attempt.steps)

    def wait_for_landing(self, step: str) -> None:
        """Refuse to look for what ``step`` created while its last try, which never logged an
        outcome (its process was killed mid-call), may still be landing."""
        last = next(entry for entry in reversed(self.attempt.steps) if entry["step"] == step)
        if last["status"] != "started":
            return
        landed_by = datetime.fromisoformat(last["at"]) + timedelta(
            seconds=settings.REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS
        )
        if landed_by > timezone.now():
            raise StepFailed(
                step,
                "an earlier try was cut off mid-call and may still land",
                retryable=True,
                outcome_unknown=True,
            )

    def save(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.attempt, name, value)
        RegistrationAttempt.objects.filter(pk=self.attempt.pk).update(**fields)


def registration_advance(
    *,
    attempt_id: int,
    timeout_seconds: float | None = None,
    gateway: SalesforceGateway | None = None,
    whmcs: WhmcsClient | None = None,
    claimant: str = "",
) -> RegistrationAttempt:
    """Run the attempt's remaining steps, if no other process is running it. What fails is
    scheduled again (or left for a supervisor); nothing is ever created twice.

    ``claimant`` names the caller (the Celery task id): a worker killed mid-step leaves its claim
    behind, and the same task's redelivered message may take it over at once."""
    if not _claim(attempt_id, claimant):
        return RegistrationAttempt.objects.get(pk=attempt_id)
    attempt = RegistrationAttempt.objects.select_related("user__profile").get(pk=attempt_id)
    run = _Run(attempt)
    try:
        if not attempt.salesforce_account_id or not attempt.salesforce_contact_id:
            gateway = gateway or get_gateway(timeout_seconds=timeout_seconds)
            _salesforce_account_step(run, gateway)
        if attempt.whmcs_client_id is None:
            whmcs = whmcs or get_whmcs_client(timeout_seconds=timeout_seconds)
            _whmcs_client_step(run, whmcs)
        _id_mapping_step(run)
    except IntegrityError as exc:
        # Another customer already maps to these records: a supervisor must look.
        _record_failure(run, StepFailed(STEP_ID_MAPPING, f"Portal: {exc}", retryable=False))
    except DatabaseError as exc:
        _record_failure(run, StepFailed(STEP_ID_MAPPING, f"Portal: {type(exc).__name__}", retryable=True))
    except StepFailed as failure:
        _record_failure(run, failure)
    finally:
        RegistrationAttempt.objects.filter(pk=attempt_id).update(claimed_until=None, claimed_by="")
    attempt.claimed_until, attempt.claimed_by = None, ""
    return attempt


def _claim(attempt_id: int, claimant: str) -> bool:
    now = timezone.now()
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if claimant:
        claimable |= Q(claimed_by=claimant)
    return bool(
        RegistrationAttempt.objects.filter(pk=attempt_id, status=RegistrationAttempt.Status.IN_PROGRESS)
        .filter(claimable)
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=claimant)
    )


def _salesforce_account_step(run: _Run, gateway: SalesforceGateway) -> None:
    attempt = run.attempt
    profile = run.user.profile
    step = STEP_SALESFORCE_ACCOUNT
    if step in run.tried_before:
        run.wait_for_landing(step)
        try:
            found = _registered_account(gateway, attempt)
        except SalesforceError as exc:
            raise _salesforce_step_failed(step, exc) from exc
        if found is not None and found.contact_id:
            run.save(salesforce_account_id=found.account_id, salesforce_contact_id=found.contact_id)
            run.log(
                step,
                "adopted",
                salesforce_account_id=found.account_id,
                salesforce_contact_id=found.contact_id,
            )
            return
        if found is not None:
            # The Composite is all-or-none, so an Account without its Contact is not ours to adopt.
            raise StepFailed(
                step,
                f"Salesforce Account {found.account_id} carries this customer number but has no "
                f"Contact with the customer's email.",
                retryable=False,
            )
    subrequests = account_contact_create_subrequests(
        user=run.user,
        profile=profile,
        customer_number=attempt.customer_number,
        email=attempt.email,
        source=attempt.source,
    )
    run.log(step, "started")
    try:
        result = gateway.composite(subrequests, all_or_none=True)
    except SalesforceError as exc:
        raise _salesforce_step_failed(step, exc) from exc
    account_id, contact_id = result.ids["account"], result.ids["contact"]
    run.save(salesforce_account_id=account_id, salesforce_contact_id=contact_id)
    run.log(step, "succeeded", salesforce_account_id=account_id, salesforce_contact_id=contact_id)


@dataclass(frozen=True)
class _RegisteredAccount:
    account_id: str
    contact_id: str
    """"" when the Account has no Contact with the customer's email."""


def _registered_account(
    gateway: SalesforceGateway, attempt: RegistrationAttempt
) -> _RegisteredAccount | None:
    """The Account (and its Contact) an earlier try created, found by the customer number written
    on it, unique to the attempt. Two calls, made only after an unknown outcome."""
    account = gateway.find_account_by_customer_number(attempt.customer_number)
    if account is None:
        return None
    contact = gateway.find_contact(account_id=account.id, email=attempt.email)
    return _RegisteredAccount(account.id, contact.id if contact is not None else "")


def _salesforce_step_failed(step: str, exc: SalesforceError) -> StepFailed:
    return StepFailed(
        step,
        f"Salesforce: {exc}",
        retryable=exc.retryable,
        outcome_unknown=isinstance(exc, SalesforceOutcomeUnknown),
    )


def _whmcs_client_step(run: _Run, whmcs: WhmcsClient) -> None:
    attempt = run.attempt
    profile = run.user.profile
    step = STEP_WHMCS_CLIENT
    if step in run.tried_before:
        run.wait_for_landing(step)
        if _adopt_whmcs_client(run, whmcs):
            return
    run.log(step, "started")
    try:
        client_id = whmcs.add_client(
            first_name=run.user.first_name,
            last_name=run.user.last_name,
            email=attempt.email,
            address1=profile.address_line1,
            address2=profile.address_line2,
            city=profile.city,
            state=profile.prefecture,
            postcode=profile.postal_code,
            country="JP",
            phone_number=profile.phone_number,
            # Customers sign in to the portal only; the billing client gets an unusable password.
            password=secrets.token_urlsafe(24),
            notes=whmcs_client_notes(attempt.customer_number, attempt.salesforce_account_id),
        )
    except WhmcsError as exc:
        # WHMCS refuses a second client for an email: when an earlier try's write landed after
        # all, this refusal is how we learn it.
        if not exc.retryable and _adopt_whmcs_client(run, whmcs):
            return
        raise StepFailed(
            step,
            f"WHMCS: {exc.message}",
            retryable=exc.retryable,
            # No answer at all: the call may still be running in WHMCS.
            outcome_unknown=isinstance(exc, WhmcsTransportError) and exc.status_code is None,
        ) from exc
    run.save(whmcs_client_id=client_id)
    run.log(step, "succeeded", whmcs_client_id=client_id)


def whmcs_client_notes(customer_number: str, salesforce_account_id: str) -> str:
    return f"{WHMCS_CLIENT_NOTE}; customer {customer_number}; Salesforce Account {salesforce_account_id}"


def _adopt_whmcs_client(run: _Run, whmcs: WhmcsClient) -> bool:
    """Adopt the client an earlier try created: the one with the customer's email whose notes
    carry this attempt's customer number. A client of that email that is not ours fails the step
    for good (a supervisor decides)."""
    attempt = run.attempt
    try:
        client = whmcs.client_by_email(attempt.email)
    except WhmcsError as exc:
        raise StepFailed(STEP_WHMCS_CLIENT, f"WHMCS: {exc.message}", retryable=exc.retryable) from exc
    if client is None:
        return False
    if f"customer {attempt.customer_number};" not in client.notes:
        raise StepFailed(
            STEP_WHMCS_CLIENT,
            f"WHMCS already has client {client.id} with this email, not created by this registration.",
            retryable=False,
        )
    run.save(whmcs_client_id=client.id)
    run.log(STEP_WHMCS_CLIENT, "adopted", whmcs_client_id=client.id)
    return True


def _id_mapping_step(run: _Run) -> None:
    attempt = run.attempt
    assert attempt.whmcs_client_id is not None
    with transaction.atomic():
        IdMapping.objects.create(
            user=run.user,
            salesforce_account_id=attempt.salesforce_account_id,
            salesforce_contact_id=attempt.salesforce_contact_id,
            whmcs_client_id=attempt.whmcs_client_id,
        )
        _enqueue_salesforce_link(attempt, run.user)
        dashboard_cache_invalidate(run.user.pk)
        run.save(
            status=RegistrationAttempt.Status.SUCCEEDED, finished_at=timezone.now(), error="", failed_step=""
        )
        run.log(STEP_ID_MAPPING, "succeeded", user_id=attempt.user_id)
    logger.info(
        "Registered customer %s (Account %s, WHMCS client %s)",
        attempt.user_id,
        attempt.salesforce_account_id,
        attempt.whmcs_client_id,
    )


def _enqueue_salesforce_link(attempt: RegistrationAttempt, user: User) -> None:
    """The Account learns its WHMCS id (and a SIM checkout opens its Opportunity) through the
    outbox: it can never be lost and costs one more Salesforce call, made by the worker."""
    account_id = attempt.salesforce_account_id
    subrequests = [account_whmcs_client_subrequest(account_id, attempt.whmcs_client_id)]
    write_backs = []
    if attempt.order_type == ProductType.SIM:
        # Order placement then finds this Opportunity (SIM: "open or new") and moves it on.
        opened = sim_opportunity_open_for_registration(
            user=user, account_id=account_id, today=timezone.localdate()
        )
        subrequests.append(opened.subrequest)
        write_backs.append(opened.write_back)
    outbox_enqueue_salesforce(
        operation="registration.link_whmcs_client",
        record_key=account_record_key(account_id),
        subrequests=subrequests,
        write_backs=write_backs,
    )


def _record_failure(run: _Run, failure: StepFailed) -> None:
    attempt = run.attempt
    tries = attempt.tries + 1
    run.log(
        failure.step,
        "failed",
        error=str(failure),
        retryable=failure.retryable,
        outcome_unknown=failure.outcome_unknown,
    )
    if failure.retryable and tries < MAX_TRIES:
        backoff = Backoff(initial=settings.REGISTRATION_RETRY_INITIAL_SECONDS, maximum=60 * 60)
        delay = backoff.delay(tries - 1)
        if failure.outcome_unknown:
            delay = max(delay, settings.REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS)
        run.save(
            tries=tries,
            failed_step=failure.step,
            error=str(failure),
            next_try_at=timezone.now() + timedelta(seconds=delay),
        )
        _schedule(attempt.pk, countdown=delay)
        logger.warning("Registration %s: %s failed, trying again in %.0f s", attempt.pk, failure.step, delay)
    else:
        run.save(
            tries=tries,
            failed_step=failure.step,
            error=str(failure),
            next_try_at=None,
            status=RegistrationAttempt.Status.NEEDS_ATTENTION,
        )
        logger.error("Registration %s needs a supervisor: %s failed: %s", attempt.pk, failure.step, failure)


def _schedule(attempt_id: int, *, countdown: float) -> None:
    from apps.accounts.tasks import advance_registration_task

    transaction.on_commit(lambda: advance_registration_task.apply_async((attempt_id,), countdown=countdown))


def registrations_resume_due(*, limit: int = 100) -> int:
    """Run the in-progress attempts that are due and that nobody holds: the safety net for a
    lost task message or a process killed mid-step (beat runs it every minute)."""
    now = timezone.now()
    due = list(
        RegistrationAttempt.objects.filter(status=RegistrationAttempt.Status.IN_PROGRESS)
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        # Leave a registration a customer is waiting on to its request.
        .filter(created_at__lt=now - timedelta(seconds=CLAIM_SECONDS // 5))
        .values_list("pk", flat=True)[:limit]
    )
    for attempt_id in due:
        registration_advance(attempt_id=attempt_id)
    return len(due)


# --- supervisors --------------------------------------------------------------------------------


def registration_resume(*, attempt: RegistrationAttempt) -> RegistrationAttempt:
    """Give an attempt that needs attention a fresh round of tries, starting now (the console's
    "Resume"). The caller records who did it."""
    updated = RegistrationAttempt.objects.filter(
        pk=attempt.pk, status=RegistrationAttempt.Status.NEEDS_ATTENTION
    ).update(status=RegistrationAttempt.Status.IN_PROGRESS, tries=0, next_try_at=None)
    if not updated:
        raise ApplicationError(
            _("Only a registration that needs attention can be resumed."), code="not_stuck"
        )
    _schedule(attempt.pk, countdown=0)
    attempt.refresh_from_db()
    return attempt


def registration_abandon(
    *,
    attempt: RegistrationAttempt,
    reason: str,
    gateway: SalesforceGateway | None = None,
    whmcs: WhmcsClient | None = None,
    on_abandoned: Callable[[RegistrationAttempt], object] | None = None,
) -> RegistrationAttempt:
    """Give up an attempt that cannot finish (the console's "Abandon"): what it created is
    recorded as orphans, the Account deactivated, and the portal user removed so the email is
    free to register again. Steps whose outcome is unknown are looked up first; while Salesforce
    or WHMCS cannot be asked, nothing changes and the supervisor is told to try later.

    ``on_abandoned`` is called with the abandoned attempt inside the transaction that abandons
    it, so what the caller records about it (the console's audit row) commits with it or not at
    all."""
    if attempt.status != RegistrationAttempt.Status.NEEDS_ATTENTION:
        raise ApplicationError(
            _("Only a registration that needs attention can be abandoned."), code="not_stuck"
        )
    try:
        account_id, contact_id = attempt.salesforce_account_id, attempt.salesforce_contact_id
        if not account_id and STEP_SALESFORCE_ACCOUNT in {entry["step"] for entry in attempt.steps}:
            found = _registered_account(gateway or get_gateway(), attempt)
            if found is not None:
                account_id, contact_id = found.account_id, found.contact_id
        whmcs_client_id = attempt.whmcs_client_id
        if whmcs_client_id is None and STEP_WHMCS_CLIENT in {entry["step"] for entry in attempt.steps}:
            client = (whmcs or get_whmcs_client()).client_by_email(attempt.email)
            if client is not None and f"customer {attempt.customer_number};" in client.notes:
                whmcs_client_id = client.id
    except (SalesforceError, WhmcsError) as exc:
        raise ApplicationError(
            _("Salesforce or WHMCS cannot be checked right now, so nothing was changed. Try again later."),
            code="systems_unavailable",
        ) from exc

    note = f"Registration {attempt.pk} ({attempt.customer_number}) abandoned: {reason}"
    with transaction.atomic():
        locked = RegistrationAttempt.objects.select_for_update().get(pk=attempt.pk)
        if locked.status != RegistrationAttempt.Status.NEEDS_ATTENTION:
            raise ApplicationError(
                _("Only a registration that needs attention can be abandoned."), code="not_stuck"
            )
        if account_id:
            OrphanedSalesforceAccount.objects.get_or_create(
                salesforce_account_id=account_id,
                defaults={
                    "salesforce_contact_id": contact_id,
                    "email": attempt.email,
                    "customer_number": attempt.customer_number,
                    "registration_attempt": locked,
                    "detected_by": OrphanedSalesforceAccount.DetectedBy.ABANDONED_REGISTRATION,
                    "reason": note,
                },
            )
            orphaned_account_deactivate(account_id=account_id)
        if whmcs_client_id is not None:
            OrphanedWhmcsClient.objects.get_or_create(
                whmcs_client_id=whmcs_client_id,
                defaults={
                    "email": attempt.email,
                    "salesforce_account_id": account_id,
                    "detected_by": OrphanedWhmcsClient.DetectedBy.REGISTRATION_FAILURE,
                    "reason": note,
                },
            )
        if locked.user_id is not None and not IdMapping.objects.filter(user_id=locked.user_id).exists():
            User.objects.filter(pk=locked.user_id, is_staff=False).delete()
            locked.user = None
        locked.status = RegistrationAttempt.Status.ABANDONED
        locked.salesforce_account_id = account_id
        locked.salesforce_contact_id = contact_id
        locked.whmcs_client_id = whmcs_client_id
        locked.finished_at = timezone.now()
        locked.steps = [
            *locked.steps,
            {"step": "abandoned", "status": "succeeded", "at": timezone.now().isoformat(), "reason": reason},
        ]
        locked.save()
        if on_abandoned is not None:
            on_abandoned(locked)
    logger.warning("Registration %s abandoned: %s", attempt.pk, reason)
    return locked


def orphaned_account_deactivate(*, account_id: str) -> None:
    """Queue Portal Status = Inactive for an Account no portal user maps to, so it stops looking
    like an active portal customer in Salesforce (call it inside the transaction that records
    the orphan)."""
    outbox_enqueue_salesforce(
        operation="registration.deactivate_orphaned_account",
        record_key=account_record_key(account_id),
        subrequests=[account_deactivated_subrequest(account_id)],
    )
