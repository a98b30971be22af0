"""Email backends of the portal's own."""

from __future__ import annotations

import copy
import re

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend

# The one-time token of a password (re)set link, in its query string or fragment.
_LINK_TOKEN = re.compile(r"(?<=[?#&]token=)[^&\s\"'<>]+")


def mask_link_tokens(text: str) -> str:
    return _LINK_TOKEN.sub("[masked]", text)


class TokenMaskingConsoleEmailBackend(ConsoleEmailBackend):
    """Django's console backend (development), with one-time tokens in links masked: what it
    prints ends up in logs, where a live reset link would let anyone who reads them in."""

    def write_message(self, message: EmailMessage) -> None:
        masked = copy.copy(message)
        masked.body = mask_link_tokens(str(message.body))
        alternatives = getattr(message, "alternatives", None)
        if alternatives:
            masked.alternatives = [  # type: ignore[attr-defined]
                (mask_link_tokens(str(content)), mimetype) for content, mimetype in alternatives
            ]
        super().write_message(masked)
