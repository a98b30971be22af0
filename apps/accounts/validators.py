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


# Hiragana, katakana (full and half width), CJK ideographs and the iteration mark 々: a Japanese
# place name has at least one of them.
_JAPANESE_SCRIPT = re.compile(
    r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f々〆ヶ]"
)
_LATIN_LETTER = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]")
_PREFECTURE_JA_BY_ENGLISH = dict(zip(PREFECTURES, PREFECTURES_JA, strict=True))
# 東京 for 東京都, 大阪 for 大阪府...; 北海道 has no suffix to drop.
_PREFECTURE_JA_LOOKUP = {name[:-1]: name for name in PREFECTURES_JA if name[-1] in "都府県"} | {
    name: name for name in PREFECTURES_JA
}


def normalize_prefecture_ja(value: str) -> str:
    """A prefecture in kanji (``東京都``, or ``東京`` without its suffix) → its full kanji name."""
    name = _PREFECTURE_JA_LOOKUP.get(value.strip())
    if not name:
        raise ValidationError(
            _("Enter one of the 47 prefectures of Japan in Japanese, like 東京都."),
            code="invalid_prefecture_ja",
        )
    return name


def prefecture_ja_of(prefecture: str) -> str:
    """The kanji name of a prefecture given by its English name (``Tokyo`` → ``東京都``)."""
    return _PREFECTURE_JA_BY_ENGLISH.get(prefecture, "")


def validate_japanese_place(value: str) -> str:
    """A city or ward in Japanese script: at least one kana or kanji (``渋谷区``)."""
    value = value.strip()
    if not _JAPANESE_SCRIPT.search(value):
        raise ValidationError(_("Write this in Japanese, like 渋谷区."), code="not_japanese")
    return value


def validate_japanese_street(value: str) -> str:
    """The town and block in Japanese (``神宮前1-2-3``). Block numbers alone (``1-2-3``) are fine;
    words in Latin letters without any Japanese (``Jingumae 1-2-3``) are romaji, not Japanese."""
    value = value.strip()
    if _LATIN_LETTER.search(value) and not _JAPANESE_SCRIPT.search(value):
        raise ValidationError(_("Write this in Japanese, like 神宮前1-2-3."), code="not_japanese")
    return value
