"""Every notification type in English (stored on the row, as the seed) and in Japanese (rendered
by the API for ``Accept-Language: ja``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.notifications.models import Notification, NotificationType
from apps.notifications.notification_templates import render_notification
from apps.notifications.services import notification_create
from tests.factories import CustomerFactory, NotificationFactory


@dataclass(frozen=True)
class Case:
    type: NotificationType
    context: dict[str, Any]
    action_url: str | None
    en: tuple[str, str | None, str | None]
    ja: tuple[str, str | None, str | None]


CASES = [
    Case(
        NotificationType.ELIGIBILITY_ELIGIBLE,
        {"offering": "Home 1G"},
        "/account/services/internet",
        (
            "Good news! Internet service is available",
            "We've confirmed that internet service is available at your address. Your eligible offering: "
            "Home 1G. You can now choose a plan and complete your order.",
            "View plans",
        ),
        (
            "朗報です！インターネットサービスをご利用いただけます",
            "ご住所でインターネットサービスをご利用いただけることを確認しました。"
            "ご提供可能なサービス：Home 1G。プランをお選びのうえ、ご注文をお手続きください。",
            "プランを見る",
        ),
    ),
    Case(
        NotificationType.ELIGIBILITY_INELIGIBLE,
        {"notes": "No NTT fibre in this building."},
        "/account/services/internet",
        (
            "Internet service not available",
            "Unfortunately, after checking with NTT, internet service is not currently available at your "
            "address. If you believe this is an error or your situation changes, please contact our support "
            "team. Notes: No NTT fibre in this building.",
            "View status",
        ),
        (
            "インターネットサービスをご提供できません",
            "NTTに確認しましたところ、誠に残念ながら、現在ご住所ではインターネットサービスをご提供できません。"
            "お心当たりのない場合やご状況が変わった場合は、サポートチームまでお問い合わせください。"
            "備考：No NTT fibre in this building.",
            "状況を確認する",
        ),
    ),
    Case(
        NotificationType.VERIFICATION_VERIFIED,
        {},
        "/account/settings/verification",
        (
            "ID verification complete",
            "Your identity verification is complete. You can now proceed with your order.",
            "Continue checkout",
        ),
        (
            "本人確認が完了しました",
            "本人確認が完了しました。ご注文のお手続きにお進みいただけます。",
            "お手続きを続ける",
        ),
    ),
    Case(
        NotificationType.VERIFICATION_REJECTED,
        {"reason": "Document has expired."},
        "/account/settings/verification",
        (
            "ID verification requires attention",
            "We were unable to verify your identity from the document you submitted. Please resubmit a "
            "clear photo of your residence card. Reason: Document has expired.",
            "Resubmit",
        ),
        (
            "本人確認について対応が必要です",
            "ご提出いただいた書類では本人確認ができませんでした。在留カードの鮮明な写真を再度ご提出ください。"
            "理由：Document has expired.",
            "再提出する",
        ),
    ),
    Case(
        NotificationType.ORDER_APPROVED,
        {"order_number": "00001234"},
        "/account/orders",
        (
            "Order approved",
            "Your order 00001234 has been approved and is being processed. "
            "We'll let you know when your service is active.",
            "View order",
        ),
        (
            "ご注文が承認されました",
            "ご注文（注文番号：00001234）が承認され、現在お手続きを進めております。"
            "サービスをご利用いただけるようになりましたら、改めてお知らせします。",
            "注文を確認する",
        ),
    ),
    Case(
        NotificationType.ORDER_ACTIVATED,
        {"order_number": "00001234", "service_name": "SonixNet Home 1G"},
        "/account/services",
        (
            "Service activated",
            "Your order 00001234 is complete and SonixNet Home 1G is now active.",
            "View service",
        ),
        (
            "サービスのご利用を開始しました",
            "ご注文（注文番号：00001234）のお手続きが完了し、SonixNet Home 1Gをご利用いただけるようになりました。",
            "サービスを確認する",
        ),
    ),
    Case(
        NotificationType.ORDER_FAILED,
        {"order_number": "00001234"},
        "/account/orders",
        (
            "Order requires attention",
            "We couldn't complete your order 00001234. Our team has been notified and will contact you. "
            "If you have any questions, please contact our support team.",
            "View order",
        ),
        (
            "ご注文について確認が必要です",
            "ご注文（注文番号：00001234）のお手続きを完了できませんでした。担当者が確認のうえ、ご連絡いたします。"
            "ご不明な点がございましたら、サポートチームまでお問い合わせください。",
            "注文を確認する",
        ),
    ),
    Case(
        NotificationType.ORDER_REJECTED,
        {"order_number": "00001234", "reason": "The address is outside our service area."},
        "/account/orders",
        (
            "Order not accepted",
            "We could not accept your order 00001234 and it has been cancelled. If you have any questions, "
            "please contact our support team. Reason: The address is outside our service area.",
            "View order",
        ),
        (
            "ご注文をお受けできませんでした",
            "ご注文（注文番号：00001234）をお受けできず、キャンセルいたしました。"
            "ご不明な点がございましたら、サポートチームまでお問い合わせください。"
            "理由：The address is outside our service area.",
            "注文を確認する",
        ),
    ),
    Case(
        NotificationType.ORDER_ON_HOLD,
        {"order_number": "00001234", "reason": "Please call us to confirm the installation date."},
        "/account/orders",
        (
            "Order on hold",
            "Your order 00001234 is on hold. Reason: Please call us to confirm the installation date.",
            "View order",
        ),
        (
            "ご注文を保留しています",
            "ご注文（注文番号：00001234）を保留しています。理由：Please call us to confirm the installation date.",
            "注文を確認する",
        ),
    ),
    Case(
        NotificationType.ORDER_HOLD_RELEASED,
        {"order_number": "00001234"},
        "/account/orders",
        (
            "Order back in review",
            "Your order 00001234 is no longer on hold and is being reviewed again.",
            "View order",
        ),
        (
            "ご注文の審査を再開しました",
            "ご注文（注文番号：00001234）の保留を解除し、審査を再開しました。",
            "注文を確認する",
        ),
    ),
    Case(
        NotificationType.CANCELLATION_SCHEDULED,
        {"service_name": "SonixNet Home 1G", "scheduled_date": date(2025, 3, 31)},
        "/account/services",
        (
            "Cancellation scheduled",
            "Cancellation of SonixNet Home 1G is scheduled for March 31, 2025. "
            "The service remains available until then.",
            "View status",
        ),
        (
            "解約のお申し込みを受け付けました",
            "SonixNet Home 1Gの解約を受け付けました。解約日は2025年3月31日です。解約日までは引き続きご利用いただけます。",
            "状況を確認する",
        ),
    ),
    Case(
        NotificationType.CANCELLATION_COMPLETE,
        {"service_name": "SonixNet Home 1G"},
        "/account/services",
        (
            "Service cancelled",
            "SonixNet Home 1G has been cancelled. Thank you for using SonixNet.",
            "View services",
        ),
        (
            "サービスの解約が完了しました",
            "SonixNet Home 1Gの解約が完了しました。SonixNetをご利用いただき、誠にありがとうございました。",
            "サービス一覧を見る",
        ),
    ),
    Case(
        NotificationType.PAYMENT_METHOD_EXPIRING,
        {"card": "Visa ending 4242", "expires_on": date(2025, 4, 30)},
        "/account/billing/payment-methods",
        (
            "Payment method expiring soon",
            "Your payment method Visa ending 4242 expires in April 2025. "
            "Please update it to avoid any interruption to your services.",
            "Update payment method",
        ),
        (
            "お支払い方法の有効期限が近づいています",
            "お支払い方法（Visa ending 4242）の有効期限は2025年4月です。"
            "サービスを引き続きご利用いただくため、お支払い方法を更新してください。",
            "お支払い方法を更新する",
        ),
    ),
    Case(
        NotificationType.INVOICE_DUE,
        {"invoice_number": "INV-00077", "amount": Decimal("4980.00"), "due_date": date(2025, 3, 15)},
        "/account/billing/invoices",
        (
            "Invoice due",
            "Invoice INV-00077 for ¥4,980 is due on March 15, 2025.",
            "View invoice",
        ),
        (
            "お支払い期限のお知らせ",
            "請求書 INV-00077（4,980円）のお支払い期限は2025年3月15日です。",
            "請求書を確認する",
        ),
    ),
    Case(
        NotificationType.SYSTEM_ANNOUNCEMENT,
        {"text": "Scheduled maintenance on March 20, 02:00-04:00 JST."},
        None,
        ("System announcement", "Scheduled maintenance on March 20, 02:00-04:00 JST.", None),
        ("システムからのお知らせ", "Scheduled maintenance on March 20, 02:00-04:00 JST.", None),
    ),
]


def test_every_type_has_a_case() -> None:
    assert {case.type for case in CASES} == set(NotificationType)


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[case.type.value for case in CASES])
def test_the_english_text_is_stored_on_the_row(case: Case) -> None:
    user = CustomerFactory()

    notification = notification_create(
        user_id=user.pk, type=case.type, source_id="src-1", context=case.context
    )

    assert notification is not None
    stored = Notification.objects.get(pk=notification.pk)
    assert (stored.title, stored.message, stored.action_label) == case.en
    assert stored.action_url == case.action_url


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("case", CASES, ids=[case.type.value for case in CASES])
def test_the_api_renders_the_readers_language(case: Case, language: str) -> None:
    user = CustomerFactory()
    notification_create(user_id=user.pk, type=case.type, source_id="src-1", context=case.context)
    client = APIClient()
    client.force_login(user)

    response = client.get(reverse("notifications:list"), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert (item["title"], item["message"], item["action_label"]) == getattr(case, language)
    assert item["action_url"] == case.action_url


@pytest.mark.django_db
def test_optional_details_are_left_out_cleanly_when_unknown() -> None:
    user = CustomerFactory()

    eligible = notification_create(user_id=user.pk, type=NotificationType.ELIGIBILITY_ELIGIBLE)
    ineligible = notification_create(user_id=user.pk, type=NotificationType.ELIGIBILITY_INELIGIBLE)
    rejected = notification_create(user_id=user.pk, type=NotificationType.VERIFICATION_REJECTED)
    approved = notification_create(user_id=user.pk, type=NotificationType.ORDER_APPROVED)
    cancellation = notification_create(
        user_id=user.pk,
        type=NotificationType.CANCELLATION_SCHEDULED,
        context={"scheduled_date": "2025-03-31"},
    )
    invoice = notification_create(
        user_id=user.pk,
        type=NotificationType.INVOICE_DUE,
        context={"invoice_number": "INV-1", "due_date": "2025-03-15"},
    )

    messages = [
        n.message if n else None for n in (eligible, ineligible, rejected, approved, cancellation, invoice)
    ]
    assert messages == [
        "We've confirmed that internet service is available at your address. "
        "You can now choose a plan and complete your order.",
        "Unfortunately, after checking with NTT, internet service is not currently available at your "
        "address. If you believe this is an error or your situation changes, please contact our support team.",
        "We were unable to verify your identity from the document you submitted. "
        "Please resubmit a clear photo of your residence card.",
        "Your order has been approved and is being processed. We'll let you know when your service is active.",
        "Your cancellation is scheduled for March 31, 2025. The service remains available until then.",
        "Invoice INV-1 is due on March 15, 2025.",
    ]


@pytest.mark.django_db
def test_the_api_falls_back_to_the_stored_text_without_a_template() -> None:
    legacy = NotificationFactory(
        type="LEGACY_TYPE", title="Legacy title", message="Legacy message", action_label="Open"
    )
    client = APIClient()
    client.force_login(legacy.user)

    response = client.get(reverse("notifications:list"), HTTP_ACCEPT_LANGUAGE="ja")

    [item] = response.json()["results"]
    assert (item["title"], item["message"], item["action_label"]) == (
        "Legacy title",
        "Legacy message",
        "Open",
    )


@pytest.mark.django_db
def test_an_announcement_without_text_parameters_shows_its_stored_message() -> None:
    announcement = NotificationFactory(
        type=NotificationType.SYSTEM_ANNOUNCEMENT, message="Our office is closed on May 3.", context={}
    )
    client = APIClient()
    client.force_login(announcement.user)

    response = client.get(reverse("notifications:list"), HTTP_ACCEPT_LANGUAGE="ja")

    [item] = response.json()["results"]
    assert (item["title"], item["message"]) == ("システムからのお知らせ", "Our office is closed on May 3.")


def test_rule_eligibility_ineligible_action_url_is_the_internet_services_page() -> None:
    """Dashboard seed, "Action URLs": eligibility notifications point to /account/services/internet."""
    for notification_type in (NotificationType.ELIGIBILITY_INELIGIBLE, NotificationType.ELIGIBILITY_ELIGIBLE):
        rendered = render_notification(notification_type, {"notes": "No fibre.", "offering": "Home 1G"})
        assert rendered is not None
        assert rendered.action_url == "/account/services/internet"
