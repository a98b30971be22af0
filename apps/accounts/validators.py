"""Validation of Japanese addresses and phone numbers, shared by registration and eligibility."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PREFECTURES = (
    "Hokkaido", "Aomori", "Iwate", "Miyagi", "Akita", "Yamagata", "Fukushima", "Ibaraki", "Tochigi",
    "Gunma", "Saitama", "Chiba", "Tokyo", "Kanagawa", "Niigata", "Toyama", "Ishikawa", "Fukui",
    "Yamanashi", "Nagano", "Gifu", "Shizuoka", "Aichi", "Mie", "Shiga", "Kyoto", "Osaka", "Hyogo",
    "Nara", "Wakayama", "Tottori", "Shimane", "Okayama", "Hiroshima", "Yamaguchi", "Tokushima",
    "Kagawa", "Ehime", "Kochi", "Fukuoka", "Saga", "Nagasaki", "Kumamoto", "Oita", "Miyazaki",
    "Kagoshima", "Okinawa",
)  # fmt: skip
PREFECTURES_JA = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip
_PREFECTURE_LOOKUP = {name.lower(): name for name in PREFECTURES} | dict(
    zip(PREFECTURES_JA, PREFECTURES, strict=True)
)

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_POSTAL_CODE = re.compile(r"^(\d{3})[-‐－ー]?(\d{4})$")
_PHONE_DIGITS = re.compile(r"^0\d{9,10}$")


def normalize_postal_code(value: str) -> str:
    """``1500002``, ``150-0002`` or full-width dashes → ``150-0002``."""
    match = _POSTAL_CODE.match(value.strip().translate(_FULL_WIDTH_DIGITS))
    if not match:
        raise ValidationError(_("Enter a Japanese postal code like 150-0002."), code="invalid_postal_code")
    return f"{match.group(1)}-{match.group(2)}"


def normalize_prefecture(value: str) -> str:
    """A prefecture in English (``Tokyo``) or Japanese (``東京都``) → the English name."""
    name = _PREFECTURE_LOOKUP.get(value.strip()) or _PREFECTURE_LOOKUP.get(value.strip().lower())
    if not name:
        raise ValidationError(_("Enter one of the 47 prefectures of Japan."), code="invalid_prefecture")
    return name


def normalize_phone_number(value: str) -> str:
    """A Japanese phone number with 10 or 11 digits, starting with 0; separators are kept out."""
    digits = re.sub(r"[\s\-‐－ー()]", "", value.strip().translate(_FULL_WIDTH_DIGITS))
    if digits.startswith("+81"):
        digits = "0" + digits[3:]
    if not _PHONE_DIGITS.match(digits):
        raise ValidationError(
            _("Enter a Japanese phone number like 090-1234-5678."), code="invalid_phone_number"
        )
    return digits
