"""Content checks for residence card uploads.

A file is judged by what it contains, never by its name or the content type the browser declared:
the magic bytes say what it claims to be (``filetype``), and then the matching parser has to agree.

* Images (PNG, JPEG) must open in Pillow with the same format, declare at most
  ``MAX_IMAGE_PIXELS`` pixels and no side longer than ``MAX_IMAGE_SIDE``, read from the header
  before anything is decoded (a PNG of a few hundred bytes can claim billions of pixels, and one
  of 150 KB holds 6300 x 6300 that take 150 MiB to decode), pass ``verify()`` and decode their
  first frame completely, which catches truncated files.
* PDFs must start with ``%PDF-``, end with ``%%EOF`` and carry nothing active: no JavaScript
  (``/JavaScript``, ``/JS``, which an ``/OpenAction`` or ``/AA`` would run), no ``/Launch``
  actions, no embedded files or rich media. pypdf parses every object in the file and in its
  object streams (where PDF 1.5+ keeps dictionaries compressed), strictly; its names are compared
  with ``#xx`` escapes decoded (``/J#53`` is ``/JS``), while strings and stream data are content,
  so image bytes that happen to spell ``/JS`` do not refuse a genuine scan. Encrypted PDFs are
  refused: the agent could not open them and their object streams cannot be checked. A file
  pypdf cannot parse, or that is too large a structure to parse in well under a second (objects,
  parser calls and decoded bytes are counted, see ``_PdfFile``), is refused as one that could not
  be checked.

Every refusal is a Django ``ValidationError`` on ``file`` with a stable code, so the API answers
400 ``{"file": [message]}``.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from io import BytesIO
from typing import IO, Any, cast

import filetype
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from PIL import Image
from pypdf import apply_configuration
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    PdfObject,
    StreamObject,
    read_object,
)

MAX_IMAGE_PIXELS = 4096 * 4096
"""About 16.8 megapixels, which decode in at most 64 MiB (RGBA): far more than a readable photo of
an 86 x 54 mm card needs (a phone's default 12 MP photo passes). Pillow's own decompression-bomb
limit (89 MP) is higher, so any image it warns about or refuses is refused here as well."""
MAX_IMAGE_SIDE = 8192
"""The longest side allowed, so that a long thin strip cannot pass within the pixel count."""

# What ``filetype`` may report for each accepted type (APNG is a PNG whose first frame is the image).
_DETECTED_TYPES = {
    "image/png": "image/png",
    "image/apng": "image/png",
    "image/jpeg": "image/jpeg",
    "application/pdf": "application/pdf",
}
# Pillow formats that may back each image type (MPO: a JPEG with extra frames, as some cameras save).
_PILLOW_FORMATS = {"image/png": {"PNG"}, "image/jpeg": {"JPEG", "MPO"}}

PDF_FORBIDDEN_NAMES = frozenset(
    {"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "RichMedia", "XFA"}
)
_PDF_EOF_WINDOW = 1024
_PDF_MAX_OBJECTS = 10_000
"""Indirect objects a PDF may hold, in the file and in its object streams together: a scan of a
card has a few dozen, an export from an office program a few hundred."""
_PDF_MAX_PARSER_CALLS = 300_000
"""Reads and seeks pypdf's parser may make. Its parser is pure Python, so this bounds the time a
crafted file can take (about half a second on a 2-core machine). A scan needs about a thousand,
a page of text exported from a browser about 50,000."""
_PDF_MAX_DECODED_BYTES = 20 * 1024 * 1024
"""Bytes the object streams of one file may decode to, all together."""
_PDF_WHITESPACE = rb"[\x00\t\n\x0c\r ]"
# Possessive, and never starting inside a number: linear on any input (about 0.3 s for 10 MB).
_PDF_OBJECT_HEADER = re.compile(
    rb"(?<![0-9])([0-9]{1,10}+)" + _PDF_WHITESPACE + rb"++([0-9]{1,5}+)" + _PDF_WHITESPACE
    + rb"++obj(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])"
)  # fmt: skip
_PDF_TRAILER = re.compile(rb"trailer" + _PDF_WHITESPACE + rb"*(?=<<)")
_PDF_SKIP_WHITESPACE = re.compile(_PDF_WHITESPACE + rb"*")
_PDF_OBJECT_STREAM_HEADER = re.compile(
    _PDF_WHITESPACE + rb"*(?:[0-9]+(?:" + _PDF_WHITESPACE + rb"+[0-9]+)*)?" + _PDF_WHITESPACE + rb"*"
)


@dataclass(frozen=True)
class InspectedUpload:
    """What the content of an accepted upload turned out to be."""

    content: bytes
    content_type: str
    size: int
    sha256: str


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def residence_card_inspect(uploaded_file: IO[bytes], *, max_bytes: int) -> InspectedUpload:
    """Read and check an uploaded residence card; raise ``ValidationError`` on ``file`` if it is
    not a sound PNG, JPEG or PDF of at most ``max_bytes``."""
    declared_size = getattr(uploaded_file, "size", None)
    if declared_size is not None and declared_size > max_bytes:
        raise _too_large(max_bytes)
    uploaded_file.seek(0)
    content = uploaded_file.read(max_bytes + 1)
    uploaded_file.seek(0)
    if len(content) > max_bytes:
        raise _too_large(max_bytes)
    if not content:
        raise _refuse(gettext("The submitted file is empty."), "empty")

    kind = filetype.guess(content[:8192])
    content_type = _DETECTED_TYPES.get(kind.mime) if kind else None
    if content_type is None:
        raise _refuse(
            gettext("Upload a photo or scan of your residence card as a PNG, JPEG or PDF file."),
            "unsupported_type",
        )
    if content_type == "application/pdf":
        _check_pdf(content)
    else:
        _check_image(content, content_type)
    return InspectedUpload(
        content=content,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Room for the multipart boundaries and headers around the file in a request body."""


def residence_card_check_request_size(content_length: str | None, *, max_bytes: int) -> None:
    """Refuse a request whose declared body cannot hold an acceptable file, before it is read
    (a reverse proxy should cap bodies too; this keeps the app honest without one)."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return
    if length > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise _too_large(max_bytes)


def _too_large(max_bytes: int) -> ValidationError:
    return _refuse(
        gettext("The file is too large. Upload a file of at most %(size)s.")
        % {"size": filesizeformat(max_bytes)},
        "too_large",
    )


# --- Images ----------------------------------------------------------------------------------


def _check_image(content: bytes, content_type: str) -> None:
    unreadable = _refuse(
        gettext("The image could not be read; it may be damaged or incomplete. Please take the photo again."),
        "invalid_image",
    )
    too_many_pixels = _refuse(
        gettext(
            "The image is too large. Upload a photo of at most %(megapixels)s megapixels, with no side "
            "longer than %(side)d pixels."
        )
        % {"megapixels": f"{MAX_IMAGE_PIXELS / 1_000_000:.1f}", "side": MAX_IMAGE_SIDE},
        "image_too_large",
    )
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice it; here that is a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(content)) as image:
                # Opening reads the header only: check the declared size before decoding anything.
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
                    raise too_many_pixels
                if image.format not in _PILLOW_FORMATS[content_type]:
                    raise unreadable
                image.verify()
            with Image.open(BytesIO(content)) as image:
                if image.format in ("JPEG", "MPO"):
                    # Decode at reduced scale: every byte of the scan is still read (so truncation
                    # is caught) without holding the full-size bitmap in memory.
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_many_pixels from None
        except Exception:  # Pillow raises many types on hostile input; all mean "not a sound image".
            raise unreadable from None


# --- PDF -------------------------------------------------------------------------------------


def _check_pdf(content: bytes) -> None:
    if not content.startswith(b"%PDF-") or b"%%EOF" not in content[-_PDF_EOF_WINDOW:]:
        raise _refuse(
            gettext("The PDF file is damaged or incomplete. Please export or scan it again."), "invalid_pdf"
        )
    try:
        pdf = _PdfFile(content)
        objects = pdf.objects()
        names: set[str] = set()
        for obj in [*objects, *pdf.trailers()]:
            _collect_names(obj, names)
        if "Encrypt" in names:
            raise _refuse(
                gettext(
                    "Password-protected PDF files cannot be reviewed. Please upload an unprotected file."
                ),
                "encrypted_pdf",
            )
        for obj in objects:
            if isinstance(obj, StreamObject) and ("/First" in obj or obj.get("/Type") == "/ObjStm"):
                for compressed in pdf.object_stream_objects(obj):
                    _collect_names(compressed, names)
    except ValidationError:
        raise
    except Exception:  # pypdf raises many types on hostile input; all mean "could not be checked".
        raise _refuse(
            gettext("The PDF file could not be checked. Please save it as a plain PDF or upload a photo."),
            "invalid_pdf",
        ) from None
    if names & PDF_FORBIDDEN_NAMES:
        raise _refuse(
            gettext(
                "PDF files with scripts, actions or attachments are not accepted. "
                "Please upload a plain scan or a photo of your residence card."
            ),
            "unsafe_pdf",
        )


class _PdfTooComplex(ValueError):
    """The file is beyond what is checked (objects, parser calls, decoded bytes)."""


class _PdfFile:
    """A PDF as pypdf's parser reads it, object by object.

    Every ``N G obj`` header anywhere in the file is parsed, not only the objects a
    cross-reference table lists: that is what a viewer finds when it rebuilds a damaged or lying
    cross-reference (pypdf does the same), so no table can hide an object from the check. Each
    object stream (``/Type /ObjStm``, or anything with ``/First``) is decoded with pypdf's
    filters and its objects are parsed at the offsets its header gives, as a viewer reads them.

    Parsing is strict: a duplicate key, a stream without its length or ``endstream``, a name or
    reference that does not parse is an error rather than something skipped. This class stands in
    for pypdf's reader (``strict`` and ``get_object``, which the parser calls to resolve an
    indirect ``/Length`` or ``/Filter``), so that every read it makes is counted.
    """

    strict = True

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.calls_left = _PDF_MAX_PARSER_CALLS
        self.decoded_left = _PDF_MAX_DECODED_BYTES
        self.objects_left = _PDF_MAX_OBJECTS
        self.headers: dict[tuple[int, int], list[int]] = {}
        for match in _PDF_OBJECT_HEADER.finditer(content):
            self._count_object()
            key = (int(match.group(1)), int(match.group(2)))
            self.headers.setdefault(key, []).append(match.end())
        self._resolved: dict[tuple[int, int], PdfObject] = {}

    def objects(self) -> list[PdfObject]:
        """Every indirect object in the file, in file order."""
        positions = sorted(position for found in self.headers.values() for position in found)
        return [self._parse(self.content, position) for position in positions]

    def trailers(self) -> list[PdfObject]:
        """The dictionary after each ``trailer`` keyword (cross-reference streams are objects)."""
        return [self._parse(self.content, match.end()) for match in _PDF_TRAILER.finditer(self.content)]

    def object_stream_objects(self, stream: StreamObject) -> list[PdfObject]:
        """The objects an object stream holds, parsed where its header says they are."""
        with apply_configuration(
            zlib_maximum_output_length=self.decoded_left,
            lzw_maximum_output_length=self.decoded_left,
            run_length_maximum_output_length=self.decoded_left,
            brotli_maximum_output_length=self.decoded_left,
            jbig2_maximum_output_length=self.decoded_left,
            array_based_stream_maximum_output_length=self.decoded_left,
            stream_decoding_work_maximum_length=2 * _PDF_MAX_DECODED_BYTES,
            zlib_maximum_recovery_input_length=0,  # A broken Flate stream is refused, not guessed at.
            jbig2dec_binary=None,
        ):
            data = stream.get_data()
        self.decoded_left -= len(data)
        if self.decoded_left < 0:
            raise _PdfTooComplex("object streams too large")
        count, first = stream["/N"], stream["/First"]
        if not isinstance(count, int) or not isinstance(first, int) or not 0 <= first <= len(data):
            raise ValueError("an object stream without a sound /N and /First")
        header = _PDF_OBJECT_STREAM_HEADER.fullmatch(data, 0, first)
        numbers = [int(number) for number in re.findall(rb"[0-9]+", data[:first])] if header else []
        if count < 0 or len(numbers) != 2 * count:
            raise ValueError("an object stream whose header does not list /N objects")
        objects = []
        for offset in numbers[1::2]:
            self._count_object()
            if first + offset >= len(data):
                raise ValueError("an object outside its object stream")
            compressed = self._parse(data, first + offset)
            if isinstance(compressed, StreamObject):  # Not allowed there; not checked either.
                raise ValueError("a stream inside an object stream")
            objects.append(compressed)
        return objects

    def get_object(self, reference: IndirectObject | int) -> PdfObject:
        """The object a reference points at (pypdf's parser resolves an indirect ``/Length`` or
        ``/Filter`` through this); its last definition, as after incremental updates."""
        if isinstance(reference, int):
            reference = IndirectObject(reference, 0, self)
        key = (reference.idnum, reference.generation)
        if key not in self._resolved:
            found = self.headers.get(key)
            if not found:
                raise PdfReadError(f"object {key} does not exist")
            self._resolved[key] = NullObject()  # A reference loop ends here.
            self._resolved[key] = self._parse(self.content, found[-1])
        return self._resolved[key]

    def spend(self) -> None:
        self.calls_left -= 1
        if self.calls_left < 0:
            raise _PdfTooComplex("too complex to check")

    def _count_object(self) -> None:
        self.objects_left -= 1
        if self.objects_left < 0:
            raise _PdfTooComplex("too many objects to check")

    def _parse(self, data: bytes, position: int) -> PdfObject:
        stream = _CountedStream(data, self)
        skipped = _PDF_SKIP_WHITESPACE.match(data, position)
        stream.seek(skipped.end() if skipped else position)
        return read_object(stream, cast(Any, self))  # This class stands in for the reader.


class _CountedStream(BytesIO):
    """File data for pypdf's parser, counting its reads and seeks against the check's budget."""

    def __init__(self, data: bytes, pdf: _PdfFile) -> None:
        super().__init__(data)
        self._pdf = pdf

    def read(self, size: int | None = -1, /) -> bytes:
        self._pdf.spend()
        return super().read(size)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        self._pdf.spend()
        return super().seek(offset, whence)


def _collect_names(obj: PdfObject, names: set[str]) -> None:
    """Add every name in ``obj`` (dictionary keys and name values, ``#xx`` escapes decoded by
    pypdf, without the slash) to ``names``. Strings and stream data are content, not names;
    references are not followed (their objects are checked on their own)."""
    pending = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, NameObject):
            names.add(item[1:])
        elif isinstance(item, DictionaryObject):
            for key, value in item.items():
                names.add(key[1:])
                pending.append(value)
        elif isinstance(item, ArrayObject):
            pending.extend(item)
