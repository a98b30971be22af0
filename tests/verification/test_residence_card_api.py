"""Residence card (ID verification) uploads through the HTTP API and the Salesforce emulator."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from PIL import Image
from pytest_django.fixtures import Settings as SettingsFixture
from rest_framework.test import APIClient

from apps.accounts.models import CustomerProfile, IdVerificationStatus, User
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.verification.models import RejectionReason, ResidenceCardStatusChange, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.factories import ResidenceCardSubmissionFactory
from tests.helpers import MakeCustomer, error_code, error_message, field_messages
from tests.scenarios import png_bytes, upload
from tests.verification.conftest import salesforce_account

pytestmark = pytest.mark.django_db

URL = "/api/verification/residence-card"


# --- Files -----------------------------------------------------------------------------------


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes claiming ``width`` x ``height`` pixels: a pixel flood."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + png_chunk(b"IEND", b"")
    )


def blank_png(width: int, height: int) -> bytes:
    """A sound black-and-white PNG of ``width`` x ``height`` pixels in a few kilobytes."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = (b"\0" + b"\0" * ((width + 7) // 8)) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def pdf_bytes(*objects: bytes, trailer: bytes = b"<< /Root 1 0 R /Size 4 >>") -> bytes:
    body = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj",
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj",
        *objects,
    ]
    return b"%PDF-1.7\n" + b"\n".join(body) + b"\ntrailer " + trailer + b"\nstartxref\n0\n%%EOF\n"


def pdf_object_stream(content: bytes, *, flate: bool = True) -> bytes:
    data = zlib.compress(content) if flate else content
    filter_entry = b" /Filter /FlateDecode" if flate else b""
    return (
        b"9 0 obj << /Type /ObjStm /N 1 /First 4"
        + filter_entry
        + b" /Length "
        + str(len(data)).encode()
        + b" >>\nstream\n"
        + data
        + b"\nendstream endobj"
    )


def stored_files() -> list[Path]:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def assert_nothing_stored(customer: User) -> None:
    assert stored_files() == []
    assert not ResidenceCardSubmission.objects.exists()
    assert not ResidenceCardStatusChange.objects.exists()
    assert not OutboxEntry.objects.exists()
    assert CustomerProfile.objects.get(user=customer).id_verification_status == ""


# --- Accepted uploads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_content", "name", "declared", "content_type", "extension"),
    [
        (png_bytes, "card.png", "image/png", "image/png", "png"),
        (jpeg_bytes, "card.jpg", "image/jpeg", "image/jpeg", "jpg"),
        (pdf_bytes, "card.pdf", "application/pdf", "application/pdf", "pdf"),
    ],
)
def test_an_accepted_card_is_stored_privately_and_reaches_salesforce_in_one_call(
    api: APIClient,
    customer: User,
    systems: EmulatorSuite,
    make_content: Any,
    name: str,
    declared: str,
    content_type: str,
    extension: str,
) -> None:
    content = make_content()

    response = api.post(URL, {"file": upload(content, name, declared)}, format="multipart")

    assert response.status_code == 201, response.json()
    body = response.json()
    submission = ResidenceCardSubmission.objects.get(user=customer)
    profile = CustomerProfile.objects.get(user=customer)
    assert body == {
        "status": "submitted",
        "submitted_at": body["submitted_at"],
        "verified_at": None,
        "rejection": None,
        "can_resubmit": False,
        "document": {
            "content_type": content_type,
            "size": len(content),
            "submitted_at": body["document"]["submitted_at"],
        },
    }
    assert profile.id_verification_status == IdVerificationStatus.SUBMITTED
    assert profile.id_verification_submitted_at is not None
    assert submission.content_type == content_type
    assert submission.size == len(content)
    assert submission.sha256 == hashlib.sha256(content).hexdigest()
    assert submission.status == ResidenceCardSubmission.Status.SUBMITTED
    assert stored_files() == [Path(settings.PRIVATE_MEDIA_ROOT) / submission.file.name]
    assert (Path(settings.PRIVATE_MEDIA_ROOT) / submission.file.name).read_bytes() == content
    assert submission.file.name.endswith(f".{extension}")
    (change,) = submission.history.all()
    assert (change.from_status, change.to_status, change.changed_by_id) == ("", "submitted", customer.pk)
    assert systems.salesforce.counters()["total"] == 0

    report = outbox_deliver_due()

    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] == 1
    assert systems.salesforce.counters()["composite"] == 1
    submission.refresh_from_db()
    account_id = customer.id_mapping.salesforce_account_id
    (version,) = systems.salesforce.store.find_records("ContentVersion")
    assert submission.salesforce_content_version_id == version["Id"]
    assert base64.b64decode(version["VersionData"]) == content
    assert version["FirstPublishLocationId"] == account_id
    assert version["PathOnClient"] == Path(submission.file.name).name
    assert version["Title"] == f"Residence card {timezone.localdate().isoformat()}"
    account = salesforce_account(systems, account_id)
    assert account["Id_Verification_Status__c"] == "Submitted"
    assert account["Id_Verification_Submitted_Date_Time__c"] is not None
    assert account["Id_Verification_Rejection_Message__c"] is None
    assert account["Id_Verification_Note__c"] is None


def test_a_hostile_file_name_is_never_used_for_storage(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    content = png_bytes()

    response = api.post(URL, {"file": upload(content, "../../etc/passwd.png")}, format="multipart")

    assert response.status_code == 201
    submission = ResidenceCardSubmission.objects.get()
    directory, file_name = submission.file.name.rsplit("/", 1)
    assert directory == f"residence-cards/{customer.pk}"
    assert len(file_name) == len("0123456789abcdef0123456789abcdef.png")
    assert file_name.endswith(".png")
    assert "passwd" not in submission.file.name
    assert ".." not in submission.file.name
    assert stored_files() == [Path(settings.PRIVATE_MEDIA_ROOT) / submission.file.name]


def test_the_declared_type_and_extension_do_not_matter_only_the_content(
    api: APIClient, systems: EmulatorSuite
) -> None:
    content = jpeg_bytes()

    response = api.post(URL, {"file": upload(content, "card.pdf", "application/pdf")}, format="multipart")

    assert response.status_code == 201
    assert ResidenceCardSubmission.objects.get().content_type == "image/jpeg"
    assert ResidenceCardSubmission.objects.get().file.name.endswith(".jpg")


def test_a_pdf_whose_image_data_happens_to_spell_js_is_accepted(
    api: APIClient, systems: EmulatorSuite
) -> None:
    image_data = b"\xff\xd8 random scan bytes /JS /JavaScript \xff\xd9"
    image = (
        b"4 0 obj << /Type /XObject /Subtype /Image /Filter /DCTDecode /Length "
        + str(len(image_data)).encode()
        + b" >>\nstream\n"
        + image_data
        + b"\nendstream endobj"
    )

    response = api.post(URL, {"file": upload(pdf_bytes(image), "scan.pdf")}, format="multipart")

    assert response.status_code == 201, response.json()


def test_a_pdf_as_an_image_program_writes_it_is_accepted(api: APIClient, systems: EmulatorSuite) -> None:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (120, 80), os.urandom(120 * 80 * 3)).save(buffer, "PDF", resolution=150)

    response = api.post(URL, {"file": upload(buffer.getvalue(), "scan.pdf")}, format="multipart")

    assert response.status_code == 201, response.json()
    assert ResidenceCardSubmission.objects.get().content_type == "application/pdf"


def test_a_pdf_with_a_harmless_object_stream_is_accepted(api: APIClient, systems: EmulatorSuite) -> None:
    content = pdf_bytes(pdf_object_stream(b"8 0 << /Type /Annot /Subtype /Link >>"))

    response = api.post(URL, {"file": upload(content, "scan.pdf")}, format="multipart")

    assert response.status_code == 201, response.json()


# --- Refused uploads -------------------------------------------------------------------------


def truncated(content: bytes) -> bytes:
    return content[: len(content) * 2 // 3]


IMAGE_UNREADABLE = (
    "The image could not be read; it may be damaged or incomplete. Please take the photo again."
)
UNSUPPORTED = "Upload a photo or scan of your residence card as a PNG, JPEG or PDF file."
UNSAFE_PDF = (
    "PDF files with scripts, actions or attachments are not accepted. "
    "Please upload a plain scan or a photo of your residence card."
)
DAMAGED_PDF = "The PDF file is damaged or incomplete. Please export or scan it again."
TOO_MANY_PIXELS = (
    "The image is too large. Upload a photo of at most 16.8 megapixels, with no side longer than 8192 pixels."
)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        pytest.param(
            b"this is not an image at all\n" * 20, "card.png", UNSUPPORTED, id="text-behind-png-name"
        ),
        pytest.param(b"GIF89a" + b"\0" * 64, "card.gif", UNSUPPORTED, id="gif"),
        pytest.param(truncated(png_bytes((64, 64))), "card.png", IMAGE_UNREADABLE, id="truncated-png"),
        pytest.param(truncated(jpeg_bytes()), "card.jpg", IMAGE_UNREADABLE, id="truncated-jpeg"),
        pytest.param(png_declaring(50_000, 50_000), "flood.png", TOO_MANY_PIXELS, id="pixel-flood"),
        pytest.param(png_declaring(10_000, 10_000), "big.png", TOO_MANY_PIXELS, id="pillow-warns"),
        pytest.param(png_declaring(8_000, 6_000), "big.png", TOO_MANY_PIXELS, id="48-megapixels"),
        pytest.param(blank_png(6_300, 6_300), "small-file.png", TOO_MANY_PIXELS, id="40-megapixels-in-kb"),
        pytest.param(blank_png(4_097, 4_096), "big.png", TOO_MANY_PIXELS, id="one-column-too-many"),
        pytest.param(blank_png(8_193, 64), "strip.png", TOO_MANY_PIXELS, id="side-too-long"),
        pytest.param(
            pdf_bytes(b"5 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj"),
            "card.pdf",
            UNSAFE_PDF,
            id="pdf-javascript",
        ),
        pytest.param(
            pdf_bytes(b"5 0 obj << /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >> endobj"),
            "card.pdf",
            UNSAFE_PDF,
            id="pdf-escaped-javascript",
        ),
        pytest.param(
            pdf_bytes(b"5 0 obj << /OpenAction << /S /Launch /F (cmd.exe) >> >> endobj"),
            "card.pdf",
            UNSAFE_PDF,
            id="pdf-launch",
        ),
        pytest.param(
            pdf_bytes(pdf_object_stream(b"8 0 << /S /JavaScript /JS (app.alert(1)) >>")),
            "card.pdf",
            UNSAFE_PDF,
            id="pdf-javascript-in-object-stream",
        ),
        pytest.param(
            pdf_bytes(b"5 0 obj << /EmbeddedFiles << /Names [(a.exe) 6 0 R] >> >> endobj"),
            "card.pdf",
            UNSAFE_PDF,
            id="pdf-embedded-file",
        ),
        pytest.param(pdf_bytes()[:-20], "card.pdf", DAMAGED_PDF, id="pdf-without-eof"),
        pytest.param(
            pdf_bytes(trailer=b"<< /Root 1 0 R /Encrypt 7 0 R >>"),
            "card.pdf",
            "Password-protected PDF files cannot be reviewed. Please upload an unprotected file.",
            id="pdf-encrypted",
        ),
    ],
)
def test_hostile_or_broken_files_are_refused_and_nothing_is_stored(
    api: APIClient, customer: User, systems: EmulatorSuite, content: bytes, name: str, message: str
) -> None:
    response = api.post(URL, {"file": upload(content, name)}, format="multipart")

    assert response.status_code == 400
    assert field_messages(response) == {"file": [message]}
    assert_nothing_stored(customer)


@pytest.mark.parametrize(
    "dictionary_entries",
    [
        pytest.param(b"/Type /ObjStm /Filter /LZWDecode", id="other-filter"),
        pytest.param(b"/Type /ObjStm /Filter [/FlateDecode /FlateDecode]", id="chained-filters"),
        pytest.param(b"/Type /ObjStm /Filter 12 0 R", id="indirect-filter"),
        pytest.param(b"/First 4 /Filter /ASCIIHexDecode", id="object-stream-without-type"),
        pytest.param(b"/Type /ObjStm /Xobj (1 0 obj <<) /Filter /LZW", id="dictionary-with-tricky-string"),
    ],
)
def test_an_object_stream_that_cannot_be_checked_is_refused(
    api: APIClient, customer: User, systems: EmulatorSuite, dictionary_entries: bytes
) -> None:
    stream = pdf_object_stream(b"8 0 << /JS (app.alert(1)) >>", flate=False).replace(
        b"/Type /ObjStm", dictionary_entries
    )

    response = api.post(URL, {"file": upload(pdf_bytes(stream), "card.pdf")}, format="multipart")

    assert response.status_code == 400
    assert field_messages(response) == {
        "file": ["The PDF file could not be checked. Please save it as a plain PDF or upload a photo."]
    }
    assert_nothing_stored(customer)


def deflate_with_stored_prefix(stored: bytes, compressed: bytes) -> bytes:
    """zlib data holding ``stored`` in a stored block (its bytes appear in the data as they are)
    followed by ``compressed`` in a compressed block: one valid stream that inflates to both."""
    block = b"\x00" + struct.pack("<HH", len(stored), len(stored) ^ 0xFFFF) + stored
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = compressor.compress(compressed) + compressor.flush()
    return b"\x78\x01" + block + tail + struct.pack(">I", zlib.adler32(stored + compressed))


def test_a_script_past_an_endstream_inside_compressed_object_stream_data_is_refused(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    # An object stream whose /Length is an indirect reference and whose compressed data holds the
    # bytes "endstream" (a stored block: here inside a harmless annotation's text). A check that
    # ends the stream at the first "endstream" inflates only the harmless part; a reader follows
    # /Length, as pypdf does, and finds the script in the rest.
    annotation = b"<< /Type /Annot /Subtype /Text /Contents (see endstream) >>"
    script = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
    header = b"7 0 8 %d " % len(annotation)
    data = deflate_with_stored_prefix(header + annotation, script)
    assert b"endstream" in data
    assert b"/JS" not in data
    stream = (
        b"9 0 obj << /Type /ObjStm /N 2 /First %d /Filter /FlateDecode /Length 10 0 R >>\nstream\n"
        % len(header)
        + data
        + b"\nendstream endobj"
    )
    content = pdf_bytes(stream, b"10 0 obj %d endobj" % len(data))

    response = api.post(URL, {"file": upload(content, "card.pdf")}, format="multipart")

    assert response.status_code == 400
    assert field_messages(response) == {"file": [UNSAFE_PDF]}
    assert_nothing_stored(customer)


@pytest.mark.parametrize(
    "content",
    [
        # A million numbers in nested arrays: pypdf alone would spend seconds parsing them.
        pytest.param(
            pdf_bytes(b"5 0 obj [" + (b"[" + b"0 " * 1000 + b"] ") * 1000 + b"] endobj"), id="dense"
        ),
        pytest.param(pdf_bytes(*[b"%d 0 obj null endobj" % n for n in range(5, 10_005)]), id="many-objects"),
    ],
)
def test_a_pdf_too_complex_to_check_quickly_is_refused(
    api: APIClient, customer: User, systems: EmulatorSuite, content: bytes
) -> None:
    response = api.post(URL, {"file": upload(content, "card.pdf")}, format="multipart")

    assert response.status_code == 400
    assert field_messages(response) == {
        "file": ["The PDF file could not be checked. Please save it as a plain PDF or upload a photo."]
    }
    assert_nothing_stored(customer)


def test_an_image_too_large_is_refused_in_the_customers_language(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    response = api.post(
        URL, {"file": upload(blank_png(6_300, 6_300))}, format="multipart", headers={"Accept-Language": "ja"}
    )

    assert response.status_code == 400
    assert field_messages(response) == {
        "file": [
            "画像が大きすぎます。16.8メガピクセル以下で、長辺が8192ピクセル以下の写真をアップロードしてください。"
        ]
    }
    assert_nothing_stored(customer)


@pytest.mark.parametrize("size", [(4_096, 4_096), (8_192, 2_048)], ids=["square", "longest-side"])
def test_a_photo_at_the_size_limits_is_accepted(
    api: APIClient, systems: EmulatorSuite, size: tuple[int, int]
) -> None:
    response = api.post(URL, {"file": upload(blank_png(*size))}, format="multipart")

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "submitted"


def test_an_oversized_file_is_refused(
    api: APIClient, customer: User, systems: EmulatorSuite, settings: SettingsFixture
) -> None:
    settings.RESIDENCE_CARD_MAX_BYTES = 1000
    content = png_bytes((64, 64))
    assert len(content) > 1000

    response = api.post(URL, {"file": upload(content)}, format="multipart")

    assert response.status_code == 400
    assert field_messages(response) == {
        "file": ["The file is too large. Upload a file of at most 1000\xa0bytes."]
    }
    assert_nothing_stored(customer)


def test_a_request_body_too_large_for_any_acceptable_file_is_refused_before_it_is_read(
    api: APIClient, customer: User, systems: EmulatorSuite, settings: SettingsFixture
) -> None:
    settings.RESIDENCE_CARD_MAX_BYTES = 1000

    response = api.post(URL, {"file": upload(os.urandom(200_000))}, format="multipart")

    assert response.status_code == 400
    assert field_messages(response) == {
        "file": ["The file is too large. Upload a file of at most 1000\xa0bytes."]
    }
    assert_nothing_stored(customer)


def test_an_empty_or_missing_file_is_refused(api: APIClient, customer: User, systems: EmulatorSuite) -> None:
    empty = api.post(URL, {"file": upload(b"")}, format="multipart")
    missing = api.post(URL, {}, format="multipart")

    assert empty.status_code == 400
    assert field_messages(empty) == {"file": ["The submitted file is empty."]}
    assert missing.status_code == 400
    assert field_messages(missing) == {"file": ["No file was submitted."]}
    assert_nothing_stored(customer)


def test_the_stored_file_is_removed_when_the_transaction_fails(
    api: APIClient, customer: User, systems: EmulatorSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_outbox(**kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("apps.verification.services.outbox_enqueue_salesforce", broken_outbox)

    with pytest.raises(RuntimeError, match="database went away"):
        api.post(URL, {"file": upload(png_bytes())}, format="multipart")

    assert_nothing_stored(customer)


# --- Status rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (
            IdVerificationStatus.SUBMITTED,
            "id_verification_pending",
            "Your residence card is being reviewed. You can upload a new one if we ask you to.",
        ),
        (
            IdVerificationStatus.VERIFIED,
            "id_verification_verified",
            "Your identity is already verified; there is no need to upload your residence card again.",
        ),
    ],
)
def test_an_upload_is_refused_while_under_review_or_once_verified(
    make_customer: MakeCustomer, status: str, code: str, message: str
) -> None:
    customer = make_customer(id_verification_status=status)
    api = APIClient()
    api.force_login(customer)

    response = api.post(URL, {"file": upload(png_bytes())}, format="multipart")

    assert response.status_code == 409
    assert (error_code(response), error_message(response)) == (code, message)
    assert stored_files() == []
    assert not ResidenceCardSubmission.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_a_second_upload_while_the_first_is_under_review_is_refused(
    api: APIClient, systems: EmulatorSuite
) -> None:
    assert api.post(URL, {"file": upload(png_bytes())}, format="multipart").status_code == 201

    response = api.post(URL, {"file": upload(jpeg_bytes(), "other.jpg")}, format="multipart")

    assert response.status_code == 409
    assert error_code(response) == "id_verification_pending"
    assert ResidenceCardSubmission.objects.count() == 1
    assert len(stored_files()) == 1
    assert OutboxEntry.objects.count() == 1


def test_a_rejection_shows_the_reason_the_message_and_what_to_do(make_customer: MakeCustomer) -> None:
    customer = make_customer(
        id_verification_status=IdVerificationStatus.REJECTED,
        id_verification_rejection_message="The photo is too dark to read the card number.",
    )
    ResidenceCardSubmissionFactory(
        user=customer, status=ResidenceCardSubmission.Status.REJECTED, rejection_reason=RejectionReason.BLURRY
    )
    api = APIClient()
    api.force_login(customer)

    body = api.get(URL).json()

    assert body["status"] == "rejected"
    assert body["can_resubmit"] is True
    assert body["verified_at"] is None
    assert body["rejection"] == {
        "reason": "blurry",
        "message": "The photo is too dark to read the card number.",
        "remediation": "Image is not clear enough. Please retake the photo in good lighting.",
    }
    assert body["document"]["content_type"] == "image/png"


def test_a_rejection_decided_in_salesforce_without_a_reason_is_other(make_customer: MakeCustomer) -> None:
    customer = make_customer(
        id_verification_status=IdVerificationStatus.REJECTED,
        id_verification_rejection_message="Please upload the back of the card too.",
    )
    ResidenceCardSubmissionFactory(user=customer)  # still "submitted" on the portal side
    api = APIClient()
    api.force_login(customer)

    body = api.get(URL).json()

    assert body["rejection"] == {
        "reason": "other",
        "message": "Please upload the back of the card too.",
        "remediation": "Please check the message from our team and upload your residence card again. "
        "If anything is unclear, contact support and we will help.",
    }


def test_a_resubmission_after_a_rejection_clears_it(
    make_customer: MakeCustomer, systems: EmulatorSuite
) -> None:
    customer = make_customer(
        id_verification_status=IdVerificationStatus.REJECTED,
        id_verification_rejection_message="Your card has expired.",
        id_verification_note="Checked by Aiko",
    )
    systems.salesforce.store.update_record(
        "Account",
        customer.id_mapping.salesforce_account_id,
        {
            "Id_Verification_Status__c": "Rejected",
            "Id_Verification_Rejection_Message__c": "Your card has expired.",
            "Id_Verification_Note__c": "Checked by Aiko",
        },
    )
    ResidenceCardSubmissionFactory(
        user=customer,
        status=ResidenceCardSubmission.Status.REJECTED,
        rejection_reason=RejectionReason.EXPIRED,
    )
    api = APIClient()
    api.force_login(customer)
    assert api.get(URL).json()["rejection"]["reason"] == "expired"

    response = api.post(URL, {"file": upload(jpeg_bytes(), "new-card.jpg")}, format="multipart")

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["rejection"], body["can_resubmit"]) == ("submitted", None, False)
    assert body["document"]["content_type"] == "image/jpeg"
    profile = CustomerProfile.objects.get(user=customer)
    assert profile.id_verification_rejection_message == ""
    assert profile.id_verification_note == ""
    outbox_deliver_due()
    account = salesforce_account(systems, customer.id_mapping.salesforce_account_id)
    assert account["Id_Verification_Status__c"] == "Submitted"
    assert account["Id_Verification_Rejection_Message__c"] is None
    assert account["Id_Verification_Note__c"] is None


def test_a_verified_customer_sees_when(make_customer: MakeCustomer) -> None:
    verified_at = timezone.now()
    customer = make_customer(
        id_verification_status=IdVerificationStatus.VERIFIED, id_verification_verified_at=verified_at
    )
    api = APIClient()
    api.force_login(customer)

    body = api.get(URL).json()

    assert body["status"] == "verified"
    assert body["verified_at"] is not None
    assert body["can_resubmit"] is False
    assert body["rejection"] is None
    assert body["document"] is None


def test_a_customer_with_nothing_uploaded_sees_an_empty_status(
    api: APIClient, systems: EmulatorSuite
) -> None:
    assert api.get(URL).json() == {
        "status": None,
        "submitted_at": None,
        "verified_at": None,
        "rejection": None,
        "can_resubmit": True,
        "document": None,
    }


def test_the_upload_succeeds_while_salesforce_is_down_and_is_delivered_later(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")
    content = png_bytes()

    response = api.post(URL, {"file": upload(content)}, format="multipart")
    first = outbox_deliver_due()

    assert response.status_code == 201
    entry = OutboxEntry.objects.get()
    assert first.retrying == [entry.pk]
    assert not systems.salesforce.store.find_records("ContentVersion")

    OutboxEntry.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now())
    second = outbox_deliver_due()

    assert second.delivered == [entry.pk]
    (version,) = systems.salesforce.store.find_records("ContentVersion")
    assert base64.b64decode(version["VersionData"]) == content


def test_a_customer_never_sees_another_customers_card(
    api: APIClient, customer: User, make_customer: MakeCustomer, systems: EmulatorSuite
) -> None:
    other = make_customer()
    other_api = APIClient()
    other_api.force_login(other)
    assert other_api.post(URL, {"file": upload(png_bytes())}, format="multipart").status_code == 201

    body = api.get(URL).json()

    assert body["status"] is None
    assert body["document"] is None
    assert other_api.get(URL).json()["status"] == "submitted"
    # And the other customer's pending review does not block this one.
    assert api.post(URL, {"file": upload(png_bytes())}, format="multipart").status_code == 201


def test_anonymous_callers_are_refused(anonymous: APIClient, systems: EmulatorSuite) -> None:
    assert anonymous.get(URL).status_code == 401
    assert anonymous.post(URL, {"file": upload(png_bytes())}, format="multipart").status_code == 401
    assert stored_files() == []
    assert not ResidenceCardSubmission.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_store_exactly_one_card(customer: User, systems: EmulatorSuite) -> None:
    barrier = threading.Barrier(3)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            client = APIClient()
            client.force_login(customer)
            barrier.wait()
            statuses.append(client.post(URL, {"file": upload(png_bytes())}, format="multipart").status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(statuses) == [201, 409, 409]
    submission = ResidenceCardSubmission.objects.get()
    assert stored_files() == [Path(settings.PRIVATE_MEDIA_ROOT) / submission.file.name]
    assert OutboxEntry.objects.count() == 1
