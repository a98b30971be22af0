"""How the portal writes a customer's address on one line: in Japanese (what an NTT serviceability
check reads) and in romaji (billing, WHMCS). Both share the postal code."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


def address_ja_line(
    *, postal_code: str, prefecture_ja: str, city_ja: str, line1_ja: str, line2_ja: str
) -> str:
    """``〒150-0002 東京都渋谷区神宮前1-2-3 ソニックスビル101``: Japanese runs the parts together;
    empty when there is no Japanese address."""
    street = f"{prefecture_ja}{city_ja}{line1_ja}"
    if not street:
        return ""
    return " ".join(part for part in (f"〒{postal_code}" if postal_code else "", street, line2_ja) if part)


def address_romaji_line(*, postal_code: str, prefecture: str, city: str, line1: str, line2: str) -> str:
    """``〒150-0002 Tokyo Shibuya-ku 2-21-3 Shibuya``, the parts separated by spaces."""
    if not (prefecture or city or line1):
        return ""
    return " ".join(
        part for part in (f"〒{postal_code}" if postal_code else "", prefecture, city, line1, line2) if part
    )


class AddressMixin(models.Model):
    """The address in Japanese script beside a model's romaji address fields (the postal code is
    shared), and ``address_ja`` / ``address_romaji``: what an NTT serviceability check reads.

    Empty where it was given before the portal asked for it; a database default too, so code
    that predates the columns (a rolling deploy) still inserts rows.
    """

    postal_code: str
    prefecture: str
    city: str
    address_line1: str
    address_line2: str

    prefecture_ja = models.CharField(
        _("prefecture (Japanese)"), max_length=10, blank=True, default="", db_default=""
    )
    city_ja = models.CharField(_("city (Japanese)"), max_length=100, blank=True, default="", db_default="")
    address_line1_ja = models.CharField(
        _("street address (Japanese)"), max_length=255, blank=True, db_default=""
    )
    address_line2_ja = models.CharField(
        _("building and room (Japanese)"), max_length=255, blank=True, db_default=""
    )

    class Meta:
        abstract = True

    @property
    def address_ja(self) -> str:
        return address_ja_line(
            postal_code=self.postal_code,
            prefecture_ja=self.prefecture_ja,
            city_ja=self.city_ja,
            line1_ja=self.address_line1_ja,
            line2_ja=self.address_line2_ja,
        )

    @property
    def address_romaji(self) -> str:
        return address_romaji_line(
            postal_code=self.postal_code,
            prefecture=self.prefecture,
            city=self.city,
            line1=self.address_line1,
            line2=self.address_line2,
        )
