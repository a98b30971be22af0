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
  actions, no embedded files or rich media. Names are compared after ``#xx`` escapes are decoded
  (``/J#53`` is ``/JS``), object streams (where PDF 1.5+ hides dictionaries inside compressed
  streams) are inflated and checked too, and stream data is skipped so that image bytes that
  happen to spell ``/JS`` do not refuse a genuine scan. Encrypted PDFs are refused: the agent
  could not open them and their object streams cannot be checked.

Every refusal is a Django ``ValidationError`` on ``file`` with a stable code, so the API answers
400 ``{"file": [message]}``.
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zlib
from dataclasses import dataclass
from io import BytesIO
from typing import IO

import filetype
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from PIL import Image

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
_PDF_FILTERS = frozenset(
    {
        "FlateDecode", "Fl", "LZWDecode", "LZW", "ASCIIHexDecode", "AHx", "ASCII85Decode", "A85",
        "RunLengthDecode", "RL", "Crypt", "JBIG2Decode", "DCTDecode", "DCT", "JPXDecode",
        "CCITTFaxDecode", "CCF",
    }
)  # fmt: skip
_PDF_EOF_WINDOW = 1024
_PDF_MAX_INFLATED_BYTES = 20 * 1024 * 1024
_PDF_MAX_STRUCTURE_TOKENS = 200_000
_PDF_MAX_STREAMS = 20_000  # "stream" and "endstream" keywords
_PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_PDF_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_PDF_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\d)(?!\s+\d+\s+R)")
_PDF_EOL = re.compile(rb"[\r\n]")
_PDF_DELIMITER = re.compile(rb"[%()<>]")
_PDF_STRING_SPECIAL = re.compile(rb"\\.|[()]", re.DOTALL)


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
        structure, object_streams = _pdf_structure_and_object_streams(content)
        names = _pdf_names(structure)
        if "Encrypt" in names:
            raise _refuse(
                gettext(
                    "Password-protected PDF files cannot be reviewed. Please upload an unprotected file."
                ),
                "encrypted_pdf",
            )
        inflated_total = 0
        for dictionary, data in object_streams:
            inflated = _inflate_object_stream(dictionary, data, _PDF_MAX_INFLATED_BYTES - inflated_total)
            inflated_total += len(inflated)
            names |= _pdf_names(inflated)
    except ValueError:
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


def _pdf_name(raw: bytes) -> str:
    """A PDF name with its ``#xx`` escapes decoded (``J#61vaScript`` → ``JavaScript``)."""
    if b"#" in raw:
        raw = _PDF_HEX_ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), raw)
    return raw.decode("latin-1")


def _pdf_name_list(data: bytes) -> list[str]:
    """Every PDF name in ``data``, in order."""
    return [_pdf_name(raw) for raw in _PDF_NAME.findall(data)]


def _pdf_names(data: bytes) -> set[str]:
    """The distinct PDF names in ``data``."""
    return {_pdf_name(raw) for raw in set(_PDF_NAME.findall(data))}


def _pdf_structure_and_object_streams(content: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The file without its stream data (objects, dictionaries, trailer), and the dictionary and
    raw data of each object stream. ``ValueError`` if the structure does not parse.

    Each stream's own dictionary is the one that ends right before its ``stream`` keyword. A
    stream ends at the first ``endstream`` or after its direct ``/Length``, whichever comes
    first: where the two disagree the rest is checked as structure, so a lying length can only
    make the check stricter. Names are collected from all structure text, strings and comments
    included, so nothing can be hidden from the check by wrapping it in a string.
    """
    structure = bytearray()
    object_streams: list[tuple[bytes, bytes]] = []
    position = 0
    next_endstream = -2  # not searched yet; -1: there is none left
    tokens_left = _PDF_MAX_STRUCTURE_TOKENS
    streams_left = _PDF_MAX_STREAMS
    while (match := _PDF_STREAM.search(content, position)) is not None:
        streams_left -= 1
        if streams_left < 0:
            raise ValueError("too many streams to check")
        if content[max(0, match.start() - 3) : match.start()] == b"end":
            structure += content[position : match.end()]
            position = match.end()
            continue
        header = content[position : match.start()]
        structure += header
        dictionary, tokens_used = _pdf_stream_dictionary(header, tokens_left)
        tokens_left -= tokens_used
        data_start = match.end()
        if next_endstream != -1 and next_endstream < data_start:
            next_endstream = content.find(b"endstream", data_start)
        end = len(content) if next_endstream == -1 else next_endstream
        length = _PDF_LENGTH.search(dictionary)
        if length is not None:
            end = min(end, data_start + int(length.group(1)))
        # Readers locate compressed objects through the xref stream and need only /N and /First,
        # not /Type /ObjStm: either marks a stream whose content is checked as structure.
        if _pdf_names(dictionary) & {"ObjStm", "First"}:
            object_streams.append((dictionary, content[data_start:end]))
        position = end
    structure += content[position:]
    return bytes(structure), object_streams


def _pdf_stream_dictionary(header: bytes, max_tokens: int) -> tuple[bytes, int]:
    """The top-level ``<< >>`` dictionary that ends ``header`` (the text before a ``stream``
    keyword), found by tokenizing forward so that strings and comments cannot fake its limits,
    and how many delimiters that took (at most ``max_tokens``, which bounds the work a hostile
    file can cause)."""
    depth = 0
    start = 0
    last: tuple[int, int] | None = None
    index = 0
    tokens = 0
    while (special := _PDF_DELIMITER.search(header, index)) is not None:
        tokens += 1
        if tokens > max_tokens:
            raise ValueError("too complex to check")
        index = special.start()
        if header.startswith(b"%", index):
            newline = _PDF_EOL.search(header, index)
            index = newline.end() if newline else len(header)
        elif header.startswith(b"(", index):
            index, string_tokens = _pdf_string_end(header, index, max_tokens - tokens)
            tokens += string_tokens
        elif header.startswith(b"<<", index):
            if depth == 0:
                start = index
            depth += 1
            index += 2
        elif header.startswith(b">>", index):
            depth -= 1
            index += 2
            if depth < 0:
                raise ValueError("unbalanced dictionary")
            if depth == 0:
                last = (start, index)
        elif header.startswith(b"<", index):
            close = header.find(b">", index)
            if close == -1:
                raise ValueError("unterminated hex string")
            index = close + 1
        else:
            index += 1  # a lone ">" or ")": not valid PDF, but harmless here
    if depth != 0 or last is None or header[last[1] :].strip():
        raise ValueError("a stream without its dictionary")
    return header[last[0] : last[1]], tokens


def _pdf_string_end(data: bytes, start: int, max_tokens: int) -> tuple[int, int]:
    """The index just after the literal string opening at ``start`` (nested parentheses, escapes),
    and how many tokens that took."""
    depth = 0
    index = start
    tokens = 0
    while (special := _PDF_STRING_SPECIAL.search(data, index)) is not None:
        tokens += 1
        if tokens > max_tokens:
            raise ValueError("too complex to check")
        index = special.end()
        token = special.group()
        if token == b"(":
            depth += 1
        elif token == b")":
            depth -= 1
            if depth == 0:
                return index, tokens
    raise ValueError("unterminated string")


def _inflate_object_stream(dictionary: bytes, data: bytes, budget: int) -> bytes:
    """The dictionaries inside an object stream; ``ValueError`` if it cannot be read safely.

    Only what producers of scans actually write is supported: no filter, or exactly one
    ``FlateDecode`` without predictor parameters. Anything else (other or chained filters) could
    hide a dictionary from this check, so it is refused rather than guessed at.
    """
    names = _pdf_name_list(dictionary)
    if {"DecodeParms", "DP", "F", "FFilter", "FDecodeParms"} & set(names):
        raise ValueError("predictors and external stream data are not supported")
    filters = [name for name in names if name in _PDF_FILTERS]
    if "Filter" in names and not filters:
        raise ValueError("an indirect filter cannot be checked")
    if not filters:
        if len(data) > budget:
            raise ValueError("object streams too large")
        return data
    if len(filters) != 1 or filters[0] not in ("FlateDecode", "Fl"):
        raise ValueError("only a single FlateDecode filter is supported")
    decompressor = zlib.decompressobj()
    try:
        inflated = decompressor.decompress(data, budget + 1)
    except zlib.error as exc:
        raise ValueError("not a valid Flate stream") from exc
    if len(inflated) > budget or decompressor.unconsumed_tail:
        raise ValueError("object streams too large")
    return inflated
