"""MIME pieces shared by the mail the desk composes and the invitations it attaches.

A multipart's boundary is chosen here, in the email package's own form, and checked
against the texts it separates with a substring test: left to the generator, the check
compiles a regular expression anew for every mail. A part's type and boundary are read
from the Content-Type the desk wrote, as text, where the email package would parse it.
"""

from __future__ import annotations

import re
import secrets
import sys
from email.message import Message


def fresh_boundary(*texts: str) -> str:
    """A boundary in the email package's own form that occurs in none of `texts`."""
    while True:
        boundary = "=" * 15 + f"{secrets.randbelow(sys.maxsize):019d}" + "=="
        if not any(boundary in text for text in texts):
            return boundary


def _desk_content_type(value_characters: str) -> re.Pattern[str]:
    # A Content-Type as the email package writes it for the desk's parts: lower-case type,
    # parameters quoted, their values made of `value_characters`.
    return re.compile(rf'([a-z]+/[a-z0-9.+-]+)((?:; [a-z-]+="{value_characters}*")*)')


# Read as it stands; anything else is parsed (the package's own rules).
_PLAIN_CONTENT_TYPE = _desk_content_type(r'[^"\\]')
# The same with no white space inside the quotes: its only spaces are those between its
# words, where a folding policy may break the line (daemon.mail.compose).
UNSPACED_CONTENT_TYPE = _desk_content_type(r'[^"\\\s]')
_PLAIN_BOUNDARY = re.compile(r'; boundary="([0-9=.]+)"')


def type_and_boundary(msg: Message) -> tuple[str, str | None]:
    """`msg.get_content_type()` and, for a multipart, `msg.get_boundary()`, read from the
    header's text where it is one the desk wrote, without parsing it."""
    for name, value in msg._headers:  # type: ignore[attr-defined]
        if name.lower() == "content-type":
            plain = _PLAIN_CONTENT_TYPE.fullmatch(value) if type(value) is str else None
            if plain is None:
                break
            content_type, params = plain.groups()
            if not content_type.startswith("multipart/"):
                return content_type, None
            boundary = _PLAIN_BOUNDARY.fullmatch(params)
            return content_type, boundary.group(1) if boundary else msg.get_boundary()
    content_type = msg.get_content_type()
    return content_type, msg.get_boundary() if content_type.startswith("multipart/") else None
