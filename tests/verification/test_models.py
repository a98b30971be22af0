from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from tests.factories import PNG_BYTES, ResidenceCardSubmissionFactory

pytestmark = pytest.mark.django_db


def test_residence_cards_are_stored_privately_under_a_generated_name() -> None:
    submission = ResidenceCardSubmissionFactory()

    stored = Path(settings.PRIVATE_MEDIA_ROOT) / submission.file.name
    assert stored.read_bytes() == PNG_BYTES
    assert submission.file.name.startswith(f"residence-cards/{submission.user_id}/")
    assert submission.file.name.endswith(".png")
    assert "card" not in Path(submission.file.name).name
    assert not str(stored).startswith(str(settings.MEDIA_ROOT))


def test_private_files_have_no_url() -> None:
    submission = ResidenceCardSubmissionFactory()

    with pytest.raises(ValueError, match="no URL"):
        _ = submission.file.url


def test_only_png_jpeg_and_pdf_are_accepted() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidenceCardSubmissionFactory(content_type="image/gif")
