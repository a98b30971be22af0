"""The API's JSON parser: DRF's, refusing bodies nested too deeply to decode safely."""

from __future__ import annotations

import re
from collections.abc import Mapping
from io import BytesIO
from itertools import accumulate
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
"""How deeply a JSON body may nest arrays and objects; the API's deepest input (an order's items)
needs 3. Python's decoder recurses once per level, so a body nested thousands deep would end in
``RecursionError`` (a 500): deeper bodies are refused before it runs."""

# A JSON string with its escapes, or an unterminated one up to the end. Possessive quantifiers keep
# the scan linear even on hostile input such as a long run of escaped quotes.
_JSON_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]++")
_DEPTH_CHANGE = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_nesting_depth(text: str) -> int:
    """How deeply ``text`` nests arrays and objects, counting only brackets outside strings.

    One linear pass that never recurses. Where ``text`` is not valid JSON the answer may be too
    high, never too low for the part before the first error, which is all a decoder reads.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_CHANGE.__getitem__, brackets)), default=0)


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 ``parse_error`` for a body nested deeper than
    ``MAX_JSON_DEPTH``.

    Its size is bounded before: DRF hands JSON parsers the body Django read, which Django refuses
    beyond ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``RequestDataTooBig``, see ``portal.exceptions``).
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = stream.read()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            # Bytes that do not decode make DRF's decoder below refuse the body anyway.
            text = body.decode(encoding, errors="replace")
        except LookupError:  # not a text encoding (e.g. "bz2_codec"): DRF's parser refuses it
            text = ""
        if json_nesting_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(
                gettext("The JSON is nested too deeply (at most %(depth)d levels).")
                % {"depth": MAX_JSON_DEPTH}
            )
        return super().parse(BytesIO(body), media_type, parser_context)
