"""Parse stage, text decoding: bytes and RFC 2047 words to str, whatever the charset claims.

Mail in the wild declares charsets that do not exist ('unknown-8bit', 'x-user-defined'),
lies about them (cp1252 labelled latin-1, UTF-8 labelled us-ascii) and puts raw 8-bit bytes
in headers. Nothing here raises: every path ends in a lossless-enough latin-1 decode.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

# Aliases seen in real mail that Python's codec registry does not know.
_ALIASES = {
    "unknown-8bit": "cp1252",
    "x-unknown": "cp1252",
    "x-user-defined": "cp1252",
    "ks_c_5601-1987": "cp949",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",  # ascii is a subset: be generous
}
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def codec_for(charset: str | None) -> str | None:
    """A Python codec name for `charset`, or None when it is unknown."""
    name = (charset or "").strip().strip("\"'").lower()
    if not name:
        return None
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> tuple[str, str | None]:
    """Decode `data`; return (text, defect or None). Tries declared, UTF-8, cp1252, latin-1."""
    codec = codec_for(charset)
    defect = None
    if charset and codec is None:
        defect = f"unknown charset {charset!r}, decoded by guess"
    for candidate in (codec, "utf-8", "cp1252"):
        if candidate is None:
            continue
        try:
            return data.decode(candidate), defect
        except (UnicodeDecodeError, LookupError):
            if candidate == codec:
                defect = f"text is not valid {charset}, decoded by guess"
    return data.decode("latin-1"), defect


def unescape_8bit(value: str) -> str:
    """Undo the stdlib's surrogateescape of raw 8-bit header bytes (UTF-8, else cp1252)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    # Decode per byte run: one header can hold UTF-8 and a stray latin-1 byte side by side.
    raw = value.encode("utf-8", "surrogateescape")
    mixed = raw.decode("utf-8", "surrogateescape")
    return re.sub("[\udc80-\udcff]", lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", "replace"), mixed)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a header value; unknown charsets are guessed."""
    value = unescape_8bit(str(value))
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:  # the stdlib raises several types on broken words; keep the raw text
        return value
    return "".join(_chunk_text(data, charset) for data, charset in chunks)


def _chunk_text(data: bytes | str, charset: str | None) -> str:
    if isinstance(data, str):
        return data
    if charset is None:  # unencoded runs come back as raw-unicode-escape bytes
        return data.decode("raw-unicode-escape", "replace")
    return decode_bytes(data, charset)[0]


def one_line(value: str) -> str:
    """Unfold and collapse whitespace: headers such as Subject are shown on one line."""
    return " ".join(value.split())
